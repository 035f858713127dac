"""Content-Security-Policy exceptions, in one place (the policy itself is in settings)."""

from csp.constants import UNSAFE_INLINE


def allow_inline_styles(response):
    """For self-contained documents (the erasure certificate) that carry their stylesheet
    inline, so that they print and archive as one file. Scripts stay forbidden."""
    # django-csp's per-response update: what its @csp_update decorator sets.
    response._csp_update = {"style-src": [UNSAFE_INLINE]}
    return response

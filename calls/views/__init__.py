"""Web views of the calls app.

``media``: what the API, the admin and the dashboard share to serve a recording — who consults,
the streamed response, the short-lived link that stands for a logged consultation.
``pages``: the dashboard's call list, call page, recording stream, deletion and overview panel;
``retention``: the dashboard's retention rules. They are mounted under /dashboard/calls/ by
``calls/urls.py``. Everyone reads; agents consult recordings and transcripts; admins and owners
delete calls and manage the rules.
"""

from calls.views.media import (
    CONSULTATION_TTL,
    consultant,
    consultation_for_token,
    consultation_token,
    recording_response,
)

__all__ = [
    "CONSULTATION_TTL",
    "consultant",
    "consultation_for_token",
    "consultation_token",
    "recording_response",
]

"""Staff logins in tests: the password, then a real TOTP code, as a person would type it.

``staff_code(user)`` is the code the user's authenticator app shows now (the device is
enrolled first if there is none, as ``manage.py totp_code`` does). ``pass_second_factor``
posts it to the second-factor page of a logged-in client. ``tests/conftest.py`` makes
``client.force_login(staff_user)`` do both, so that staff tests are fully logged in; use
``client.login(...)`` for a password-only (unverified) staff session.
"""

from __future__ import annotations

from django.test import Client
from django_otp.plugins.otp_totp.models import TOTPDevice

from portal import two_factor


def staff_code(user) -> str:
    code = two_factor.current_code(user=user)
    # Each code is accepted once (replay protection). A test logging the same user in twice
    # within 30 seconds gets the code of the next step, as if it had waited for it.
    TOTPDevice.objects.filter(user=user).update(last_t=-1, throttling_failure_count=0)
    return code


def pass_second_factor(client, user) -> None:
    """Type the code into the page, in the session of ``client`` (a Django or DRF test client)."""
    browser = Client()
    browser.cookies = client.cookies
    response = browser.post("/admin/second-factor/", {"code": staff_code(user)})
    assert response.status_code == 302, response.content.decode()[:2000]
    client.cookies.update(browser.cookies)

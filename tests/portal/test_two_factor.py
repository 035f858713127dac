"""Staff log in with a second factor (django-otp TOTP or a recovery code), and staff sessions
end when idle and after a working day."""

import re
from datetime import timedelta

import pytest
import time_machine
from django.contrib.auth.models import Group
from django.core.management import CommandError, call_command
from django.utils import timezone
from django_otp.oath import TOTP
from django_otp.plugins.otp_static.models import StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from portal import two_factor
from portal.access import DPO_GROUP, is_dpo, is_support
from tests.factories import UserFactory
from tests.two_factor import staff_code

pytestmark = pytest.mark.django_db


def code_for_secret(secret_base32: str) -> str:
    """What an authenticator app computes from the secret shown at enrolment."""
    from base64 import b32decode

    return f"{TOTP(b32decode(secret_base32)).token():06d}"


def password_login(client, user):
    assert client.login(username=user.get_username(), password="pw")


def test_first_staff_login_enrols_a_device_and_shows_recovery_codes_once(client, dpo_user):
    password_login(client, dpo_user)
    response = client.get("/admin/")
    assert response.status_code == 302
    assert response["Location"] == "/admin/second-factor/enrol/?next=%2Fadmin%2F"
    page = client.get(response["Location"])
    body = page.content.decode()
    assert "<svg" in body  # the QR code
    secret = re.search(r'class="portal-secret">([A-Z2-7]+)<', body).group(1)
    assert client.get("/admin/calls/call/").status_code == 302  # nothing before the code

    wrong = client.post("/admin/second-factor/enrol/", {"code": "000000", "next": "/admin/"})
    assert "not right" in wrong.content.decode()
    done = client.post(
        "/admin/second-factor/enrol/", {"code": code_for_secret(secret), "next": "/admin/"}
    )
    codes = re.findall(r"<li><code>(\w+)</code></li>", done.content.decode())
    assert len(codes) == 10
    assert client.get("/admin/").status_code == 200
    # Shown once: the enrolment page now sends to verification, and shows no codes again.
    assert client.get("/admin/second-factor/enrol/").status_code == 302
    assert set(codes) == set(StaticToken.objects.values_list("token", flat=True))


def test_enrolled_staff_need_a_code_at_every_login(client, dpo_user):
    staff_code(dpo_user)  # enrolled earlier
    password_login(client, dpo_user)
    response = client.get("/admin/dsr/")
    assert response["Location"] == "/admin/second-factor/?next=%2Fadmin%2Fdsr%2F"
    refused = client.post("/admin/second-factor/", {"code": "123456"})
    assert refused.status_code == 200 and "not right" in refused.content.decode()
    assert client.get("/admin/").status_code == 302
    verified = client.post(
        "/admin/second-factor/", {"code": staff_code(dpo_user), "next": "/admin/dsr/"}
    )
    assert verified["Location"] == "/admin/dsr/"
    assert client.get("/admin/").status_code == 200


def test_a_code_is_accepted_once(client, dpo_user):
    code = staff_code(dpo_user)
    password_login(client, dpo_user)
    assert client.post("/admin/second-factor/", {"code": code}).status_code == 302
    client.logout()
    password_login(client, dpo_user)
    replay = client.post("/admin/second-factor/", {"code": code})
    assert replay.status_code == 200 and "not right" in replay.content.decode()


def test_next_must_stay_on_the_site(client, dpo_user):
    password_login(client, dpo_user)
    response = client.post(
        "/admin/second-factor/", {"code": staff_code(dpo_user), "next": "https://evil.example/"}
    )
    assert response["Location"] == "/admin/"


def test_a_recovery_code_works_once(client, dpo_user):
    two_factor.current_code(user=dpo_user)  # enrolled
    recovery = StaticToken.objects.filter(device__user=dpo_user).first().token
    password_login(client, dpo_user)
    assert client.post("/admin/second-factor/", {"code": recovery}).status_code == 302
    assert client.get("/admin/").status_code == 200
    client.logout()
    password_login(client, dpo_user)
    again = client.post("/admin/second-factor/", {"code": recovery})
    assert again.status_code == 200
    assert client.get("/admin/").status_code == 302


def test_the_session_api_refuses_unverified_staff(client, dpo_user, tenant_a):
    password_login(client, dpo_user)
    response = client.get("/api/v1/calls/", HTTP_X_TENANT=tenant_a.slug)
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "second_factor_required"
    assert client.get("/dashboard/").status_code == 302


def test_customer_logins_need_no_second_factor(client, admin_a):
    password_login(client, admin_a)
    assert client.get("/dashboard/").status_code == 200


def test_the_requirement_can_be_turned_off(client, dpo_user, settings):
    settings.STAFF_2FA_REQUIRED = False
    password_login(client, dpo_user)
    assert client.get("/admin/").status_code == 200


def test_idle_staff_sessions_end(client, dpo_user, settings):
    settings.STAFF_SESSION_IDLE_MINUTES = 60
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        client.force_login(dpo_user)
        assert client.get("/admin/").status_code == 200
    with time_machine.travel(start + timedelta(minutes=59), tick=False):
        assert client.get("/admin/").status_code == 200
    with time_machine.travel(start + timedelta(minutes=59 + 61), tick=False):
        response = client.get("/admin/")
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")
    assert client.get("/admin/").status_code == 302


def test_busy_staff_sessions_end_after_the_maximum(client, dpo_user, settings):
    settings.STAFF_SESSION_MAX_HOURS = 12
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        client.force_login(dpo_user)
    for minutes in range(50, 12 * 60, 50):  # never idle
        with time_machine.travel(start + timedelta(minutes=minutes), tick=False):
            assert client.get("/admin/").status_code == 200, minutes
    with time_machine.travel(start + timedelta(hours=12, minutes=5), tick=False):
        response = client.get("/admin/")
    assert response.status_code == 302 and response["Location"].startswith("/admin/login/")


def test_totp_code_command_prints_the_current_code_last(dpo_user, settings, capsys):
    settings.DEBUG = True
    call_command("totp_code", "dpo")
    code = capsys.readouterr().out.strip().splitlines()[-1]
    assert re.fullmatch(r"\d{6}", code)
    device = TOTPDevice.objects.get(user=dpo_user)
    assert device.confirmed and device.verify_token(code)


def test_totp_code_command_is_refused_without_debug(dpo_user, settings):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="DEBUG"):
        call_command("totp_code", "dpo")
    assert not TOTPDevice.objects.exists()


def test_staff_2fa_reset_makes_the_next_login_enrol(client, dpo_user):
    staff_code(dpo_user)
    call_command("staff_2fa_reset", "dpo")
    password_login(client, dpo_user)
    assert client.get("/admin/")["Location"].startswith("/admin/second-factor/enrol/")


def test_no_one_reads_staff_secrets_in_the_admin(client, dpo_user, support_user):
    staff_code(support_user)
    client.force_login(dpo_user)
    for path in ("/admin/otp_totp/totpdevice/", "/admin/otp_static/staticdevice/"):
        assert client.get(path).status_code == 404
    index = client.get("/admin/").content.decode()
    assert "otp_totp" not in index and "otp_static" not in index


def test_platform_roles_need_a_staff_account():
    user = UserFactory()
    user.groups.add(Group.objects.get_or_create(name=DPO_GROUP)[0])
    assert not is_dpo(user) and not is_support(user)
    user.is_staff = True
    assert is_dpo(user)

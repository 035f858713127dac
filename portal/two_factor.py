"""Second factor for platform staff (django-otp): a TOTP app, and single-use recovery codes.

Staff accounts read every tenant's calls, so a password alone does not open them
(Art. 32(1)(b) GDPR: confidentiality of processing systems). Each staff user has one TOTP
device and one set of recovery codes (a django-otp static device); both are made at
enrolment, on the first login. Rules here; the pages are in ``portal.two_factor_views`` and
the enforcement (with the session lifetimes) in ``portal.middleware.StaffSessionMiddleware``.
"""

from __future__ import annotations

import time
from base64 import b32encode

import qrcode
import qrcode.image.svg
from django.conf import settings
from django.db import transaction
from django_otp import login as otp_login
from django_otp.oath import TOTP
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from portal.errors import BusinessRuleError

DEVICE_NAME = "Authenticator app"
RECOVERY_DEVICE_NAME = "Recovery codes"


def required_for(user) -> bool:
    """Staff (anyone allowed into the admin) log in with a second factor."""
    return bool(
        getattr(settings, "STAFF_2FA_REQUIRED", True)
        and getattr(user, "is_authenticated", False)
        and user.is_staff
    )


def confirmed_device(user) -> TOTPDevice | None:
    return TOTPDevice.objects.filter(user=user, confirmed=True).first()


def pending_device(user) -> TOTPDevice:
    """The unconfirmed TOTP device shown at enrolment (made once, kept until confirmed)."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name=DEVICE_NAME, confirmed=False)
    return device


def secret_base32(device: TOTPDevice) -> str:
    """The secret as authenticator apps take it when typed in."""
    return b32encode(device.bin_key).decode()


def qr_code_svg(device: TOTPDevice) -> str:
    """The ``otpauth://`` URL of the device as an inline SVG QR code."""
    image = qrcode.make(device.config_url, image_factory=qrcode.image.svg.SvgPathImage)
    return image.to_string(encoding="unicode")


@transaction.atomic
def enrolment_confirm(*, request, device: TOTPDevice, code: str) -> list[str]:
    """Confirm the pending device with a code from the app; issue fresh recovery codes.

    Returns the recovery codes, shown once. The session counts as verified from here.
    """
    if device.confirmed or device.user_id != request.user.pk:
        raise BusinessRuleError("This device is not waiting for enrolment.", field="code")
    if not device.verify_token(code.strip().replace(" ", "")):
        raise BusinessRuleError(
            "That code is not right. Check the clock of your phone and type the current code.",
            field="code",
        )
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    codes = recovery_codes_issue(user=request.user)
    otp_login(request, device)
    return codes


def recovery_codes_issue(*, user) -> list[str]:
    """Replace the user's recovery codes with new single-use ones."""
    StaticDevice.objects.filter(user=user).delete()
    device = StaticDevice.objects.create(user=user, name=RECOVERY_DEVICE_NAME, confirmed=True)
    codes = [StaticToken.random_token() for _ in range(settings.STAFF_RECOVERY_CODES)]
    StaticToken.objects.bulk_create(StaticToken(device=device, token=code) for code in codes)
    return codes


def verify(*, request, code: str) -> bool:
    """Check a TOTP or recovery code of the logged-in user; mark the session verified.

    A recovery code is used up by this (django-otp deletes the static token). Repeated wrong
    codes are throttled by django-otp with growing delays.
    """
    code = code.strip().replace(" ", "")
    devices = [confirmed_device(request.user)]
    devices += list(StaticDevice.objects.filter(user=request.user, confirmed=True))
    for device in devices:
        if device is None:
            continue
        with transaction.atomic():
            if device.verify_token(code):
                otp_login(request, device)
                return True
    return False


@transaction.atomic
def devices_reset(*, user) -> None:
    """A lost phone: remove the user's devices, so the next login enrols again."""
    TOTPDevice.objects.filter(user=user).delete()
    StaticDevice.objects.filter(user=user).delete()


def current_code(*, user) -> str:
    """The code the user's authenticator app shows now, enrolling a device if there is none.

    For local demos and tests (``manage.py totp_code``); never reachable from a request.
    """
    device = confirmed_device(user)
    if device is None:
        device = pending_device(user)
        device.confirmed = True
        device.save(update_fields=["confirmed"])
        recovery_codes_issue(user=user)
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = time.time()
    return f"{totp.token():0{device.digits}d}"

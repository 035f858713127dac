"""Privacy-notice versions: what subjects were shown. A version named by consent records or sent
by SMS is evidence and is never changed or deleted."""

from __future__ import annotations

import hashlib
import re
from datetime import datetime

from django.db import transaction

from consent.models import PrivacyNotice
from consent.selectors import notice_in_use
from portal.errors import BusinessRuleError
from portal.models import Tenant
from portal.services import full_clean_or_raise


def notice_digest(text: str, text_sha256: str) -> str:
    text_sha256 = (text_sha256 or "").strip().lower()
    if text:
        digest = hashlib.sha256(text.encode()).hexdigest()
        if text_sha256 and text_sha256 != digest:
            raise BusinessRuleError(
                "text_sha256 is not the SHA-256 of the text given.",
                code="digest_mismatch",
                field="text_sha256",
            )
        return digest
    if text_sha256 and not re.fullmatch(r"[0-9a-f]{64}", text_sha256):
        raise BusinessRuleError(
            "text_sha256 must be 64 hexadecimal digits.", code="invalid", field="text_sha256"
        )
    return text_sha256


@transaction.atomic
def notice_create(
    *,
    tenant: Tenant,
    version: str,
    url: str,
    effective_from: datetime,
    text: str = "",
    text_sha256: str = "",
) -> PrivacyNotice:
    """A version of the privacy notice. With its text, the text's SHA-256 is kept too, so the
    version shown can be proven later even if only the digest is archived."""
    version = (version or "").strip()
    if not version:
        raise BusinessRuleError("A notice needs a version.", code="required", field="version")
    if PrivacyNotice.objects.for_tenant(tenant).filter(version=version).exists():
        raise BusinessRuleError(
            f"Notice version {version!r} exists already.",
            code="duplicate",
            field="version",
            status_code=409,
        )
    notice = PrivacyNotice(
        tenant=tenant,
        version=version,
        url=url,
        text=text or "",
        text_sha256=notice_digest(text or "", text_sha256),
        effective_from=effective_from,
    )
    full_clean_or_raise(notice, validate_constraints=False)
    notice.save()
    return notice


def _refuse_notice_in_use(notice: PrivacyNotice, doing: str) -> None:
    if notice_in_use(notice):
        raise BusinessRuleError(
            f"Notice version {notice.version!r} was shown to subjects (consent records name it) "
            f"and cannot be {doing}: publish a new version instead.",
            code="notice_in_use",
            status_code=409,
        )


@transaction.atomic
def notice_update(
    *,
    notice: PrivacyNotice,
    version: str | None = None,
    url: str | None = None,
    effective_from: datetime | None = None,
    text: str | None = None,
    text_sha256: str | None = None,
) -> PrivacyNotice:
    """Correct a notice nobody has been shown yet; one that was shown is evidence."""
    notice = PrivacyNotice.objects.select_for_update().get(pk=notice.pk)
    _refuse_notice_in_use(notice, "changed")
    if version is not None:
        version = version.strip()
        taken = PrivacyNotice.objects.for_tenant(notice.tenant_id).filter(version=version)
        if taken.exclude(pk=notice.pk).exists():
            raise BusinessRuleError(
                f"Notice version {version!r} exists already.",
                code="duplicate",
                field="version",
                status_code=409,
            )
        notice.version = version
    if url is not None:
        notice.url = url
    if effective_from is not None:
        notice.effective_from = effective_from
    if text is not None or text_sha256 is not None:
        notice.text = notice.text if text is None else text
        notice.text_sha256 = notice_digest(notice.text, text_sha256 or "")
    full_clean_or_raise(notice, validate_constraints=False)
    notice.save()
    return notice


@transaction.atomic
def notice_delete(*, notice: PrivacyNotice) -> None:
    _refuse_notice_in_use(notice, "deleted")
    notice.delete()


def notice_resolve(tenant: Tenant, version: str | None) -> PrivacyNotice | None:
    version = (version or "").strip()
    if not version:
        return None
    notice = PrivacyNotice.objects.for_tenant(tenant).filter(version=version).first()
    if notice is None:
        raise BusinessRuleError(
            f"The tenant has no privacy notice version {version!r}: publish it first "
            "(/api/v1/notices/).",
            code="unknown_notice",
            field="notice_version",
        )
    return notice

"""Intake: opening a request, forwarding it to the tenant, the tenant's confirmation."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from dsr.models import (
    DataSubjectRequest,
    RequestChannel,
    RequestKind,
    RequestSubjectNumber,
    VerificationMethod,
)
from dsr.services import deadlines, notifications
from dsr.services.base import (
    CONFIRMED_CHANNELS,
    check_received_at,
    lock,
    normalise_numbers,
    policy_allows,
    record_event,
    refuse_closed,
    require_policy,
    save_request,
)
from dsr.services.decision import request_approve
from dsr.services.review import request_verify
from portal.errors import BusinessRuleError
from portal.models import ApiKey, Tenant
from portal.services import full_clean_or_raise


@transaction.atomic
def request_open(
    *,
    tenant: Tenant,
    kind: str,
    numbers: Iterable[str],
    channel: str,
    name: str = "",
    email: str = "",
    details: str = "",
    received_at: datetime | None = None,
    by=None,
    api_key: ApiKey | None = None,
) -> DataSubjectRequest:
    """Open a request. The clock runs from ``received_at`` (first receipt), never later.

    Opened by the tenant (API, dashboard, or staff on its instruction) the request is confirmed
    by that act; sent to the platform directly it is forwarded to the tenant at once and waits
    for its confirmation. A request opened by the tenant's API key may be verified and approved
    by the tenant's automation policy.
    """
    if kind not in RequestKind.values:
        raise BusinessRuleError(f"Unknown request kind {kind!r}.", field="kind")
    if channel not in RequestChannel.values:
        raise BusinessRuleError(f"Unknown channel {channel!r}.", field="channel")
    if by is not None and not getattr(by, "pk", None):
        by = None  # an API key without a creator acts as itself
    received_at = check_received_at(received_at)
    subject_numbers = normalise_numbers(numbers, tenant)
    request = DataSubjectRequest(
        tenant=tenant,
        kind=kind,
        channel=channel,
        name=(name or "").strip(),
        email=(email or "").strip(),
        details=(details or "").strip(),
        received_at=received_at,
        opened_by=by,
        opened_by_api_key=api_key,
        status_changed_at=timezone.now(),
    )
    first = deadlines.deadline(received_at, tz=tenant.timezone, country=tenant.country)
    request.due_at = request.effective_due_at = first
    if channel in CONFIRMED_CHANNELS:
        request.confirmed_at = timezone.now()
        request.confirmed_by = by
    full_clean_or_raise(request)
    save_request(request, by=by, reason=f"opened ({channel})")
    for number in subject_numbers:
        RequestSubjectNumber.objects.create(tenant=tenant, request=request, number=number)
    record_event(request, "opened", by=by, api_key=api_key, note=f"Channel: {channel}")
    notifications.emit(request, "request.received", channel=channel)
    if channel == RequestChannel.DIRECT_TO_PROCESSOR:
        request_forward_to_tenant(request=request, by=by)
    else:
        record_event(request, "confirmed", by=by, api_key=api_key, note="Opened by the tenant.")
    if policy_allows(request):
        _decide_by_policy(request)
    request.refresh_from_db()
    return request


def _decide_by_policy(request: DataSubjectRequest) -> None:
    setting = require_policy(request)
    request_verify(
        request=request,
        by=None,
        method=VerificationMethod.TENANT_VOUCHED,
        note=f"Verified by policy: the tenant vouches for the subject's identity ({setting}).",
        by_policy=True,
    )
    request_approve(request=request, by=None, by_policy=True)


@transaction.atomic
def request_forward_to_tenant(*, request: DataSubjectRequest, by=None) -> DataSubjectRequest:
    """A request sent to the platform directly goes to the tenant at once (Art. 28(3)(e))."""
    request = lock(request)
    if request.channel != RequestChannel.DIRECT_TO_PROCESSOR:
        raise BusinessRuleError(
            "Only requests sent to the platform directly are forwarded to the tenant.",
            code="not_direct",
        )
    if request.forwarded_at is not None:
        return request
    request.forwarded_at = timezone.now()
    save_request(request, by=by, reason="forwarded to the tenant")
    record_event(
        request, "forwarded", by=by, note="Forwarded to the tenant; awaiting confirmation."
    )
    notifications.emit(request, "request.forwarded")
    notifications.notify_tenant_of_forwarded_request(request)
    return request


@transaction.atomic
def request_confirm(
    *, request: DataSubjectRequest, by=None, api_key: ApiKey | None = None, note: str = ""
) -> DataSubjectRequest:
    """The tenant takes a forwarded request on as controller; the deadline is unchanged."""
    request = lock(request)
    refuse_closed(request, "be confirmed")
    if request.confirmed_at is not None:
        raise BusinessRuleError(
            f"Request #{request.pk} is confirmed already.",
            code="already_confirmed",
            status_code=409,
        )
    by = by if getattr(by, "pk", None) else None
    request.confirmed_at = timezone.now()
    request.confirmed_by = by
    save_request(request, by=by, reason="confirmed by the tenant")
    note = (note or "").strip() or "Confirmed by the tenant."
    record_event(request, "confirmed", by=by, api_key=api_key, note=note)
    notifications.emit(request, "request.confirmed")
    notifications.notify_assignee(request, "The tenant confirmed the request", actor=by)
    return request

"""Reads for data-subject requests: discovery, queues, lookups by number.

Dashboard pages, the API, the admin and the tasks read through these.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db.models import Q, QuerySet
from django.utils import timezone

from calls.models import Call, Recording, RecordingAccess, Transcript
from consent.models import ConsentEvent
from dsr.models import (
    OPEN_STATUSES,
    PACKAGE_KINDS,
    AccessPackage,
    DataSubjectRequest,
    RequestKind,
    RequestStatus,
    RequestSubjectNumber,
)
from portal.numbers import try_normalize_number


def request_numbers(request: DataSubjectRequest) -> list[str]:
    return list(
        RequestSubjectNumber.objects.filter(request=request).values_list("number", flat=True)
    )


def subject_calls(request: DataSubjectRequest) -> QuerySet[Call]:
    """Every call of the request's tenant where a subject's number is caller or callee.

    Numbers are stored in E.164 on both sides, so every written form the subject gave matches.
    """
    numbers = request_numbers(request)
    return Call.objects.for_tenant(request.tenant_id).filter(
        Q(caller__in=numbers) | Q(callee__in=numbers)
    )


def subject_recordings(request: DataSubjectRequest) -> QuerySet[Recording]:
    return Recording.objects.for_tenant(request.tenant_id).filter(
        call__in=subject_calls(request).values("pk")
    )


def subject_transcripts(request: DataSubjectRequest) -> QuerySet[Transcript]:
    return Transcript.objects.for_tenant(request.tenant_id).filter(
        call__in=subject_calls(request).values("pk")
    )


def subject_consent_events(request: DataSubjectRequest) -> QuerySet[ConsentEvent]:
    return ConsentEvent.objects.for_tenant(request.tenant_id).filter(
        number__in=request_numbers(request)
    )


def subject_recording_accesses(request: DataSubjectRequest) -> QuerySet[RecordingAccess]:
    return RecordingAccess.objects.for_tenant(request.tenant_id).filter(
        call__in=subject_calls(request).values("pk")
    )


# What will happen to each kind of item, per kind of request.
_INCLUDED = "included in the package"
OUTCOMES: dict[str, dict[str, str]] = {
    RequestKind.ACCESS: {
        "call": f"{_INCLUDED} (data.json, calls.csv)",
        "recording": f"{_INCLUDED} (recordings/)",
        "transcript": f"{_INCLUDED} (transcripts/)",
        "consent_event": f"{_INCLUDED} (consent history)",
        "recording_access": "date and purpose listed in the cover letter (staff not named)",
    },
    RequestKind.RECTIFICATION: {
        "call": "supplementary statement added; recipients told (Art. 19)",
        "recording": "kept as recorded (the statement travels with the call)",
        "transcript": "kept; the statement travels with the call",
        "consent_event": "unchanged",
        "recording_access": "unchanged",
    },
    RequestKind.RESTRICTION: {
        "call": "restricted: stored only; recipients told (Art. 19)",
        "recording": "restricted: no playback or export except by the DPO",
        "transcript": "restricted: no reading or export except by the DPO",
        "consent_event": "kept; the consent check answers 'not allowed'",
        "recording_access": "unchanged",
    },
    RequestKind.OBJECTION: {
        "call": "no further processing on legitimate interests",
        "recording": "no further processing on legitimate interests",
        "transcript": "no further processing on legitimate interests",
        "consent_event": "kept; legitimate-interest purposes answer 'not allowed'",
        "recording_access": "unchanged",
    },
}
OUTCOMES[RequestKind.PORTABILITY] = OUTCOMES[RequestKind.ACCESS]


def outcome_for(kind: str, item_kind: str) -> str:
    if kind == RequestKind.ERASURE:
        from dsr.services.erasure import erasure_discovery_action

        return erasure_discovery_action(item_kind)
    return OUTCOMES[kind][item_kind]


@dataclass
class DiscoveryGroup:
    kind: str
    title: str
    outcome: str
    count: int
    items: list = field(default_factory=list)


def request_discovery(request: DataSubjectRequest, *, limit: int = 50) -> list[DiscoveryGroup]:
    """Everything of the subject's found for the request, with what will happen to each.

    ``items`` holds at most ``limit`` rows per group; ``count`` is the full number.
    """
    groups = [
        ("call", "Calls", subject_calls(request).order_by("-started_at")),
        ("recording", "Recordings", subject_recordings(request).select_related("call")),
        ("transcript", "Transcripts", subject_transcripts(request).select_related("call")),
        (
            "consent_event",
            "Consent events",
            subject_consent_events(request).select_related("purpose"),
        ),
        ("recording_access", "Recording-access log", subject_recording_accesses(request)),
    ]
    return [
        DiscoveryGroup(
            kind=kind,
            title=title,
            outcome=outcome_for(request.kind, kind),
            count=queryset.count(),
            items=list(queryset[:limit]),
        )
        for kind, title, queryset in groups
    ]


# ---------------------------------------------------------------------------------------------
# Queues and lists


def open_requests(queryset: QuerySet[DataSubjectRequest] | None = None) -> QuerySet:
    queryset = DataSubjectRequest.objects.all() if queryset is None else queryset
    return queryset.filter(status__in=OPEN_STATUSES)


def overdue_requests(queryset=None, *, at: datetime | None = None) -> QuerySet:
    """Open, clock running, past the deadline that applies (extended or not)."""
    return open_requests(queryset).filter(
        effective_due_at__lt=at or timezone.now(), clock_paused_at__isnull=True
    )


def due_soon_requests(queryset=None, *, days: int = 7, at: datetime | None = None) -> QuerySet:
    at = at or timezone.now()
    return open_requests(queryset).filter(
        effective_due_at__gte=at,
        effective_due_at__lt=at + timedelta(days=days),
        clock_paused_at__isnull=True,
    )


def awaiting_confirmation(queryset=None) -> QuerySet:
    return open_requests(queryset).filter(confirmed_at__isnull=True)


def awaiting_verification(queryset=None) -> QuerySet:
    return open_requests(queryset).filter(
        status__in=[RequestStatus.RECEIVED, RequestStatus.VERIFYING], confirmed_at__isnull=False
    )


def awaiting_approval(queryset=None) -> QuerySet:
    return open_requests(queryset).filter(status=RequestStatus.IN_REVIEW)


def packages_ready(queryset: QuerySet[AccessPackage] | None = None, *, at=None) -> QuerySet:
    queryset = AccessPackage.objects.all() if queryset is None else queryset
    return queryset.filter(status=AccessPackage.Status.READY, expires_at__gt=at or timezone.now())


def latest_package(request: DataSubjectRequest) -> AccessPackage | None:
    """The newest package that is not a failed build (uses prefetched packages if there)."""
    if request.kind not in PACKAGE_KINDS:
        return None
    for package in request.packages.all():  # newest first (model ordering)
        if package.status != AccessPackage.Status.FAILED:
            return package
    return None


def requests_for_number(
    queryset: QuerySet[DataSubjectRequest], term: str, *, countries: Iterable[str]
) -> QuerySet:
    """Requests naming a number written in any form (with or without country code)."""
    candidates = {try_normalize_number(term, country=None)}
    candidates |= {try_normalize_number(term, country=country) for country in countries}
    candidates.discard(None)
    if not candidates:
        return queryset.none()
    matching = RequestSubjectNumber.objects.filter(number__in=candidates).values("request_id")
    return queryset.filter(pk__in=matching)

"""Reads behind the tenant dashboard's request pages (``dsr/views.py``).

Everything here is scoped by the caller (``queryset.for_tenant`` or a request already read
through it) and costs a fixed number of queries. Deadline rules are not repeated: the
explanation of a due date is rebuilt from ``dsr/services/deadlines.py``, step by step, so
that a tenant can see how the date it must meet was counted.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.db.models import Count, Q, QuerySet, prefetch_related_objects
from django.utils import timezone

from consent.models import ProcessingRestriction
from dsr import selectors
from dsr.models import (
    CLOSED_STATUSES,
    OPEN_STATUSES,
    CallRectification,
    DataSubjectRequest,
    PackageDownload,
    RequestClockPause,
    RequestStatus,
)
from dsr.services import deadlines
from portal.models import Tenant

# As the due badges (portal.templatetags.dashboard.due_status): amber within 7 calendar days.
DUE_SOON_DAYS = 7


# --- lists -----------------------------------------------------------------------------------


class OpenFirst:
    """A request list's rows: open requests first, nearest deadline first; then closed ones,
    newest first.

    Read as two index-friendly queries — the open requests by ``(tenant, status,
    effective_due_at)``, the closed ones by ``(tenant, received_at)`` — rather than one sort of
    every row of the tenant (``ORDER BY CASE …``), which costs about 100 ms at 100,000 requests
    (bench/dashboard_requests.py). It offers what ``WindowPaginator`` needs: windows by
    slicing, and ``order_by()`` for the capped count.
    """

    def __init__(self, queryset: QuerySet[DataSubjectRequest], *, prefetch: tuple[str, ...] = ()):
        self.queryset = queryset
        self.prefetch = prefetch
        self.open = selectors.open_requests(queryset).order_by("effective_due_at", "id")
        self.closed = queryset.filter(status__in=CLOSED_STATUSES).order_by("-received_at", "-id")

    def order_by(self, *fields) -> QuerySet[DataSubjectRequest]:
        return self.queryset.order_by(*fields)

    def __getitem__(self, window: slice) -> list[DataSubjectRequest]:
        start, stop = window.start or 0, window.stop
        rows = list(self.open[start:stop])
        wanted = stop - start - len(rows)
        if wanted > 0:
            # Where the closed ones start: known from a short page of open ones, counted (on
            # the index) only for a page that begins past them.
            open_count = start + len(rows) if rows or start == 0 else self.open.count()
            offset = max(start - open_count, 0)
            rows += list(self.closed[offset : offset + wanted])
        if self.prefetch:
            prefetch_related_objects(rows, *self.prefetch)
        return rows


def due_soon(
    queryset: QuerySet[DataSubjectRequest], *, tenant: Tenant, at: datetime | None = None
) -> QuerySet[DataSubjectRequest]:
    """Open, clock running, not overdue, and due within ``DUE_SOON_DAYS`` calendar days of the
    tenant (the same days the amber badge counts)."""
    at = at or timezone.now()
    today = deadlines.local_date(at, tenant.timezone)
    last = deadlines.end_of_day(today + timedelta(days=DUE_SOON_DAYS), tenant.timezone)
    return selectors.open_requests(queryset).filter(
        effective_due_at__gte=at, effective_due_at__lte=last, clock_paused_at__isnull=True
    )


@dataclass(frozen=True)
class OpenRequestsOverview:
    by_status: list[tuple[str, int]]
    open: int
    overdue: int
    due_soon: int
    to_confirm: int
    nearest: list[DataSubjectRequest]


def open_requests_overview(tenant: Tenant, *, nearest: int = 5) -> OpenRequestsOverview:
    """Counts of the tenant's open requests by status and by urgency (one query), and the
    open requests with the nearest deadlines (one query)."""
    now = timezone.now()
    requests = DataSubjectRequest.objects.for_tenant(tenant)

    def among(queryset) -> Q:
        return Q(pk__in=queryset.values("pk"))

    figures = selectors.open_requests(requests).aggregate(
        **{status: Count("pk", filter=Q(status=status)) for status in OPEN_STATUSES},
        overdue=Count("pk", filter=among(selectors.overdue_requests(requests, at=now))),
        due_soon=Count("pk", filter=among(due_soon(requests, tenant=tenant, at=now))),
        to_confirm=Count("pk", filter=among(selectors.awaiting_confirmation(requests))),
    )
    by_status = [(RequestStatus(status).label, figures[status]) for status in OPEN_STATUSES]
    upcoming = (
        selectors.open_requests(requests)
        .filter(clock_paused_at__isnull=True)
        .order_by("effective_due_at", "id")[:nearest]
    )
    return OpenRequestsOverview(
        by_status=by_status,
        open=sum(count for _, count in by_status),
        overdue=figures["overdue"],
        due_soon=figures["due_soon"],
        to_confirm=figures["to_confirm"],
        nearest=list(upcoming),
    )


# --- the request page ------------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    """One period counted from receipt: the raw end, and where the working-day rule put it."""

    months: int
    same_date: date  # the same date ``months`` later, or that month's last day
    clamped: bool  # the same date does not exist in that month (31 August → 30 September)
    with_pauses: date  # ``same_date`` moved by the days the clock stood still
    last_day: date  # the last day after the weekend/holiday rule
    moved_because: str  # why ``with_pauses`` was not the last day ("" if it was)


@dataclass(frozen=True)
class DeadlineExplanation:
    received_at: datetime
    received_day: date
    first: Period
    extension: Period | None
    pauses: list[tuple[RequestClockPause, int]]
    paused_days: int
    paused_now: bool
    country: str


def _non_working_reason(day: date, country: str) -> str:
    if day.weekday() == 5:
        return "a Saturday"
    if day.weekday() == 6:
        return "a Sunday"
    return f"a public holiday in {country}"


def _period(received_day: date, *, months: int, pause_days: int, country: str) -> Period:
    same_date = deadlines.add_months(received_day, months)
    with_pauses = same_date + timedelta(days=pause_days)
    last_day = deadlines.next_working_day(with_pauses, country)
    return Period(
        months=months,
        same_date=same_date,
        clamped=same_date.day != received_day.day,
        with_pauses=with_pauses,
        last_day=last_day,
        moved_because="" if last_day == with_pauses else _non_working_reason(with_pauses, country),
    )


def deadline_explanation(request: DataSubjectRequest) -> DeadlineExplanation:
    """How the request's due dates were counted (Art. 12(3), Reg. 1182/71 Art. 3).

    Pauses count as ``dsr/services/deadlines.py`` counts them; a pause still running counts
    nothing yet: the stored deadline moves when the clock restarts. Uses the prefetched ``pauses``.
    """
    tenant = request.tenant
    tz = tenant.timezone
    pauses = list(request.pauses.all())
    until = request.clock_paused_at or timezone.now()
    counted = [
        (
            pause,
            deadlines.paused_days(
                [deadlines.Pause(pause.started_at, pause.ended_at)], tz, until=until
            ),
        )
        for pause in pauses
    ]
    pause_days = sum(days for _, days in counted)
    received_day = deadlines.local_date(request.received_at, tz)
    first = _period(
        received_day,
        months=deadlines.FIRST_PERIOD_MONTHS,
        pause_days=pause_days,
        country=tenant.country,
    )
    extension = None
    if request.extension_months:
        extension = _period(
            received_day,
            months=request.extension_months,
            pause_days=pause_days,
            country=tenant.country,
        )
    return DeadlineExplanation(
        received_at=request.received_at,
        received_day=received_day,
        first=first,
        extension=extension,
        pauses=counted,
        paused_days=pause_days,
        paused_now=request.clock_paused_at is not None,
        country=tenant.country,
    )


@dataclass
class Statement:
    """A supplementary statement (Art. 16) and the calls it was added to."""

    text: str
    added_at: datetime
    calls: list = field(default_factory=list)


def request_statements(request: DataSubjectRequest) -> list[Statement]:
    """The statements a rectification request added, one entry per text (one query)."""
    rows = (
        CallRectification.objects.for_tenant(request.tenant_id)
        .filter(request=request)
        .select_related("call")
        .order_by("created_at", "id")
    )
    statements: dict[str, Statement] = {}
    for row in rows:
        entry = statements.setdefault(row.statement, Statement(row.statement, row.created_at))
        entry.calls.append(row.call)
    return list(statements.values())


def request_restrictions(request: DataSubjectRequest) -> list[ProcessingRestriction]:
    """The restrictions or objections a request placed on the subject's numbers (one query)."""
    return list(
        ProcessingRestriction.objects.for_tenant(request.tenant_id)
        .filter(request_id=request.pk)
        .order_by("started_at", "id")
    )


def restricted_call_count(request: DataSubjectRequest) -> int:
    return selectors.subject_calls(request).filter(is_restricted=True).count()


def package_downloads(package, *, limit: int = 10) -> list[PackageDownload]:
    """The latest downloads of a package, with who downloaded it (one query)."""
    if package is None:
        return []
    return list(
        PackageDownload.objects.for_tenant(package.tenant_id)
        .filter(package=package)
        .select_related("user", "api_key")
        .order_by("-downloaded_at", "-id")[:limit]
    )

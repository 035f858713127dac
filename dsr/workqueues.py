"""The DPO's work queues for data-subject requests (admin home), scoped to the user's tenants."""

from __future__ import annotations

from django.urls import reverse
from django.utils import timezone

from dsr import selectors
from dsr.models import AccessPackage, DataSubjectRequest
from portal.workqueues import QueueItem, WorkQueue

TOP = 5


def _due_label(request: DataSubjectRequest, now) -> str:
    delta = request.effective_due_at - now
    if delta.total_seconds() < 0:
        return f"{-delta.days} day(s) overdue" if delta.days < -1 else "overdue"
    return f"due in {delta.days} day(s)" if delta.days else "due today"


def _request_queue(title, queryset, *, url_query, severity, order, now) -> WorkQueue:
    changelist = reverse("admin:dsr_datasubjectrequest_changelist")
    top = queryset.select_related("tenant").order_by("effective_due_at", "id")[:TOP]
    return WorkQueue(
        title=title,
        count=queryset.count(),
        url=f"{changelist}?{url_query}",
        severity=severity,
        order=order,
        items=[
            QueueItem(
                label=f"#{r.pk} {r.get_kind_display()} — {r.tenant.name}",
                url=reverse("admin:dsr_datasubjectrequest_change", args=[r.pk]),
                detail=_due_label(r, now),
                severity=severity,
            )
            for r in top
        ],
    )


def request_queues(request) -> list[WorkQueue]:
    user = request.user
    if not user.has_perm("dsr.view_datasubjectrequest"):
        return []
    now = timezone.now()
    scoped = DataSubjectRequest.objects.visible_to(user)
    queues = [
        _request_queue(
            "Overdue requests",
            selectors.overdue_requests(scoped, at=now),
            url_query="due=overdue",
            severity="danger",
            order=10,
            now=now,
        ),
        _request_queue(
            "Requests due within 7 days",
            selectors.due_soon_requests(scoped, days=7, at=now),
            url_query="due=soon",
            severity="warning",
            order=20,
            now=now,
        ),
        _request_queue(
            "Awaiting the tenant's confirmation",
            selectors.awaiting_confirmation(scoped),
            url_query="stage=confirmation",
            severity="info",
            order=25,
            now=now,
        ),
        _request_queue(
            "Awaiting identity verification",
            selectors.awaiting_verification(scoped),
            url_query="stage=verification",
            severity="info",
            order=30,
            now=now,
        ),
        _request_queue(
            "Awaiting approval",
            selectors.awaiting_approval(scoped),
            url_query="stage=approval",
            severity="warning",
            order=40,
            now=now,
        ),
    ]
    packages = selectors.packages_ready(AccessPackage.objects.visible_to(user), at=now)
    top = packages.select_related("tenant").order_by("expires_at")[:TOP]
    queues.append(
        WorkQueue(
            title="Packages ready for download",
            count=packages.count(),
            url=reverse("admin:dsr_accesspackage_changelist") + "?status__exact=ready",
            severity="ok",
            order=50,
            items=[
                QueueItem(
                    label=f"Request #{p.request_id} — {p.tenant.name}",
                    url=reverse("admin:dsr_datasubjectrequest_change", args=[p.request_id]),
                    detail=f"expires {timezone.localtime(p.expires_at):%Y-%m-%d}",
                    severity="ok",
                )
                for p in top
            ],
        )
    )
    return queues


def erasure_queues(request) -> list[WorkQueue]:
    """Holds expiring within 14 days (extend them or let them end), deferred erasures, and
    erasures blocked by residual data."""
    from datetime import timedelta

    from calls.models import LegalHold
    from calls.services.retention.holds import holds_expiring
    from dsr.models import ErasureItem, ErasureRun

    user = request.user
    queues: list[WorkQueue] = []
    now = timezone.now()
    if user.has_perm("calls.view_legalhold"):
        expiring = holds_expiring(
            LegalHold.objects.visible_to(user), within=timedelta(days=14), at=now
        )
        top = expiring.select_related("tenant").order_by("expires_at")[:TOP]
        queues.append(
            WorkQueue(
                title="Legal holds expiring within 14 days",
                count=expiring.count(),
                url=reverse("admin:calls_legalhold_changelist") + "?state=active",
                severity="warning",
                order=60,
                items=[
                    QueueItem(
                        label=f"{hold} — {hold.tenant.name}",
                        url=reverse("admin:calls_legalhold_change", args=[hold.pk]),
                        detail=f"expires {timezone.localtime(hold.expires_at):%Y-%m-%d}",
                        severity="warning",
                    )
                    for hold in top
                ],
            )
        )
    if not user.has_perm("dsr.view_datasubjectrequest"):
        return queues
    scoped = DataSubjectRequest.objects.visible_to(user)
    deferred = scoped.filter(
        pk__in=ErasureItem.objects.filter(status=ErasureItem.Status.DEFERRED).values("request_id")
    )
    blocked = scoped.filter(erasure_run__state=ErasureRun.State.RESIDUAL_DATA)
    for title, queryset, severity, order in (
        ("Erasures blocked by residual data", blocked, "danger", 15),
        ("Deferred erasures (held or still obliged)", deferred, "info", 65),
    ):
        top = queryset.select_related("tenant").order_by("status_changed_at", "id")[:TOP]
        queues.append(
            WorkQueue(
                title=title,
                count=queryset.count(),
                url=reverse("admin:dsr_datasubjectrequest_changelist") + "?kind__exact=erasure",
                severity=severity,
                order=order,
                items=[
                    QueueItem(
                        label=f"#{r.pk} {r.get_kind_display()} — {r.tenant.name}",
                        url=reverse("admin:dsr_datasubjectrequest_change", args=[r.pk]),
                        detail=r.get_status_display(),
                        severity=severity,
                    )
                    for r in top
                ],
            )
        )
    return queues

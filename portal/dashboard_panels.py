"""The core's menu entries and overview panels (registered by ``PortalConfig.ready``).

Domain apps do the same in their own ``AppConfig.ready``, e.g. calls::

    register_nav("Calls", "Calls", "dashboard:calls:list", order=100)
    register_overview_panel("calls-per-week", "Calls per week", "dashboard/calls/panel.html",
                            calls_per_week_panel, order=200, wide=True)

where ``calls_per_week_panel(request)`` returns
``{"weeks": weekly_counts(Call.objects.for_tenant(request.tenant), "started_at",
tzinfo=request.tenant.tzinfo)}`` and the template draws ``{% column_chart panel.weeks … %}``.
"""

from __future__ import annotations

from datetime import timedelta

from django.db.models import Count, Q
from django.utils import timezone

from portal.charts import weekly_counts
from portal.dashboard import register_nav, register_overview_panel
from portal.models import ApiKey, Membership, Webhook, WebhookDelivery

ADMIN = Membership.Role.ADMIN
CONTROLLER_DETAILS = {
    "legal_name": "legal name",
    "address": "address",
    "privacy_contact_email": "privacy contact",
    "supervisory_authority": "supervisory authority",
}


def policy_panel(request) -> dict:
    """Automation policy at a glance, and controller details that letters still miss."""
    tenant = request.tenant
    missing = [label for field, label in CONTROLLER_DETAILS.items() if not getattr(tenant, field)]
    text = (
        " and ".join([", ".join(missing[:-1]), missing[-1]])
        if len(missing) > 1
        else "".join(missing)
    )
    return {"tenant": tenant, "missing": text}


def api_keys_panel(request) -> dict:
    keys = ApiKey.objects.for_tenant(request.tenant)
    month_ago = timezone.now() - timedelta(days=30)
    figures = keys.aggregate(
        active=Count("pk", filter=Q(revoked_at__isnull=True)),
        used_recently=Count("pk", filter=Q(revoked_at__isnull=True, last_used_at__gte=month_ago)),
        never_used=Count("pk", filter=Q(revoked_at__isnull=True, last_used_at__isnull=True)),
    )
    recent = list(keys.filter(revoked_at__isnull=True).order_by("-last_used_at", "-created_at")[:5])
    return {**figures, "recent": recent}


def webhooks_panel(request) -> dict:
    tenant = request.tenant
    deliveries = WebhookDelivery.objects.for_tenant(tenant)
    week_ago = timezone.now() - timedelta(days=7)
    last_week = deliveries.filter(created_at__gte=week_ago).aggregate(
        delivered=Count("pk", filter=Q(status=WebhookDelivery.Status.DELIVERED)),
        retrying=Count("pk", filter=Q(status=WebhookDelivery.Status.RETRYING)),
        failed=Count("pk", filter=Q(status=WebhookDelivery.Status.FAILED)),
    )
    failing = (
        Webhook.objects.for_tenant(tenant)
        .filter(
            deliveries__created_at__gte=week_ago,
            deliveries__status__in=[
                WebhookDelivery.Status.FAILED,
                WebhookDelivery.Status.RETRYING,
            ],
        )
        .annotate(problems=Count("deliveries"))
        .order_by("-problems")[:5]
    )
    return {
        "webhooks": Webhook.objects.for_tenant(tenant).filter(is_active=True).count(),
        "last_week": last_week,
        "failing": list(failing),
        "weeks": weekly_counts(deliveries, "created_at", weeks=8, tzinfo=tenant.tzinfo),
    }


def register() -> None:
    register_nav("", "Overview", "dashboard:home", order=0)
    register_nav("Settings", "Organisation & policy", "dashboard:settings", order=900)
    register_nav("Settings", "Members", "dashboard:members", order=910)
    register_nav("Settings", "API keys", "dashboard:api-keys", min_role=ADMIN, order=920)
    register_nav("Settings", "Webhooks", "dashboard:webhooks", min_role=ADMIN, order=930)

    register_overview_panel(
        "policy", "Automation policy", "dashboard/panels/policy.html", policy_panel, order=800
    )
    register_overview_panel(
        "api-keys",
        "API keys",
        "dashboard/panels/api_keys.html",
        api_keys_panel,
        order=850,
        min_role=ADMIN,
    )
    register_overview_panel(
        "webhooks",
        "Webhook deliveries",
        "dashboard/panels/webhooks.html",
        webhooks_panel,
        order=900,
        min_role=ADMIN,
    )

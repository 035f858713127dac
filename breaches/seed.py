"""Demo breaches (run by ``manage.py seed_demo`` after the calls seed; idempotent).

* a contained high-risk incident that touched acme's calls only, notified to acme;
* a low-risk incident that touched no tenant's data, kept in the register only.
"""

from __future__ import annotations

from datetime import timedelta

from django.contrib.auth import get_user_model
from django.utils import timezone

from breaches import services
from breaches.models import BreachIncident
from calls.models import Call, Transcript
from portal.models import Tenant

HIGH_RISK_TITLE = "Call recordings readable through a misconfigured storage policy"
LOW_RISK_TITLE = "Encrypted support laptop lost (staff account data only)"
DPO_CONTACT = "Dana DPO, Data Protection Officer — dpo@platform.example, +49 30 555 0100"


def _acme_calls(acme: Tenant) -> list[Call]:
    calls = list(Call.objects.for_tenant(acme).order_by("-started_at", "-id")[:5])
    if calls:
        return calls
    now = timezone.now()
    for index in range(3):  # the calls seed made none: a few of our own
        call, created = Call.objects.get_or_create(
            tenant=acme,
            external_id=f"breach-demo-{index + 1}",
            defaults={
                "direction": Call.Direction.INBOUND,
                "caller": f"+4915112345{index:03d}",
                "callee": "+493012345678",
                "started_at": now - timedelta(days=2, hours=index),
                "duration_seconds": 180,
                "category": "support",
            },
        )
        if created:
            Transcript.objects.create(
                tenant=acme, call=call, language="de-DE", text="(demo transcript)"
            )
        calls.append(call)
    return calls


def _high_risk(acme: Tenant, dpo) -> None:
    now = timezone.now()
    incident = services.incident_open(
        title=HIGH_RISK_TITLE,
        description=(
            "A change to the object-storage access policy made recordings and transcripts "
            "readable to any authenticated cloud account for about 30 hours. Access logs show "
            "reads from one unknown account."
        ),
        occurred_from=now - timedelta(days=2),
        occurred_to=now - timedelta(hours=8),
        detected_at=now - timedelta(hours=8),
        became_aware_at=now - timedelta(hours=6),
        data_categories=["recordings", "transcripts", "numbers"],
        likely_consequences=(
            "Callers' voices, what they said and their numbers may be in unknown hands: risk of "
            "fraud, social engineering and loss of confidentiality."
        ),
        measures_taken="Policy reverted, cloud credentials rotated, access logs preserved.",
        measures_proposed="Policy changes need a second reviewer; an alert on public reads.",
        dpo_contact=DPO_CONTACT,
        opened_by=dpo,
    )
    services.incident_link_calls(incident=incident, call_ids=[c.pk for c in _acme_calls(acme)])
    services.incident_assess(
        incident=incident,
        risk_level="high",
        reasoning="Recordings of identifiable callers were read by an unknown party.",
        by=dpo,
    )
    services.incident_notify_tenants(incident=incident, by=dpo)
    services.incident_contain(incident=incident)


def _low_risk(dpo) -> None:
    now = timezone.now()
    incident = services.incident_open(
        title=LOW_RISK_TITLE,
        description="A support engineer's laptop was stolen from a car. Its disk is encrypted.",
        occurred_from=now - timedelta(days=10, hours=2),
        occurred_to=now - timedelta(days=10, hours=2),
        detected_at=now - timedelta(days=10),
        became_aware_at=now - timedelta(days=10),
        data_categories=["account_data"],
        likely_consequences="None expected: the data is unreadable without the key.",
        measures_taken="Device wiped remotely; the engineer's sessions and keys revoked.",
        dpo_contact=DPO_CONTACT,
        opened_by=dpo,
    )
    services.incident_assess(
        incident=incident,
        risk_level="unlikely",
        reasoning="Full-disk encryption with a strong passphrase; no tenant data on the device.",
        by=dpo,
    )
    services.incident_decide_authority_not_notified(
        incident=incident,
        reasoning="Unlikely to result in a risk (Art. 33(1)): the disk is encrypted and the key "
        "was not compromised.",
    )
    services.incident_decide_subjects_not_notified(
        incident=incident,
        ground="protected",
        reasoning="The data is unintelligible to anyone without the key (Art. 34(3)(a)).",
    )
    services.incident_close(incident=incident, note="Registered only; no notification needed.")


def seed(context: dict) -> None:
    acme = Tenant.objects.get(slug="acme")
    dpo = get_user_model().objects.filter(username="dpo").first()
    if not BreachIncident.objects.filter(title=HIGH_RISK_TITLE).exists():
        _high_risk(acme, dpo)
    if not BreachIncident.objects.filter(title=LOW_RISK_TITLE).exists():
        _low_risk(dpo)

from datetime import timedelta

import pytest
from django.utils import timezone

from breaches import services
from calls.models import Recording, Transcript
from tests.factories import CallFactory


def make_call(
    tenant,
    *,
    caller=None,
    callee="+4930123456",
    direction="inbound",
    started_at=None,
    recording=True,
    transcript=True,
):
    kwargs = {"tenant": tenant, "direction": direction, "callee": callee}
    if caller:
        kwargs["caller"] = caller
    if started_at:
        kwargs["started_at"] = started_at
    call = CallFactory(**kwargs)
    if recording:
        Recording.objects.create(
            tenant=tenant,
            call=call,
            file=f"tenants/{tenant.pk}/recordings/{call.pk}",
            content_type="audio/wav",
            size_bytes=1000,
            sha256="0" * 64,
        )
    if transcript:
        Transcript.objects.create(tenant=tenant, call=call, language="de-DE", text="Hallo")
    return call


@pytest.fixture
def call_factory(db):
    return make_call


def open_incident(**overrides):
    fields = {
        "title": "Recording store readable without authentication",
        "description": "A storage bucket holding call recordings was publicly readable.",
        "became_aware_at": timezone.now() - timedelta(hours=2),
        "detected_at": timezone.now() - timedelta(hours=3),
        "occurred_from": timezone.now() - timedelta(days=2),
        "occurred_to": timezone.now() - timedelta(hours=3),
        "data_categories": ["recordings", "numbers"],
        "likely_consequences": "Callers' voices and numbers may have been copied.",
        "measures_taken": "Bucket made private; access keys rotated.",
        "measures_proposed": "Bucket policy checks in CI.",
        "dpo_contact": "Dana DPO, dpo@platform.example, +49 30 1111",
    }
    fields.update(overrides)
    return services.incident_open(**fields)


@pytest.fixture
def incident(db):
    return open_incident()


@pytest.fixture
def two_tenant_incident(incident, tenant_a, tenant_b):
    """Linked to 3 calls of A (2 distinct callers) and 1 call of B."""
    calls = [
        make_call(tenant_a, caller="+4915100000001"),
        make_call(tenant_a, caller="+4915100000001", transcript=False),
        make_call(tenant_a, caller="+4915100000002", recording=False),
        make_call(tenant_b, caller="+353851234567"),
    ]
    services.incident_link_calls(incident=incident, call_ids=[c.pk for c in calls])
    return incident

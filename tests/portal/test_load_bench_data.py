import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from calls.models import Call, Recording
from consent.models import ConsentEvent, ConsentState
from consent.selectors import consent_check
from dsr.models import DataSubjectRequest
from portal.models import Tenant

pytestmark = pytest.mark.django_db


def load(**options):
    call_command("load_bench_data", "bench", **options)


def test_loads_every_kind_of_data_consistently_and_only_once(capsys):
    load(calls=300, consent_events=400, requests=6, recordings=3)
    tenant = Tenant.objects.get(slug="bench")
    assert Call.objects.for_tenant(tenant).count() == 300
    assert Recording.objects.for_tenant(tenant).count() == 3
    assert ConsentEvent.objects.for_tenant(tenant).count() == 400
    assert DataSubjectRequest.objects.for_tenant(tenant).count() == 6
    assert {r.kind for r in DataSubjectRequest.objects.for_tenant(tenant)} >= {"access", "erasure"}
    # Every call has at least one purpose; the state table answers the check for loaded numbers.
    assert not Call.objects.for_tenant(tenant).filter(purposes__isnull=True).exists()
    state = ConsentState.objects.for_tenant(tenant).first()
    answer = consent_check(tenant=tenant, number=state.number, purpose_code=state.purpose_code)
    assert answer.allowed == state.allowed and answer.event_id == state.event_id
    assert "300 calls" in capsys.readouterr().out

    load(calls=300, consent_events=400, requests=6, recordings=3)
    assert Call.objects.for_tenant(tenant).count() == 300
    assert ConsentEvent.objects.for_tenant(tenant).count() == 400
    assert DataSubjectRequest.objects.for_tenant(tenant).count() == 6
    assert Recording.objects.for_tenant(tenant).count() == 3


def test_refuses_impossible_options():
    with pytest.raises(CommandError, match="--recordings"):
        load(calls=2, recordings=3)
    with pytest.raises(CommandError, match="--calls"):
        load(calls=-1)

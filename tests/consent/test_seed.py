import pytest
from django.core.management import call_command

from consent.models import ConsentEvent, PrivacyNotice, Purpose
from consent.selectors import consent_check
from portal.models import Tenant

pytestmark = pytest.mark.django_db

EXPECTED = {
    ("service_delivery", "contract"),
    ("quality_assurance", "legitimate_interests"),
    ("complaint_handling", "legal_obligation"),
    ("marketing", "consent"),
    ("training", "consent"),
}


def test_seed_demo_gives_purposes_notices_and_histories_once():
    call_command("seed_demo", "--password", "pw")
    counts = ConsentEvent.objects.count(), PrivacyNotice.objects.count(), Purpose.objects.count()
    call_command("seed_demo", "--password", "pw")
    assert (
        ConsentEvent.objects.count(),
        PrivacyNotice.objects.count(),
        Purpose.objects.count(),
    ) == counts
    for slug, prefix in (("acme", "+49"), ("globex", "+353")):
        tenant = Tenant.objects.get(slug=slug)
        purposes = Purpose.objects.for_tenant(tenant)
        assert {(p.code, p.default_lawful_basis) for p in purposes} == EXPECTED
        events = ConsentEvent.objects.for_tenant(tenant)
        assert events.filter(action="withdrawn").exists()
        assert all(number.startswith(prefix) for number in events.values_list("number", flat=True))
        assert PrivacyNotice.objects.for_tenant(tenant).count() == 2
    acme = Tenant.objects.get(slug="acme")
    assert consent_check(acme, "030 901820 11", "marketing").allowed is False  # withdrew
    assert consent_check(acme, "030 901820 11", "training").allowed is True
    assert consent_check(acme, "089 2180 3344", "training").allowed is True  # gave again

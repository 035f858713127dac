import io

import pytest
from django.core.management import call_command

from breaches.models import BreachIncident, BreachNotification
from breaches.seed import HIGH_RISK_TITLE, LOW_RISK_TITLE

pytestmark = pytest.mark.django_db


def test_seed_demo_adds_the_two_breaches_once(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        call_command("seed_demo", "--password", "pw", stdout=io.StringIO())
    call_command("seed_demo", "--password", "pw", stdout=io.StringIO())
    high = BreachIncident.objects.get(title=HIGH_RISK_TITLE)
    assert (high.status, high.risk_level) == ("contained", "high")
    assert [i.tenant.slug for i in high.impacts.all()] == ["acme"]
    [notice] = BreachNotification.objects.filter(incident=high)
    assert notice.recipient == "tenant" and notice.tenant.slug == "acme"
    assert notice.emailed_at is not None
    low = BreachIncident.objects.get(title=LOW_RISK_TITLE)
    assert (low.status, low.risk_level) == ("closed", "unlikely")
    assert not low.impacts.exists() and not low.notifications.exists()
    assert low.authority_not_notified_reasoning and low.subjects_not_notified_ground
    assert BreachIncident.objects.count() == 2

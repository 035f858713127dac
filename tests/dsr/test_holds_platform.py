"""A legal hold the platform's staff placed is released only by the platform's staff; the
tenant reads it (with who placed it) and releases the holds it placed itself."""

import pytest

from calls.services.retention.holds import hold_release
from portal.errors import NotPermitted
from tests.factories import LegalHoldFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def platform_hold(tenant_a, dpo_user):
    return LegalHoldFactory(tenant=tenant_a, by=dpo_user, reason="Regulator's order 7/26.")


def assert_still_active(hold):
    hold.refresh_from_db()
    assert hold.released_at is None and hold.state() == "active"


def test_the_tenants_api_key_cannot_release_a_platform_hold(api_a, platform_hold):
    detail = api_a.get(f"/api/v1/holds/{platform_hold.pk}/").json()
    assert detail["placed_by_platform"] is True and detail["applied_by"] == "user:dpo"
    response = api_a.post(
        f"/api/v1/holds/{platform_hold.pk}/release/", {"reason": "Done."}, format="json"
    )
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "hold_placed_by_platform"
    assert_still_active(platform_hold)


def test_the_tenant_admin_reads_a_platform_hold_but_cannot_release_it(
    client, admin_a, platform_hold
):
    client.force_login(admin_a)
    page = client.get(f"/dashboard/erasure/holds/{platform_hold.pk}/").content.decode()
    assert "by the platform&#x27;s staff (dpo)" in page
    assert "only they can release it" in page
    assert f"/dashboard/erasure/holds/{platform_hold.pk}/release/" not in page
    listing = client.get("/dashboard/erasure/holds/").content.decode()
    assert "the platform&#x27;s staff (dpo)" in listing
    release = f"/dashboard/erasure/holds/{platform_hold.pk}/release/"
    assert client.get(release).status_code == 403
    assert client.post(release, {"reason": "We settled."}).status_code == 403
    assert_still_active(platform_hold)


def test_the_service_refuses_a_tenant_user_and_lets_staff_release(
    platform_hold, admin_a, support_user, dpo_user
):
    with pytest.raises(NotPermitted) as refused:
        hold_release(hold=platform_hold, reason="Settled.", by=admin_a)
    assert refused.value.code == "hold_placed_by_platform"
    assert_still_active(platform_hold)
    released = hold_release(hold=platform_hold, reason="Order lifted.", by=support_user)
    assert released.released_by == support_user


def test_a_hold_stays_the_platforms_after_its_author_left(platform_hold, dpo_user, key_a):
    dpo_user.is_active = False
    dpo_user.save()
    with pytest.raises(NotPermitted):
        hold_release(hold=platform_hold, reason="Settled.", api_key=key_a)


def test_the_tenant_releases_the_holds_it_placed(client, api_a, admin_a, tenant_a):
    client.force_login(admin_a)
    own = LegalHoldFactory(tenant=tenant_a, by=admin_a)
    page = client.get(f"/dashboard/erasure/holds/{own.pk}/").content.decode()
    assert f"/dashboard/erasure/holds/{own.pk}/release/" in page
    assert api_a.get(f"/api/v1/holds/{own.pk}/").json()["placed_by_platform"] is False
    response = api_a.post(f"/api/v1/holds/{own.pk}/release/", {"reason": "Won."}, format="json")
    assert response.status_code == 200 and response.json()["state"] == "released"

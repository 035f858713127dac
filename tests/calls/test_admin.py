"""Admin: number search in any format, filters, logged playback with a purpose, deletion through
the service with a confirmation page, read-only access log."""

import io
import re

import pytest
from django.contrib.admin.models import DELETION, LogEntry

from calls import services
from calls.models import Call, RecordingAccess
from tests.calls.conftest import stored_files
from tests.factories import CallFactory, PurposeFactory, RetentionRuleFactory

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/calls/call/"


@pytest.fixture
def staff(client, dpo_user):
    client.force_login(dpo_user)
    return client


def _with_recording(call, wav):
    services.recording_attach(call=call, file=io.BytesIO(wav), content_type="audio/wav")
    return call


@pytest.mark.parametrize(
    "written, irish_too",
    [("+49 30 1234567", False), ("0049301234567", False), ("030 1234567", True)],
)
def test_search_finds_a_number_in_any_format(staff, tenant_a, tenant_b, written, irish_too):
    hit = CallFactory(tenant=tenant_a, external_id="hit", caller="+49301234567")
    miss = CallFactory(tenant=tenant_a, external_id="miss", caller="+49301234568")
    # Written nationally, "030 1234567" is read in each tenant's own country: for the Irish
    # tenant it is +353 30 1234567. Written internationally it is only the German number.
    irish = CallFactory(tenant=tenant_b, external_id="irish", caller="+353301234567")
    page = staff.get(CHANGELIST, {"q": written}).content.decode()
    assert f"/{hit.pk}/change/" in page
    assert f"/{miss.pk}/change/" not in page
    assert (f"/{irish.pk}/change/" in page) is irish_too


def test_search_by_external_id(staff, tenant_a):
    call = CallFactory(tenant=tenant_a, external_id="crm-123")
    assert f"/{call.pk}/change/" in staff.get(CHANGELIST, {"q": "crm-123"}).content.decode()


def test_list_filters_and_flags(staff, tenant_a):
    purpose = PurposeFactory(tenant=tenant_a, code="marketing")
    RetentionRuleFactory(tenant=tenant_a, category="sales")
    flagged = CallFactory(tenant=tenant_a, category="sales", gate_flags=["marketing"])
    flagged.purposes.add(purpose)
    other = CallFactory(tenant=tenant_a, direction="outbound")
    page = staff.get(CHANGELIST).content.decode()
    assert "no basis: marketing" in page
    for params, shown, hidden in [
        ({"purpose": "marketing"}, flagged, other),
        ({"category": "sales"}, flagged, other),
        ({"direction": "outbound"}, other, flagged),
        ({"tenant__id__exact": tenant_a.pk}, flagged, None),
        ({"started_at__gte": "2000-01-01 00:00:00+00:00"}, flagged, None),
    ]:
        response = staff.get(CHANGELIST, params)
        assert response.status_code == 200, params
        text = response.content.decode()
        assert f"/{shown.pk}/change/" in text, params
        if hidden:
            assert f"/{hidden.pk}/change/" not in text, params


def test_the_list_stays_within_a_fixed_number_of_queries(
    staff, tenant_a, django_assert_max_num_queries
):
    purpose = PurposeFactory(tenant=tenant_a, code="service_delivery")
    for _ in range(40):
        CallFactory(tenant=tenant_a).purposes.add(purpose)
    staff.get(CHANGELIST)
    with django_assert_max_num_queries(16):
        assert staff.get(CHANGELIST).status_code == 200


def test_playing_needs_a_purpose_and_is_logged_once(staff, tenant_a, dpo_user, wav):
    call = _with_recording(CallFactory(tenant=tenant_a), wav)
    change = f"/admin/calls/call/{call.pk}/change/"
    page = staff.get(change).content.decode()
    assert "Play recording" in page and "<audio" not in page
    refused = staff.post(f"/admin/calls/call/{call.pk}/consult/", {"what": "recording"})
    assert refused.status_code == 302 and not RecordingAccess.objects.exists()
    response = staff.post(
        f"/admin/calls/call/{call.pk}/consult/",
        {"what": "recording", "purpose": "complaint", "details": "case 77"},
    )
    assert response.status_code == 302 and "consultation=" in response["Location"]
    page = staff.get(response["Location"]).content.decode()
    src = re.search(r'<audio[^>]*src="([^"]+)"', page).group(1)
    for _ in range(3):  # the player's (range) requests
        streamed = staff.get(src)
        assert streamed.status_code == 200
        assert b"".join(streamed.streaming_content) == wav
    access = RecordingAccess.objects.get()
    assert (access.user, access.how, access.what) == (dpo_user, "playback", "recording")
    assert access.purpose == "Handling a complaint: case 77"


def test_a_player_link_is_personal(staff, client, tenant_a, wav, support_user):
    call = _with_recording(CallFactory(tenant=tenant_a), wav)
    response = staff.post(
        f"/admin/calls/call/{call.pk}/consult/", {"what": "recording", "purpose": "quality_review"}
    )
    token = response["Location"].split("consultation=")[1]
    client.force_login(support_user)
    assert client.get(f"/admin/calls/call/{call.pk}/recording/{token}/").status_code == 404
    assert client.get(f"/admin/calls/call/{call.pk}/recording/forged/").status_code == 404


def test_reading_the_transcript_is_logged(staff, tenant_a):
    call = CallFactory(tenant=tenant_a)
    services.transcript_set(call=call, language="de", text="Rufen Sie mich zurück")
    assert "Rufen Sie" not in staff.get(f"/admin/calls/call/{call.pk}/change/").content.decode()
    response = staff.post(
        f"/admin/calls/call/{call.pk}/consult/",
        {"what": "transcript", "purpose": "other", "details": "audit"},
    )
    assert "Rufen Sie" in staff.get(response["Location"]).content.decode()
    assert RecordingAccess.objects.get().what == "transcript"


def test_support_may_not_play_a_restricted_call(client, support_user, tenant_a, wav):
    call = _with_recording(CallFactory(tenant=tenant_a, is_restricted=True), wav)
    client.force_login(support_user)
    response = client.post(
        f"/admin/calls/call/{call.pk}/consult/",
        {"what": "recording", "purpose": "quality_review"},
        follow=True,
    )
    assert "restricted" in response.content.decode()
    assert not RecordingAccess.objects.exists()


def test_the_stock_bulk_delete_is_gone(staff, tenant_a):
    CallFactory(tenant=tenant_a)
    page = staff.get(CHANGELIST).content.decode()
    assert 'value="delete_selected"' not in page and 'value="delete_calls"' in page


def test_delete_page_confirms_and_deletes_through_the_service(
    staff, tenant_a, wav, django_capture_on_commit_callbacks
):
    call = _with_recording(CallFactory(tenant=tenant_a), wav)
    url = f"/admin/calls/call/{call.pk}/delete/"
    confirm = staff.get(url)
    assert confirm.status_code == 200 and 'name="reason"' in confirm.content.decode()
    assert staff.post(url, {}).status_code == 200  # no reason: asked again
    assert Call.objects.filter(pk=call.pk).exists()
    with django_capture_on_commit_callbacks(execute=True):
        response = staff.post(url, {"reason": "ticket 9", "confirm": "yes"})
    assert response.status_code == 302
    assert not Call.objects.filter(pk=call.pk).exists() and stored_files() == []
    assert Call.history.filter(id=call.pk).first().history_change_reason == "admin: ticket 9"
    assert LogEntry.objects.filter(object_id=str(call.pk), action_flag=DELETION).exists()


def test_delete_action_skips_calls_under_their_minimum(staff, tenant_a):
    RetentionRuleFactory(
        tenant=tenant_a,
        category="complaint",
        min_age_days=1825,
        max_age_days=2190,
        legal_reference="§ 195 BGB",
    )
    kept = CallFactory(tenant=tenant_a, category="complaint")
    gone = CallFactory(tenant=tenant_a, category="support")
    selected = {"action": "delete_calls", "_selected_action": [kept.pk, gone.pk]}
    confirm = staff.post(CHANGELIST, selected)
    assert confirm.status_code == 200
    assert "1 of them must be kept" in confirm.content.decode()
    assert Call.objects.count() == 2
    response = staff.post(
        CHANGELIST, {**selected, "confirm": "yes", "reason": "cleanup"}, follow=True
    )
    text = response.content.decode()
    assert "Deleted 1 call(s)" in text and "§ 195 BGB" in text
    assert list(Call.objects.all()) == [kept]


def test_support_cannot_delete(client, support_user, tenant_a):
    call = CallFactory(tenant=tenant_a)
    client.force_login(support_user)
    assert client.post(f"/admin/calls/call/{call.pk}/delete/", {"reason": "x"}).status_code == 403
    assert Call.objects.filter(pk=call.pk).exists()


def test_access_log_and_history_pages(staff, tenant_a, wav):
    call = _with_recording(CallFactory(tenant=tenant_a), wav)
    call.purposes.add(PurposeFactory(tenant=tenant_a, code="quality_assurance"))
    services.recording_open(call=call, how="download", purpose="quality_assurance").file.close()
    access = RecordingAccess.objects.get()
    assert staff.get("/admin/calls/recordingaccess/").status_code == 200
    assert staff.get("/admin/calls/recordingaccess/add/").status_code == 403
    view = staff.get(f"/admin/calls/recordingaccess/{access.pk}/change/").content.decode()
    assert 'name="_save"' not in view
    assert staff.get(f"/admin/calls/call/{call.pk}/history/").status_code == 200


def test_retention_rules_are_edited_in_the_admin_through_the_service(staff, tenant_a):
    response = staff.post(
        "/admin/calls/retentionrule/add/",
        {"tenant": tenant_a.pk, "category": "sales", "max_age_days": 90, "legal_reference": ""},
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    bad = staff.post(
        "/admin/calls/retentionrule/add/",
        {"tenant": tenant_a.pk, "category": "complaint", "min_age_days": 10, "max_age_days": 20},
    )
    assert bad.status_code == 200 and "Art. 17(3) ground" in bad.content.decode()


def test_odd_ids_in_admin_urls_are_not_errors(staff):
    for url in (
        "/admin/calls/call/abc/change/",
        "/admin/calls/call/999999/change/",
        "/admin/calls/call/abc/delete/",
        "/admin/calls/call/abc/recording/token/",
    ):
        assert staff.get(url).status_code in (302, 404), url
    assert staff.post("/admin/calls/call/abc/consult/", {}).status_code == 404

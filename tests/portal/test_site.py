import pytest
from django.core.management import call_command

pytestmark = pytest.mark.django_db


def test_healthz_checks_the_database(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}


def test_healthz_reports_a_dead_database(client, monkeypatch):
    from django.db import connection

    def broken(*args, **kwargs):
        raise RuntimeError("database is down")

    monkeypatch.setattr(connection, "cursor", broken)
    response = client.get("/healthz")
    assert response.status_code == 503
    assert "down" in response.json()["database"]


def test_admin_login_page_is_branded(client):
    response = client.get("/admin/login/")
    assert response.status_code == 200
    assert "Call Privacy Portal" in response.content.decode()


def test_dashboard_login_and_redirects(client):
    response = client.get("/dashboard/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
    assert client.get("/accounts/login/").status_code == 200


def test_login_with_password_reaches_the_dashboard(client, admin_a, settings):
    settings.AXES_ENABLED = True
    response = client.post(
        "/accounts/login/", {"username": "admin-a", "password": "pw"}, follow=True
    )
    assert response.status_code == 200
    assert "Tenant A" in response.content.decode()


def test_repeated_failed_logins_lock_the_account(client, admin_a, settings):
    settings.AXES_ENABLED = True
    settings.AXES_FAILURE_LIMIT = 3
    for _ in range(3):
        client.post("/accounts/login/", {"username": "admin-a", "password": "wrong"})
    response = client.post("/accounts/login/", {"username": "admin-a", "password": "pw"})
    assert response.status_code == 429
    from axes.utils import reset

    reset()


def test_openapi_schema_is_valid(capsys):
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", "/dev/null")


def test_api_docs_and_schema_are_served(client):
    assert client.get("/api/docs/").status_code == 200
    schema = client.get("/api/schema/")
    assert schema.status_code == 200
    assert b"ApiKeyAuth" in schema.content


def test_unknown_api_path_is_json_404(api_a):
    response = api_a.get("/api/v1/webhooks/999999/")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_staff_without_membership_gets_a_clear_dashboard_page(client, dpo_user):
    client.force_login(dpo_user)
    response = client.get("/dashboard/")
    assert response.status_code == 403
    assert "DPO workplace" in response.content.decode()


def test_admin_home_shows_work_queues(client, dpo_user):
    client.force_login(dpo_user)
    response = client.get("/admin/")
    assert response.status_code == 200
    assert "Work queues" in response.content.decode()

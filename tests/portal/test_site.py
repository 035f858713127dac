import json
import os
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from django.core.management import call_command

from portal import views

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.django_db


def test_healthz_checks_the_database(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}


def test_healthz_reports_a_dead_database_without_details(client, monkeypatch, caplog):
    def broken():
        raise RuntimeError('connection to server at "db.internal" (10.1.2.3), port 5432 failed')

    monkeypatch.setattr(views, "_database_answers", broken)
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json() == {"status": "error", "database": "unavailable"}
    assert "db.internal" in caplog.text  # for the operator, in the server log


def test_healthz_does_not_wait_for_a_hanging_database(client, monkeypatch, settings):
    settings.HEALTHZ_TIMEOUT_SECONDS = 0.2
    release = threading.Event()
    monkeypatch.setattr(views, "_database_answers", lambda: release.wait(30))
    try:
        response = client.get("/healthz")
        assert response.status_code == 503
        assert response.json() == {"status": "error", "database": "unavailable"}
    finally:
        release.set()
        views._probe.done.wait(5)


def test_healthz_answers_503_at_once_when_postgres_is_unreachable(tmp_path):
    """A database host that accepts connections and never answers, and a closed port."""
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    closed_port = closed.getsockname()[1]
    closed.close()
    script = (
        "import django, json, time; django.setup()\n"
        "from django.test import Client\n"
        "started = time.monotonic()\n"
        "response = Client(HTTP_HOST='localhost').get('/healthz')\n"
        "print(json.dumps({'status': response.status_code, 'body': response.json(),"
        " 'seconds': time.monotonic() - started}))\n"
    )
    try:
        for port in (silent.getsockname()[1], closed_port):
            env = {
                **{k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "DEBUG")},
                "DEBUG": "1",
                "DJANGO_SETTINGS_MODULE": "portal.settings",
                "DATA_DIR": str(tmp_path / "data"),
                "DATABASE_URL": f"postgres://portal:secret@127.0.0.1:{port}/portal",
            }
            result = subprocess.run(
                [sys.executable, "-c", script],
                cwd=ROOT,
                env=env,
                capture_output=True,
                text=True,
                timeout=60,
            )
            assert result.returncode == 0, result.stderr
            answer = json.loads(result.stdout.strip().splitlines()[-1])
            assert answer["status"] == 503
            assert answer["body"] == {"status": "error", "database": "unavailable"}
            # Within HEALTHZ_TIMEOUT_SECONDS (1 s), with room for a busy machine; without the
            # limit the silent server would hold the request for the pool's 10 s.
            assert answer["seconds"] < 5
    finally:
        silent.close()


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

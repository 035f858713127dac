"""Production defaults are the secure ones (`check --deploy` is clean), and every page carries
a Content-Security-Policy."""

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from portal import config

ROOT = Path(__file__).resolve().parents[2]


def run_manage(args: list[str], env_overrides: dict, tmp_path) -> subprocess.CompletedProcess:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("SECURE_", "SESSION_", "CSRF_", "DJANGO_"))
        and k
        not in ("DATABASE_URL", "SECRET_KEY", "DEBUG", "ALLOWED_HOSTS", "PORTAL_KEYLESS_COMMAND")
    }
    env.update({"DATA_DIR": str(tmp_path / "data"), "DJANGO_SETTINGS_MODULE": "portal.settings"})
    env.update(env_overrides)
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_check_deploy_is_clean_with_only_the_required_variables(tmp_path):
    result = run_manage(
        ["check", "--deploy", "--fail-level", "WARNING"],
        {
            "SECRET_KEY": secrets.token_urlsafe(50),
            "ALLOWED_HOSTS": "portal.example.com",
            "CSRF_TRUSTED_ORIGINS": "https://portal.example.com",
        },
        tmp_path,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "WARNING" not in output and "no issues" in output


def test_a_short_secret_key_is_refused_in_production(monkeypatch, tmp_path):
    monkeypatch.setenv("SECRET_KEY", "k" * 49)
    with pytest.raises(ImproperlyConfigured, match="at least 50"):
        config.env_secret_key(debug=False, data_dir=tmp_path)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("X-Forwarded-Proto: https", ("HTTP_X_FORWARDED_PROTO", "https")),
        ("X-Forwarded-Ssl:on", ("HTTP_X_FORWARDED_SSL", "on")),
        ("", None),
    ],
)
def test_the_proxy_ssl_header_is_configurable(monkeypatch, raw, expected):
    monkeypatch.setenv("SECURE_PROXY_SSL_HEADER", raw)
    assert config.env_proxy_ssl_header("SECURE_PROXY_SSL_HEADER", "x") == expected


def test_a_malformed_proxy_ssl_header_fails_naming_it(monkeypatch):
    monkeypatch.setenv("SECURE_PROXY_SSL_HEADER", "https")
    with pytest.raises(ImproperlyConfigured, match="SECURE_PROXY_SSL_HEADER"):
        config.env_proxy_ssl_header("SECURE_PROXY_SSL_HEADER", "")


def assert_strict_csp(response):
    policy = response["Content-Security-Policy"]
    directives = dict(part.strip().split(" ", 1) for part in policy.split(";") if part.strip())
    assert directives["default-src"] == "'self'"
    assert directives["script-src"] == "'self'"  # no inline script
    assert directives["frame-ancestors"] == "'none'"
    assert directives["object-src"] == "'none'"
    assert response["X-Frame-Options"] == "DENY"


@pytest.mark.django_db
def test_admin_pages_carry_a_content_security_policy(client, dpo_user):
    assert_strict_csp(client.get("/admin/login/"))
    client.force_login(dpo_user)
    assert_strict_csp(client.get("/admin/"))
    assert_strict_csp(client.get("/admin/second-factor/enrol/", follow=True))


@pytest.mark.django_db
def test_dashboard_pages_carry_a_content_security_policy(client, admin_a):
    assert_strict_csp(client.get("/accounts/login/"))
    client.force_login(admin_a)
    assert_strict_csp(client.get("/dashboard/"))


def test_the_threat_model_covers_its_topics_and_names_real_settings():
    from django.conf import settings

    text = (ROOT / "docs" / "security.md").read_text()
    for heading in (
        "## Who can see what",
        "## Keys and secrets",
        "## Sessions and two-factor authentication",
        "## What is logged",
        "## How erasure is proven",
        "## Reporting a vulnerability",
    ):
        assert heading in text
    for name in (
        "STAFF_2FA_REQUIRED",
        "STAFF_SESSION_IDLE_MINUTES",
        "STAFF_SESSION_MAX_HOURS",
        "SECURE_PROXY_SSL_HEADER",
    ):
        assert name in text and hasattr(settings, name)

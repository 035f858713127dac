"""Settings are read from the environment; bad values stop start-up naming the variable."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from portal import config

ROOT = Path(__file__).resolve().parents[2]


def start_django(env_overrides: dict, tmp_path) -> subprocess.CompletedProcess:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DATABASE_URL", "SECRET_KEY", "DEBUG", "STORAGE_BACKEND", "CELERY_BROKER_URL")
    }
    env.update({"DATA_DIR": str(tmp_path / "data"), "DJANGO_SETTINGS_MODULE": "portal.settings"})
    env.update(env_overrides)
    return subprocess.run(
        [sys.executable, "-c", "import django; django.setup(); print('started')"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_defaults_start_with_sqlite_and_local_files(tmp_path):
    result = start_django({"DEBUG": "1"}, tmp_path)
    assert result.returncode == 0, result.stderr
    assert "started" in result.stdout


def test_missing_secret_key_without_debug_fails_naming_it(tmp_path):
    result = start_django({}, tmp_path)
    assert result.returncode != 0
    assert "SECRET_KEY is not set" in result.stderr


def test_malformed_database_url_fails_naming_it(tmp_path):
    result = start_django({"DEBUG": "1", "DATABASE_URL": "not-a-database"}, tmp_path)
    assert result.returncode != 0
    assert "DATABASE_URL is malformed" in result.stderr


def test_bad_boolean_fails_naming_it(tmp_path):
    result = start_django({"DEBUG": "maybe"}, tmp_path)
    assert result.returncode != 0
    assert "DEBUG must be a boolean" in result.stderr


def test_postgres_url_uses_psycopg_pool(monkeypatch, tmp_path):
    monkeypatch.setenv("DATABASE_URL", "postgres://portal:pw@db.internal:5433/portal")
    db = config.env_database("DATABASE_URL", tmp_path / "x.sqlite3")
    assert db["ENGINE"] == "django.db.backends.postgresql"
    assert (db["HOST"], db["PORT"], db["NAME"], db["USER"]) == (
        "db.internal",
        5433,
        "portal",
        "portal",
    )
    assert db["OPTIONS"]["pool"]["max_size"] == 10
    assert db["CONN_MAX_AGE"] == 0


def test_postgres_pool_can_be_turned_off(monkeypatch, tmp_path):
    monkeypatch.setenv("DATABASE_URL", "postgres://db/portal")
    monkeypatch.setenv("DATABASE_POOL", "0")
    db = config.env_database("DATABASE_URL", tmp_path / "x.sqlite3")
    assert "pool" not in db.get("OPTIONS", {})


@pytest.mark.parametrize(
    "url", ["postgres://db:notaport/portal", "mysql://db/portal", "postgres://db/"]
)
def test_bad_database_urls_are_refused(monkeypatch, tmp_path, url):
    monkeypatch.setenv("DATABASE_URL", url)
    with pytest.raises(ImproperlyConfigured, match="DATABASE_URL"):
        config.env_database("DATABASE_URL", tmp_path / "x.sqlite3")


def test_no_database_url_means_sqlite_under_data_dir(monkeypatch, tmp_path):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    db = config.env_database("DATABASE_URL", tmp_path / "data" / "portal.sqlite3")
    assert db["ENGINE"] == "django.db.backends.sqlite3"
    assert db["NAME"] == str(tmp_path / "data" / "portal.sqlite3")


def test_s3_storage_from_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("STORAGE_BACKEND", "s3")
    monkeypatch.setenv("STORAGE_S3_BUCKET", "recordings")
    monkeypatch.setenv("STORAGE_S3_ENDPOINT_URL", "http://127.0.0.1:9000")
    monkeypatch.setenv("STORAGE_S3_ACCESS_KEY_ID", "AK")
    monkeypatch.setenv("STORAGE_S3_SECRET_ACCESS_KEY", "SK")
    monkeypatch.setenv("STORAGE_S3_REGION", "eu-central-1")
    storages = config.env_storages(media_root=tmp_path)
    options = storages["default"]["OPTIONS"]
    assert storages["default"]["BACKEND"] == "storages.backends.s3.S3Storage"
    assert options["bucket_name"] == "recordings"
    assert options["endpoint_url"] == "http://127.0.0.1:9000"
    assert options["region_name"] == "eu-central-1"
    assert options["file_overwrite"] is False


def test_s3_storage_needs_a_bucket(monkeypatch, tmp_path):
    monkeypatch.setenv("STORAGE_BACKEND", "s3")
    monkeypatch.delenv("STORAGE_S3_BUCKET", raising=False)
    with pytest.raises(ImproperlyConfigured, match="STORAGE_S3_BUCKET"):
        config.env_storages(media_root=tmp_path)


def test_unknown_storage_backend_is_refused(monkeypatch, tmp_path):
    monkeypatch.setenv("STORAGE_BACKEND", "ftp")
    with pytest.raises(ImproperlyConfigured, match="STORAGE_BACKEND"):
        config.env_storages(media_root=tmp_path)


def test_short_secret_key_in_production_is_refused(monkeypatch, tmp_path):
    monkeypatch.setenv("SECRET_KEY", "short")
    with pytest.raises(ImproperlyConfigured, match="SECRET_KEY"):
        config.env_secret_key(debug=False, data_dir=tmp_path)


def test_debug_secret_key_is_kept_across_starts(monkeypatch, tmp_path):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    first = config.env_secret_key(debug=True, data_dir=tmp_path)
    assert first == config.env_secret_key(debug=True, data_dir=tmp_path)
    assert len(first) >= 50


def test_broker_url_switches_celery_out_of_process(tmp_path):
    code = (
        "import django; django.setup(); from django.conf import settings; "
        "print(settings.CELERY_TASK_ALWAYS_EAGER)"
    )
    env = {
        **os.environ,
        "DEBUG": "1",
        "DATA_DIR": str(tmp_path),
        "CELERY_BROKER_URL": "redis://127.0.0.1:6379/9",
    }
    env.pop("DATABASE_URL", None)
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert out.stdout.strip() == "False", out.stderr
    env.pop("CELERY_BROKER_URL")
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert out.stdout.strip() == "True", out.stderr


def test_inspection_commands_run_without_a_secret_key(tmp_path):
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DATABASE_URL", "SECRET_KEY", "DEBUG", "PORTAL_KEYLESS_COMMAND")
    }
    env["DATA_DIR"] = str(tmp_path / "data")
    env["DJANGO_SETTINGS_MODULE"] = "portal.settings"
    checked = subprocess.run(
        [sys.executable, "manage.py", "makemigrations", "--check", "--dry-run"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert checked.returncode == 0, checked.stderr
    assert "No changes detected" in checked.stdout
    # Anything that serves or touches data still refuses to start without it.
    migrate = subprocess.run(
        [sys.executable, "manage.py", "migrate", "--plan"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert migrate.returncode != 0
    assert "SECRET_KEY is not set" in migrate.stderr

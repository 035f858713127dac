"""Typed readers for environment variables.

Each reader raises ``ImproperlyConfigured`` naming the variable and what was wrong with it,
so that a bad deployment fails at start-up instead of at the first request.
"""

import os
import secrets
import warnings
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_str(name: str, default: str) -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (1/0, true/false, yes/no), got {raw!r}.")


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number, got {raw!r}.") from None


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None:
        return list(default)
    return [item.strip() for item in raw.split(",") if item.strip()]


def env_proxy_ssl_header(name: str, default: str) -> tuple[str, str] | None:
    """``"X-Forwarded-Proto: https"`` → Django's ``("HTTP_X_FORWARDED_PROTO", "https")``.

    Empty means no proxy header is trusted (the portal terminates TLS itself, or DEBUG).
    """
    raw = os.environ.get(name, default).strip()
    if not raw:
        return None
    header, sep, value = raw.partition(":")
    header, value = header.strip(), value.strip()
    if not sep or not header or not value or " " in header:
        raise ImproperlyConfigured(
            f"{name} must look like 'X-Forwarded-Proto: https' (or be empty), got {raw!r}."
        )
    return "HTTP_" + header.upper().replace("-", "_"), value


def env_secret_key(*, debug: bool, data_dir: Path) -> str:
    """SECRET_KEY is required in production; in debug a key is kept under the data folder."""
    key = os.environ.get("SECRET_KEY", "")
    if key:
        if not debug and len(key) < 50:
            raise ImproperlyConfigured("SECRET_KEY must be at least 50 characters long.")
        return key
    if not debug and os.environ.get("PORTAL_KEYLESS_COMMAND") == "1":
        # An inspection command (manage.py makemigrations/check/...): a throw-away key.
        return secrets.token_urlsafe(50)
    if not debug:
        raise ImproperlyConfigured(
            "SECRET_KEY is not set. Set SECRET_KEY to a long random string, or set DEBUG=1 "
            "for a local development setup."
        )
    path = data_dir / "secret_key"
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        data_dir.mkdir(parents=True, exist_ok=True)
        key = secrets.token_urlsafe(50)
        path.write_text(key)
        return key


_DB_ENGINES = {
    "django.db.backends.postgresql": "postgres",
    "django.db.backends.sqlite3": "sqlite",
}


def env_database(name: str, default_sqlite: Path) -> dict:
    """DATABASE_URL for PostgreSQL (with psycopg's connection pool) or SQLite."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        default_sqlite.parent.mkdir(parents=True, exist_ok=True)
        return {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": str(default_sqlite),
            "OPTIONS": {"timeout": 20},
            "TEST": {"NAME": None},
        }
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            config = environ.Env.db_url_config(raw)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} is malformed: {exc}.") from None
    engine = config.get("ENGINE", "")
    if engine not in _DB_ENGINES:
        raise ImproperlyConfigured(
            f"{name} is malformed or names an unsupported database: use "
            f"postgres://user:password@host:5432/dbname or sqlite:////path/to/file.sqlite3."
        )
    if not config.get("NAME"):
        raise ImproperlyConfigured(f"{name} must name a database, e.g. postgres://host/portal.")
    if _DB_ENGINES[engine] == "postgres":
        # A database that does not answer fails a connection attempt after this many seconds
        # instead of hanging the request (libpq counts at least 2).
        connect_timeout = env_int("DATABASE_CONNECT_TIMEOUT", 5)
        options = {"connect_timeout": connect_timeout}
        if env_bool("DATABASE_POOL", True):
            options["pool"] = {
                "min_size": env_int("DATABASE_POOL_MIN", 2),
                "max_size": env_int("DATABASE_POOL_MAX", 10),
                "timeout": max(connect_timeout, 10),
            }
        config["OPTIONS"] = {**config.get("OPTIONS", {}), **options}
        config["CONN_MAX_AGE"] = 0 if options else env_int("DATABASE_CONN_MAX_AGE", 60)
    return config


def env_storages(*, media_root: Path) -> dict:
    """Local files by default; S3-compatible object storage with STORAGE_BACKEND=s3."""
    backend = os.environ.get("STORAGE_BACKEND", "local").strip().lower()
    staticfiles = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}
    if backend == "local":
        return {
            "default": {
                "BACKEND": "django.core.files.storage.FileSystemStorage",
                "OPTIONS": {"location": str(media_root)},
            },
            "staticfiles": staticfiles,
        }
    if backend != "s3":
        raise ImproperlyConfigured(f"STORAGE_BACKEND must be 'local' or 's3', got {backend!r}.")
    bucket = os.environ.get("STORAGE_S3_BUCKET", "")
    if not bucket:
        raise ImproperlyConfigured("STORAGE_S3_BUCKET is required when STORAGE_BACKEND=s3.")
    options = {
        "bucket_name": bucket,
        "endpoint_url": os.environ.get("STORAGE_S3_ENDPOINT_URL") or None,
        "access_key": os.environ.get("STORAGE_S3_ACCESS_KEY_ID") or None,
        "secret_key": os.environ.get("STORAGE_S3_SECRET_ACCESS_KEY") or None,
        "region_name": os.environ.get("STORAGE_S3_REGION") or None,
        "addressing_style": os.environ.get("STORAGE_S3_ADDRESSING_STYLE") or None,
        # Never overwrite: every object gets a fresh random key (no personal data in keys).
        "file_overwrite": False,
        "default_acl": None,
        "querystring_auth": True,
        "querystring_expire": env_int("STORAGE_S3_URL_EXPIRE_SECONDS", 300),
    }
    return {
        "default": {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": {k: v for k, v in options.items() if v is not None},
        },
        "staticfiles": staticfiles,
    }

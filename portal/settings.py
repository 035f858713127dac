"""Settings, read from environment variables.

With nothing set the portal runs on one laptop: SQLite and local files under ``DATA_DIR``,
Celery tasks in-process, email to the console. Production is configured by environment
variables alone (see README.md and docs/deploy.md). Every reader below names its variable in
the error it raises, so a bad value fails at start-up with a message an operator can act on.
"""

from pathlib import Path

from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured

from portal.config import (
    env_bool,
    env_database,
    env_int,
    env_list,
    env_secret_key,
    env_storages,
    env_str,
)

BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = Path(env_str("DATA_DIR", str(BASE_DIR / "data"))).resolve()

DEBUG = env_bool("DEBUG", False)
SECRET_KEY = env_secret_key(debug=DEBUG, data_dir=DATA_DIR)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "portal.apps.PortalAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "guardian",
    "simple_history",
    "axes",
    "portal.apps.PortalConfig",
    "calls.apps.CallsConfig",
    "consent.apps.ConsentConfig",
    "dsr.apps.DsrConfig",
    "breaches.apps.BreachesConfig",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "portal.middleware.ActorMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "portal.urls"
WSGI_APPLICATION = "portal.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "portal.context_processors.dashboard",
            ],
        },
    },
]

DATABASES = {"default": env_database("DATABASE_URL", DATA_DIR / "portal.sqlite3")}
# psycopg's pool keeps connections itself; Django's persistent connections must be off.
if "pool" in DATABASES["default"].get("OPTIONS", {}):
    DATABASES["default"]["CONN_MAX_AGE"] = 0
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

CACHE_URL = env_str("CACHE_URL", "")
if CACHE_URL:
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": CACHE_URL}
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
    "guardian.backends.ObjectPermissionBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "dashboard:home"
LOGOUT_REDIRECT_URL = "login"

# Login throttling (django-axes): lock a username+IP pair after repeated failures.
AXES_ENABLED = env_bool("AXES_ENABLED", True)
AXES_FAILURE_LIMIT = env_int("AXES_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = env_int("AXES_COOLOFF_MINUTES", 15) / 60
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True

# django-guardian: object permissions live in direct-FK tables (portal.TenantUserObjectPermission).
ANONYMOUS_USER_NAME = None
GUARDIAN_RAISE_403 = False

LANGUAGE_CODE = "en"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = DATA_DIR / "static"
MEDIA_ROOT = DATA_DIR / "media"
MEDIA_URL = "media/"
STORAGES = env_storages(media_root=MEDIA_ROOT)
# Call recordings: upload size limit, and the content types accepted (anything else is a 415).
RECORDING_MAX_BYTES = env_int("RECORDING_MAX_BYTES", 200 * 1024 * 1024)
RECORDING_CONTENT_TYPES = env_list(
    "RECORDING_CONTENT_TYPES",
    [
        "audio/wav",
        "audio/x-wav",
        "audio/mpeg",
        "audio/ogg",
        "audio/opus",
        "audio/flac",
        "audio/webm",
        "audio/mp4",
    ],
)

# Celery: with no broker configured, tasks run in-process (eagerly) so the laptop setup needs
# no services. Separate workers and beat are used as soon as CELERY_BROKER_URL is set.
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", "")
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_RESULT_BACKEND = env_str("CELERY_RESULT_BACKEND", "") or None
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "UTC"
# Every periodic task of the project, in one place (run by `celery -A portal beat`).
CELERY_BEAT_SCHEDULE: dict = {
    "webhook-retry-due": {"task": "portal.tasks.webhook_retry_due", "schedule": 60.0},
    "breach-notices-sweep": {"task": "breaches.tasks.breach_notices_sweep", "schedule": 300.0},
    "calls-retention-sweep": {
        "task": "calls.tasks.retention_sweep",
        "schedule": crontab(hour=2, minute=15),  # daily, at night (UTC)
    },
    "calls-file-deletions-retry": {
        "task": "calls.tasks.file_deletions_retry",
        "schedule": 600.0,
    },
    "dsr-reminders": {"task": "dsr.tasks.reminders_send", "schedule": 15 * 60.0},
    "dsr-package-expiry": {"task": "dsr.tasks.package_expire_due", "schedule": 60 * 60.0},
}
WEBHOOK_MAX_ATTEMPTS = env_int("WEBHOOK_MAX_ATTEMPTS", 7)
WEBHOOK_TIMEOUT_SECONDS = env_int("WEBHOOK_TIMEOUT_SECONDS", 10)
# Plain http and private addresses are for local development only (SSRF protection).
WEBHOOK_ALLOW_HTTP = env_bool("WEBHOOK_ALLOW_HTTP", DEBUG)
WEBHOOK_ALLOW_PRIVATE_HOSTS = env_bool("WEBHOOK_ALLOW_PRIVATE_HOSTS", DEBUG)

EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "privacy-portal@localhost")
SMS_BACKEND = env_str("SMS_BACKEND", "portal.sms.ConsoleSmsBackend")

# Breaches: our own target for telling affected tenants, in hours from awareness (Art. 33(2)
# "without undue delay"); the 72 hours of Art. 33(1) are fixed by law, not a setting.
BREACH_TENANT_NOTICE_TARGET_HOURS = env_int("BREACH_TENANT_NOTICE_TARGET_HOURS", 24)
if not 1 <= BREACH_TENANT_NOTICE_TARGET_HOURS <= 72:
    raise ImproperlyConfigured("BREACH_TENANT_NOTICE_TARGET_HOURS must be between 1 and 72.")

if not DEBUG:
    SESSION_COOKIE_SECURE = env_bool("SECURE_COOKIES", True)
    CSRF_COOKIE_SECURE = env_bool("SECURE_COOKIES", True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "SAMEORIGIN"

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "portal.api.authentication.ApiKeyAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["portal.api.permissions.TenantRolePermission"],
    "DEFAULT_PAGINATION_CLASS": "portal.api.pagination.PortalPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_THROTTLE_CLASSES": ["portal.api.throttling.TenantRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {"tenant": env_str("API_THROTTLE_RATE", "12000/min")},
    "EXCEPTION_HANDLER": "portal.api.exceptions.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Call Privacy Portal API",
    "DESCRIPTION": (
        "GDPR compliance API for recorded calls: calls and recordings, consent and the "
        "call-time consent check, data-subject requests, legal holds, breach notices and "
        "webhooks. Authenticate with `Authorization: Api-Key <key>`. Errors have one shape: "
        '`{"error": {"code": ..., "message": ..., "fields": {field: [messages]}}}`.'
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "ENUM_NAME_OVERRIDES": {
        "LawfulBasisEnum": "consent.models.LawfulBasis",
        "RequestKindEnum": "dsr.models.RequestKind",
        "RequestStatusEnum": "dsr.models.RequestStatus",
        "NoticeKindEnum": "dsr.models.SubjectNotice.Kind",
        "PackageStatusEnum": "dsr.models.AccessPackage.Status",
    },
}

# History is evidence: never revert an object to an old version from the admin (it could also
# bring back personal data that an erasure removed).
SIMPLE_HISTORY_REVERT_DISABLED = True
SIMPLE_HISTORY_HISTORY_CHANGE_REASON_USE_TEXT_FIELD = True

# Data-subject requests: how long an access/portability package can be downloaded before it is
# deleted, and the processor's name as the cover letter gives it.
PACKAGE_TTL_DAYS = env_int("PACKAGE_TTL_DAYS", 14)
if PACKAGE_TTL_DAYS < 1:
    raise ImproperlyConfigured(f"PACKAGE_TTL_DAYS must be at least 1, got {PACKAGE_TTL_DAYS}.")
PLATFORM_NAME = env_str("PLATFORM_NAME", "The telephony platform operating this portal")

# Keyed hash for erasure tombstones (HMAC); defaults to SECRET_KEY-derived when unset.
TOMBSTONE_KEY = env_str("TOMBSTONE_KEY", "") or f"tombstone:{SECRET_KEY}"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {"axes": {"level": "WARNING"}},
}

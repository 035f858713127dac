"""Settings, read from environment variables.

With nothing set the portal runs on one laptop: SQLite and local files under ``DATA_DIR``,
Celery tasks in-process, email to the console. Production is configured by environment
variables alone (see README.md and docs/deploy.md). Every reader below names its variable in
the error it raises, so a bad value fails at start-up with a message an operator can act on.
"""

from pathlib import Path

from celery.schedules import crontab
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured

from portal.config import (
    env_bool,
    env_database,
    env_int,
    env_list,
    env_proxy_ssl_header,
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
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "csp",
    "portal.apps.PortalConfig",
    "calls.apps.CallsConfig",
    "consent.apps.ConsentConfig",
    "dsr.apps.DsrConfig",
    "breaches.apps.BreachesConfig",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "portal.middleware.ApiErrorShapeMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "portal.middleware.StaffSessionMiddleware",
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
# /healthz answers within this many seconds, however the database fails.
HEALTHZ_TIMEOUT_SECONDS = env_int("HEALTHZ_TIMEOUT_SECONDS", 1)
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
    # Erasure: deferred items whose reason ended (a hold expired, a minimum retention period
    # over) are erased; erasures whose work died are started again.
    "dsr-erasure-deferred": {"task": "dsr.tasks.erasure_deferred_resume", "schedule": 15 * 60.0},
    "dsr-erasure-stuck": {"task": "dsr.tasks.erasure_resume_stuck", "schedule": 5 * 60.0},
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

# Staff accounts read every tenant's calls: a second factor (TOTP from django-otp, or a
# single-use recovery code) after the password, and sessions that end when idle and after a
# working day at most (Art. 32(1)(b): confidentiality of processing systems).
STAFF_2FA_REQUIRED = env_bool("STAFF_2FA_REQUIRED", True)
STAFF_SESSION_IDLE_MINUTES = env_int("STAFF_SESSION_IDLE_MINUTES", 60)
STAFF_SESSION_MAX_HOURS = env_int("STAFF_SESSION_MAX_HOURS", 12)
if STAFF_SESSION_IDLE_MINUTES < 1 or STAFF_SESSION_MAX_HOURS < 1:
    raise ImproperlyConfigured(
        "STAFF_SESSION_IDLE_MINUTES and STAFF_SESSION_MAX_HOURS must be at least 1."
    )
STAFF_RECOVERY_CODES = 10
OTP_TOTP_ISSUER = env_str("OTP_TOTP_ISSUER", "Call Privacy Portal")

# HTTPS everywhere unless DEBUG: the defaults pass `manage.py check --deploy` with only
# DEBUG, SECRET_KEY, ALLOWED_HOSTS and CSRF_TRUSTED_ORIGINS set (docs/deploy.md).
SESSION_COOKIE_SECURE = env_bool("SECURE_COOKIES", not DEBUG)
CSRF_COOKIE_SECURE = env_bool("SECURE_COOKIES", not DEBUG)
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG)
# Load balancers probe over plain http inside the network.
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 365 * 24 * 3600)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", True)
# The header (and value) by which the reverse proxy says the request came over https, e.g.
# "X-Forwarded-Proto: https" (the default unless DEBUG); empty when nothing sits in front.
SECURE_PROXY_SSL_HEADER = env_proxy_ssl_header(
    "SECURE_PROXY_SSL_HEADER", "" if DEBUG else "X-Forwarded-Proto: https"
)
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
# Content-Security-Policy (django-csp): our own scripts, styles and images only; no inline
# script, no framing, forms post back to us.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "frame-ancestors": [NONE],
        "form-action": [SELF],
    },
}

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
    "DEFAULT_PARSER_CLASSES": [
        # JSON only: the recording upload declares multipart itself.
        "portal.api.parsers.BoundedJSONParser",
    ],
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
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "portal.api.schema.add_error_responses",
    ],
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
# An erasure whose work shows no progress for this long is started again (its task died).
ERASURE_STUCK_AFTER_MINUTES = env_int("ERASURE_STUCK_AFTER_MINUTES", 30)
if ERASURE_STUCK_AFTER_MINUTES < 1:
    raise ImproperlyConfigured(
        f"ERASURE_STUCK_AFTER_MINUTES must be at least 1, got {ERASURE_STUCK_AFTER_MINUTES}."
    )

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {"axes": {"level": "WARNING"}},
}

"""Settings for the test suite: the real settings, with a test key and fast hashing.

``DATABASE_URL`` still selects PostgreSQL, exactly as in production.
"""

import os

os.environ.setdefault(
    "SECRET_KEY", "test-secret-key-not-for-production-0123456789-abcdefghijklmnop"
)
os.environ.setdefault("WEBHOOK_ALLOW_HTTP", "1")
os.environ.setdefault("WEBHOOK_ALLOW_PRIVATE_HOSTS", "1")

from portal.settings import *  # noqa: E402,F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
AXES_ENABLED = False
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
SMS_BACKEND = "portal.sms.MemorySmsBackend"
SECURE_PROXY_SSL_HEADER = None
SECURE_SSL_REDIRECT = False
SECURE_HSTS_SECONDS = 0
SESSION_COOKIE_SECURE = False
CSRF_COOKIE_SECURE = False

import pytest
from django.conf import settings as django_settings
from django.test import Client
from rest_framework.test import APIClient

from portal import services
from portal.access import DPO_GROUP, SUPPORT_GROUP
from tests.factories import ApiKeyFactory, MembershipFactory, TenantFactory, UserFactory


@pytest.fixture(autouse=True)
def _fast_and_isolated(settings, tmp_path):
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path / "media")},
        },
    }
    settings.MEDIA_ROOT = str(tmp_path / "media")


_plain_force_login = Client.force_login


@pytest.fixture(autouse=True)
def _staff_force_login_passes_second_factor(monkeypatch):
    """``client.force_login(staff)`` logs staff in as they really do: then with a TOTP code.

    Staff need their second factor for anything (``STAFF_2FA_REQUIRED``); the code is
    computed from the user's device (tests/two_factor.py) and typed into the real page.
    """
    from tests.two_factor import pass_second_factor

    def force_login(client, user, backend=None):
        _plain_force_login(client, user, backend)
        if user.is_staff and django_settings.STAFF_2FA_REQUIRED:
            pass_second_factor(client, user)

    monkeypatch.setattr(Client, "force_login", force_login)


@pytest.fixture
def tenant_a(db):
    return TenantFactory(slug="tenant-a", name="Tenant A", country="DE")


@pytest.fixture
def tenant_b(db):
    return TenantFactory(slug="tenant-b", name="Tenant B", country="IE", timezone="Europe/Dublin")


def make_member(tenant, role="admin", username=None):
    kwargs = {"username": username} if username else {}
    user = UserFactory(**kwargs)
    MembershipFactory(user=user, tenant=tenant, role=role)
    return user


@pytest.fixture
def member_factory(db):
    return make_member


@pytest.fixture
def admin_a(tenant_a):
    return make_member(tenant_a, "admin", "admin-a")


@pytest.fixture
def viewer_a(tenant_a):
    return make_member(tenant_a, "viewer", "viewer-a")


@pytest.fixture
def admin_b(tenant_b):
    return make_member(tenant_b, "admin", "admin-b")


@pytest.fixture
def dpo_user(db):
    return services.staff_user_create(username="dpo", group=DPO_GROUP, password="pw")


@pytest.fixture
def support_user(tenant_a):
    user = services.staff_user_create(username="support", group=SUPPORT_GROUP, password="pw")
    services.support_assign(user=user, tenant=tenant_a)
    return user


@pytest.fixture
def key_a(tenant_a, admin_a):
    return ApiKeyFactory(tenant=tenant_a, created_by=admin_a)


@pytest.fixture
def key_b(tenant_b, admin_b):
    return ApiKeyFactory(tenant=tenant_b, created_by=admin_b)


def api_client_for(api_key) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {api_key.clear_key}")
    return client


@pytest.fixture
def api_a(key_a):
    return api_client_for(key_a)


@pytest.fixture
def api_b(key_b):
    return api_client_for(key_b)


class _Receiver:
    """A real HTTP endpoint on loopback that records what it receives."""

    def __init__(self):
        import http.server
        import threading

        self.requests: list[dict] = []
        self.statuses: list[int] = []  # statuses to answer with, in order; then 200
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get("Content-Length", 0))
                body = self.rfile.read(length)
                receiver.requests.append(
                    {"headers": dict(self.headers), "body": body, "path": self.path}
                )
                status = receiver.statuses.pop(0) if receiver.statuses else 200
                self.send_response(status)
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def webhook_receiver():
    receiver = _Receiver()
    yield receiver
    receiver.close()

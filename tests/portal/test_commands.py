import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError

from portal.access import visible_tenants
from portal.models import Membership, Tenant

pytestmark = pytest.mark.django_db


def test_create_tenant(capsys):
    call_command("create_tenant", "initech", "--name", "Initech", "--country", "fr")
    tenant = Tenant.objects.get(slug="initech")
    assert (tenant.name, tenant.country) == ("Initech", "FR")
    assert "Created tenant initech" in capsys.readouterr().out
    assert tenant.history.latest().history_actor == "command:create_tenant"


def test_create_tenant_refuses_duplicates_and_bad_countries():
    call_command("create_tenant", "initech", "--name", "Initech")
    with pytest.raises(CommandError, match="exists already"):
        call_command("create_tenant", "initech", "--name", "Again")
    with pytest.raises(CommandError, match="country"):
        call_command("create_tenant", "other", "--name", "Other", "--country", "Germany")
    assert Tenant.objects.count() == 1


def test_create_api_key_prints_the_key_alone_on_the_last_line(capsys):
    call_command("create_tenant", "initech", "--name", "Initech")
    capsys.readouterr()
    call_command("create_api_key", "initech", "--name", "pbx")
    out = capsys.readouterr().out
    last = out.strip().splitlines()[-1]
    assert last.startswith("cpp_") and " " not in last


def test_seed_demo_is_idempotent_and_sets_up_roles(capsys):
    call_command("seed_demo", "--password", "pw1")
    call_command("seed_demo", "--password", "pw1")
    assert set(Tenant.objects.values_list("slug", flat=True)) == {"acme", "globex"}
    assert Tenant.objects.get(slug="acme").country == "DE"
    assert Tenant.objects.get(slug="globex").country == "IE"
    users = get_user_model().objects
    assert users.get(username="dpo").groups.filter(name="DPO").exists()
    support = users.get(username="support")
    assert [t.slug for t in visible_tenants(support)] == ["acme"]
    assert Membership.objects.get(user__username="acme-admin").role == "admin"
    assert Membership.objects.get(user__username="acme-viewer").role == "viewer"
    assert Membership.objects.get(user__username="globex-admin").tenant.slug == "globex"
    assert users.get(username="acme-admin").check_password("pw1")
    out = capsys.readouterr().out
    assert "dpo" in out
    assert "manage.py totp_code dpo" in out

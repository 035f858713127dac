"""Support sees nothing of the tenants it does not serve: not their names, not their users,
not their numbers — in no changelist, list filter, add form or autocomplete of the admin."""

import pytest
from django.contrib.admin.utils import get_fields_from_path
from django.core.exceptions import FieldDoesNotExist

from portal import services
from portal.access import SUPPORT_GROUP
from portal.models import Tenant
from tests.admin_walk import ADMIN_FACTORIES, admin_base, make_object, registered_admins
from tests.factories import CallFactory, MembershipFactory, TenantFactory, UserFactory

pytestmark = pytest.mark.django_db

FOREIGN_NAME = "Quokka Industries"
FOREIGN_SLUG = "quokka-industries"
FOREIGN_USER = "quokka-owner"
FOREIGN_PERSON = "Quirinus Quokkason"
FOREIGN_NUMBER = "+353861234567"


@pytest.fixture
def foreign(db):
    """A tenant support does not serve, with data in every model of the admin."""
    tenant = TenantFactory(slug=FOREIGN_SLUG, name=FOREIGN_NAME, legal_name=f"{FOREIGN_NAME} Ltd")
    owner = UserFactory(username=FOREIGN_USER, first_name="Quirinus", last_name="Quokkason")
    MembershipFactory(user=owner, tenant=tenant, role="owner")
    CallFactory(tenant=tenant, caller=FOREIGN_NUMBER)
    for model in ADMIN_FACTORIES:
        make_object(model, tenant)
    return tenant


def autocomplete_urls() -> list[str]:
    urls = []
    for model, model_admin in registered_admins():
        sources = [(model, model_admin.autocomplete_fields)]
        sources += [(inline.model, inline.autocomplete_fields) for inline in model_admin.inlines]
        for source_model, fields in sources:
            for name in fields:
                opts = source_model._meta
                urls.append(
                    f"/admin/autocomplete/?app_label={opts.app_label}"
                    f"&model_name={opts.model_name}&field_name={name}&term="
                )
    return urls


def tenant_filter_urls(tenant) -> list[str]:
    """Each changelist filtered on the foreign tenant, by every filter that names tenants."""
    urls = []
    for model, model_admin in registered_admins():
        for entry in model_admin.list_filter:
            name = entry[0] if isinstance(entry, (tuple, list)) else entry
            if not isinstance(name, str):
                continue
            try:
                field = get_fields_from_path(model, name)[-1]
            except (FieldDoesNotExist, LookupError):
                continue
            if field.is_relation and field.related_model is Tenant:
                urls.append(f"{admin_base(model)}?{name}__id__exact={tenant.pk}")
    return urls


def pages(tenant) -> list[str]:
    urls = ["/admin/"]
    for model, _ in registered_admins():
        base = admin_base(model)
        urls += [base, f"{base}?_facets=True", f"{base}add/"]
    return urls + tenant_filter_urls(tenant) + autocomplete_urls()


def leaks(body: str) -> list[str]:
    secrets = [FOREIGN_NAME, FOREIGN_SLUG, FOREIGN_USER, FOREIGN_PERSON, "Quokkason"]
    secrets += [FOREIGN_NUMBER, FOREIGN_NUMBER[1:], "861234567"]
    return [secret for secret in secrets if secret in body]


def test_the_crawl_covers_filters_and_autocompletes(tenant_a):
    assert len(tenant_filter_urls(tenant_a)) >= 5
    assert any("field_name=user" in url for url in autocomplete_urls())
    assert any("field_name=tenant" in url for url in autocomplete_urls())


def test_support_sees_no_other_tenant_in_any_admin_page(client, support_user, tenant_a, foreign):
    for model in ADMIN_FACTORIES:
        make_object(model, tenant_a)  # so that every list has rows and filters have choices
    client.force_login(support_user)
    read = 0
    for url in pages(foreign):
        response = client.get(url)
        if response.status_code != 200:
            assert response.status_code in (302, 403, 404), (url, response.status_code)
            continue
        read += 1
        found = leaks(response.content.decode())
        assert not found, f"{url} shows {found}"
    assert read >= 40


def test_the_dpo_sees_every_tenant(client, dpo_user, foreign):
    client.force_login(dpo_user)
    assert FOREIGN_NAME in client.get("/admin/calls/call/").content.decode()
    assert FOREIGN_USER in client.get("/admin/auth/user/").content.decode()


def test_support_lists_only_the_users_of_its_tenants_and_the_staff(
    client, support_user, tenant_a, foreign
):
    colleague = services.staff_user_create(username="colleague", group=SUPPORT_GROUP, password="pw")
    own = UserFactory(username="member-of-a")
    MembershipFactory(user=own, tenant=tenant_a)
    client.force_login(support_user)
    body = client.get("/admin/auth/user/").content.decode()
    assert own.username in body and colleague.username in body
    assert FOREIGN_USER not in body
    owner = type(own).objects.get(username=FOREIGN_USER)
    assert client.get(f"/admin/auth/user/{owner.pk}/change/").status_code in (302, 404)


def test_support_filter_names_only_its_tenants(client, support_user, tenant_a, tenant_b, foreign):
    tenant_c = TenantFactory(slug="tenant-c", name="Tenant C")
    services.support_assign(user=support_user, tenant=tenant_c)
    client.force_login(support_user)
    body = client.get("/admin/portal/apikey/").content.decode()
    assert tenant_a.name in body and tenant_c.name in body  # the filter is shown
    assert tenant_b.name not in body and FOREIGN_NAME not in body

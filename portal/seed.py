"""Demo tenants and users (run by ``manage.py seed_demo``; idempotent)."""

from django.contrib.auth import get_user_model

from portal.access import DPO_GROUP, SUPPORT_GROUP
from portal.models import Tenant
from portal.services import membership_set, staff_user_create, support_assign, tenant_create

DEMO_TENANTS = [
    {
        "slug": "acme",
        "name": "Acme Telecom Services",
        "country": "DE",
        "timezone": "Europe/Berlin",
        "legal_name": "Acme Telecom Services GmbH",
        "address": "Friedrichstraße 100, 10117 Berlin, Germany",
        "privacy_contact_email": "privacy@acme.example",
        "supervisory_authority": "Berliner Beauftragte für Datenschutz und Informationsfreiheit",
    },
    {
        "slug": "globex",
        "name": "Globex Support",
        "country": "IE",
        "timezone": "Europe/Dublin",
        "legal_name": "Globex Support Ltd",
        "address": "1 Grand Canal Square, Dublin 2, Ireland",
        "privacy_contact_email": "dpo@globex.example",
        "supervisory_authority": "Data Protection Commission (Ireland)",
    },
]


def _customer(username: str, password: str):
    user_model = get_user_model()
    user, _ = user_model.objects.get_or_create(
        username=username, defaults={"email": f"{username}@example.com"}
    )
    user.set_password(password)
    user.save()
    return user


def seed(context: dict) -> None:
    password = context["password"]
    tenants = {}
    for spec in DEMO_TENANTS:
        tenant = Tenant.objects.filter(slug=spec["slug"]).first()
        tenants[spec["slug"]] = tenant or tenant_create(**spec)
    staff_user_create(
        username="dpo",
        group=DPO_GROUP,
        password=password,
        email="dpo@platform.example",
        first_name="Dana",
        last_name="DPO",
    )
    support = staff_user_create(
        username="support",
        group=SUPPORT_GROUP,
        password=password,
        email="support@platform.example",
        first_name="Sam",
        last_name="Support",
    )
    support_assign(user=support, tenant=tenants["acme"])
    membership_set(user=_customer("acme-admin", password), tenant=tenants["acme"], role="admin")
    membership_set(user=_customer("acme-viewer", password), tenant=tenants["acme"], role="viewer")
    membership_set(user=_customer("globex-admin", password), tenant=tenants["globex"], role="admin")
    # An external privacy consultant serving both customers: the dashboard's tenant switcher.
    consultant = _customer("consultant", password)
    membership_set(user=consultant, tenant=tenants["acme"], role="agent")
    membership_set(user=consultant, tenant=tenants["globex"], role="agent")

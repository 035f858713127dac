"""The admin walk: every registered ModelAdmin, and a way to create any tenant's object of it.

``ADMIN_FACTORIES`` extends ``tests.factories.MODEL_FACTORIES`` with the admin's models that
are not tenant-owned rows (tenants themselves, user accounts); ``PLATFORM_MODELS`` lists those
that belong to no tenant at all (the DPO's alone). A model registered in the admin and in
neither fails ``test_every_registered_model_has_a_factory``, so a new admin page cannot be
forgotten by the scoping suites.
"""

from __future__ import annotations

from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from portal.models import Tenant
from tests.factories import MODEL_FACTORIES, MembershipFactory, UserFactory


def _tenant_itself(tenant):
    return tenant


def _member_of(tenant):
    user = UserFactory(first_name="Quintus", last_name=f"Member of {tenant.slug}")
    MembershipFactory(user=user, tenant=tenant)
    return user


ADMIN_FACTORIES: dict = {
    **MODEL_FACTORIES,
    Tenant: _tenant_itself,
    get_user_model(): _member_of,
}

# Registered in the admin, owned by no tenant: only the DPO sees them.
PLATFORM_MODELS = {Group, AccessAttempt, AccessLog, AccessFailureLog}


def registered_admins() -> list:
    return sorted(admin.site._registry.items(), key=lambda item: item[0]._meta.label)


def has_history(model) -> bool:
    return getattr(model._meta, "simple_history_manager_attribute", None) is not None


def make_object(model, tenant):
    return ADMIN_FACTORIES[model](tenant=tenant)


def admin_base(model) -> str:
    return f"/admin/{model._meta.app_label}/{model._meta.model_name}/"


def history_of(obj):
    model = type(obj)
    return model.history.filter(**{model._meta.pk.attname: obj.pk})


def snapshot(obj) -> tuple:
    """The object's row and its number of historical rows: what a revert would change."""
    model = type(obj)
    row = model._default_manager.filter(pk=obj.pk).values().first()
    return row, history_of(obj).count() if has_history(model) else 0

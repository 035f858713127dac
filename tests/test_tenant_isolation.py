"""No endpoint or page shows, changes or deletes another tenant's rows (404, never the data)."""

import pytest
from rest_framework.test import APIClient

from tests.conftest import api_client_for
from tests.factories import MODEL_FACTORIES
from tests.isolation import api_routes, dashboard_routes, list_results, route_methods, route_model

pytestmark = pytest.mark.django_db

API_DETAIL_ROUTES = [r for r in api_routes() if r.id_kwarg]
API_LIST_ROUTES = [
    r
    for r in api_routes()
    if not r.id_kwarg and route_model(r) is not None and "GET" in route_methods(r)
]
DASHBOARD_DETAIL_ROUTES = [r for r in dashboard_routes() if r.id_kwarg]
DASHBOARD_LIST_ROUTES = [
    r
    for r in dashboard_routes()
    if not r.id_kwarg and route_model(r) is not None and "GET" in route_methods(r)
]


def foreign_object(route, tenant_b):
    model = route_model(route)
    assert model is not None, f"{route.path}: cannot tell which model it serves"
    factory = MODEL_FACTORIES.get(model)
    assert factory is not None, (
        f"{route.path}: add a factory for {model.__name__} to tests/factories.py MODEL_FACTORIES"
    )
    return model, factory(tenant=tenant_b)


def test_harness_finds_the_routes():
    paths = {r.path for r in API_DETAIL_ROUTES}
    assert "/api/v1/webhooks/<pk>/" in paths
    assert "/api/v1/webhooks/<pk>/test/" in paths


@pytest.mark.parametrize("route", API_DETAIL_ROUTES, ids=lambda r: r.path)
@pytest.mark.parametrize("auth", ["api_key", "session"])
def test_api_detail_routes_hide_other_tenants_objects(route, auth, tenant_b, key_a, admin_a):
    model, obj = foreign_object(route, tenant_b)
    client = api_client_for(key_a) if auth == "api_key" else APIClient()
    if auth == "session":
        client.force_login(admin_a)
    before = model.objects.filter(pk=obj.pk).values().first()
    for method in route_methods(route):
        response = getattr(client, method.lower())(route.url(obj.pk), {}, format="json")
        assert response.status_code == 404, (method, route.path, response.content[:300])
        assert response.json()["error"]["code"] == "not_found"
    assert model.objects.filter(pk=obj.pk).values().first() == before, "object was changed"


@pytest.mark.parametrize("route", API_LIST_ROUTES, ids=lambda r: r.path)
def test_api_list_routes_do_not_list_other_tenants_objects(route, tenant_b, api_a):
    _, obj = foreign_object(route, tenant_b)
    response = api_a.get(route.path)
    assert response.status_code == 200, response.content[:300]
    assert obj.pk not in {item.get("id") for item in list_results(response)}


@pytest.mark.parametrize("route", DASHBOARD_DETAIL_ROUTES, ids=lambda r: r.path)
def test_dashboard_pages_hide_other_tenants_objects(route, client, tenant_b, admin_a):
    model, obj = foreign_object(route, tenant_b)
    client.force_login(admin_a)
    before = model.objects.filter(pk=obj.pk).values().first()
    for method in route_methods(route):
        response = getattr(client, method.lower())(route.url(obj.pk))
        assert response.status_code == 404, (method, route.path)
    assert model.objects.filter(pk=obj.pk).values().first() == before


@pytest.mark.parametrize("route", DASHBOARD_LIST_ROUTES, ids=lambda r: r.path)
def test_dashboard_lists_do_not_list_other_tenants_objects(route, client, tenant_b, admin_a):
    _, obj = foreign_object(route, tenant_b)
    client.force_login(admin_a)
    response = client.get(route.path)
    assert response.status_code == 200, route.path
    assert obj not in response.context["object_list"]


def test_admin_change_pages_hide_unassigned_tenants_objects(client, support_user, tenant_b):
    from django.contrib import admin

    client.force_login(support_user)
    checked = 0
    for model, _model_admin in admin.site._registry.items():
        factory = MODEL_FACTORIES.get(model)
        if factory is None or not hasattr(model, "tenant"):
            continue
        obj = factory(tenant=tenant_b)
        opts = model._meta
        base = f"/admin/{opts.app_label}/{opts.model_name}/"
        listing = client.get(base)
        if listing.status_code == 200:
            assert f"/{obj.pk}/change/" not in listing.content.decode(), base
        change = client.get(f"{base}{obj.pk}/change/")
        assert change.status_code in (302, 404), base
        assert client.get(f"{base}{obj.pk}/history/").status_code in (403, 404), base
        checked += 1
    assert checked >= 3

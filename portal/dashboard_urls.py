"""/dashboard/: the shell and the core's pages here, each app's pages from its own urls.py."""

from django.urls import include, path

from portal import dashboard_views as core
from portal import views

app_name = "dashboard"

urlpatterns = [
    path("", views.DashboardHomeView.as_view(), name="home"),
    path("switch/<slug:slug>/", views.switch_tenant, name="switch-tenant"),
    path("api-keys/", core.ApiKeyListView.as_view(), name="api-keys"),
    path("api-keys/new/", core.ApiKeyCreateView.as_view(), name="api-key-create"),
    path("api-keys/<int:pk>/revoke/", core.ApiKeyRevokeView.as_view(), name="api-key-revoke"),
    path("webhooks/", core.WebhookListView.as_view(), name="webhooks"),
    path("webhooks/new/", core.WebhookCreateView.as_view(), name="webhook-create"),
    path("webhooks/<int:pk>/", core.WebhookDetailView.as_view(), name="webhook-detail"),
    path("webhooks/<int:pk>/edit/", core.WebhookEditView.as_view(), name="webhook-edit"),
    path("webhooks/<int:pk>/delete/", core.WebhookDeleteView.as_view(), name="webhook-delete"),
    path("webhooks/<int:pk>/test/", core.WebhookTestView.as_view(), name="webhook-test"),
    path("settings/", core.TenantSettingsView.as_view(), name="settings"),
    path("members/", core.MemberListView.as_view(), name="members"),
    path("calls/", include("calls.urls")),
    path("consent/", include("consent.urls")),
    path("requests/", include("dsr.urls")),
    path("erasure/", include("dsr.urls.erasure")),
    path("breaches/", include("breaches.urls")),
]

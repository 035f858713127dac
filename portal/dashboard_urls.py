"""/dashboard/: the shell here, each app's pages from its own urls.py."""

from django.urls import include, path

from portal import views

app_name = "dashboard"

urlpatterns = [
    path("", views.DashboardHomeView.as_view(), name="home"),
    path("switch/<slug:slug>/", views.switch_tenant, name="switch-tenant"),
    path("calls/", include("calls.urls")),
    path("consent/", include("consent.urls")),
    path("requests/", include("dsr.urls")),
    path("breaches/", include("breaches.urls")),
]

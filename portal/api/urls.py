"""/api/v1/: the core's endpoints, then each app's."""

from django.urls import include, path
from rest_framework.routers import SimpleRouter

from portal.api import views

router = SimpleRouter()
router.register("webhooks", views.WebhookViewSet, basename="webhook")

urlpatterns = [
    path("tenant/", views.TenantView.as_view(), name="tenant"),
    path("", include("calls.api.urls")),
    path("", include("consent.api.urls")),
    path("", include("dsr.api.urls")),
    path("", include("breaches.api.urls")),
    *router.urls,
]

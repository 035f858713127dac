"""Dashboard pages for legal holds and erasure certificates (mounted under /dashboard/erasure/
by portal/dashboard_urls.py)."""

from django.urls import path

from dsr.views import erasure as views

app_name = "erasure"

urlpatterns = [
    path("holds/", views.HoldListView.as_view(), name="holds"),
    path("holds/new/", views.HoldCreateView.as_view(), name="hold-create"),
    path("holds/<int:pk>/", views.HoldDetailView.as_view(), name="hold"),
    path("holds/<int:pk>/release/", views.HoldReleaseView.as_view(), name="hold-release"),
    path("certificates/<int:pk>/", views.CertificateView.as_view(), name="certificate"),
]

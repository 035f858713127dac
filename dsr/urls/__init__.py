"""Dashboard pages (mounted under /dashboard/requests/ by portal/dashboard_urls.py)."""

from django.urls import path

from dsr import views

app_name = "requests"

urlpatterns = [
    path("", views.RequestListView.as_view(), name="list"),
    path("new/", views.RequestOpenView.as_view(), name="new"),
    path("<int:pk>/", views.RequestDetailView.as_view(), name="detail"),
    path("<int:pk>/confirm/", views.RequestConfirmView.as_view(), name="confirm"),
    path("<int:pk>/package/", views.RequestPackageDownloadView.as_view(), name="package"),
]

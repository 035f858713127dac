"""Dashboard pages (mounted under /dashboard/breaches/ by portal/dashboard_urls.py)."""

from django.urls import path

from breaches import views

app_name = "breaches"

urlpatterns = [
    path("", views.BreachNoticeListView.as_view(), name="list"),
    path("<int:pk>/", views.BreachNoticeDetailView.as_view(), name="detail"),
    path("<int:pk>/acknowledge/", views.BreachAcknowledgeView.as_view(), name="acknowledge"),
]

"""Dashboard pages (mounted under /dashboard/calls/ by portal/dashboard_urls.py)."""

from django.urls import path

from calls import views

app_name = "calls"

urlpatterns = [
    path("", views.CallListView.as_view(), name="list"),
    path("<int:pk>/", views.CallDetailView.as_view(), name="detail"),
    path("<int:pk>/recording/", views.CallRecordingView.as_view(), name="recording"),
    path("<int:pk>/delete/", views.CallDeleteView.as_view(), name="delete"),
    path("retention-rules/", views.RetentionRuleListView.as_view(), name="retention-rules"),
    path(
        "retention-rules/new/",
        views.RetentionRuleCreateView.as_view(),
        name="retention-rule-create",
    ),
    path(
        "retention-rules/<int:pk>/edit/",
        views.RetentionRuleEditView.as_view(),
        name="retention-rule-edit",
    ),
    path(
        "retention-rules/<int:pk>/delete/",
        views.RetentionRuleDeleteView.as_view(),
        name="retention-rule-delete",
    ),
]

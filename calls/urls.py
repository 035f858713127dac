"""Dashboard pages (mounted under /dashboard/calls/ by portal/dashboard_urls.py)."""

from django.urls import path

from calls.views import pages, retention

app_name = "calls"

urlpatterns = [
    path("", pages.CallListView.as_view(), name="list"),
    path("<int:pk>/", pages.CallDetailView.as_view(), name="detail"),
    path("<int:pk>/recording/", pages.CallRecordingView.as_view(), name="recording"),
    path("<int:pk>/delete/", pages.CallDeleteView.as_view(), name="delete"),
    path("retention-rules/", retention.RetentionRuleListView.as_view(), name="retention-rules"),
    path(
        "retention-rules/new/",
        retention.RetentionRuleCreateView.as_view(),
        name="retention-rule-create",
    ),
    path(
        "retention-rules/<int:pk>/edit/",
        retention.RetentionRuleEditView.as_view(),
        name="retention-rule-edit",
    ),
    path(
        "retention-rules/<int:pk>/delete/",
        retention.RetentionRuleDeleteView.as_view(),
        name="retention-rule-delete",
    ),
]

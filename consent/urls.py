"""Dashboard pages (mounted under /dashboard/consent/ by portal/dashboard_urls.py)."""

from django.urls import path

from consent.views import ledger, notices, purposes, sms

app_name = "consent"

urlpatterns = [
    path("", ledger.LedgerView.as_view(), name="ledger"),
    path("events/<int:pk>/", ledger.EventDetailView.as_view(), name="event"),
    path("events/<int:pk>/withdraw/", ledger.ConsentWithdrawView.as_view(), name="withdraw"),
    path("subject/", ledger.SubjectView.as_view(), name="subject"),
    path("record/", ledger.ConsentRecordView.as_view(), name="record"),
    path("sms/", sms.SmsNoticeSendView.as_view(), name="sms"),
    path("sms/<int:pk>/", sms.SmsNoticeDetailView.as_view(), name="sms-sent"),
    path("purposes/", purposes.PurposeListView.as_view(), name="purposes"),
    path("purposes/new/", purposes.PurposeCreateView.as_view(), name="purpose-create"),
    path("purposes/<int:pk>/", purposes.PurposeDetailView.as_view(), name="purpose"),
    path("purposes/<int:pk>/edit/", purposes.PurposeEditView.as_view(), name="purpose-edit"),
    path(
        "purposes/<int:pk>/activation/",
        purposes.PurposeActivationView.as_view(),
        name="purpose-activation",
    ),
    path("purposes/<int:pk>/delete/", purposes.PurposeDeleteView.as_view(), name="purpose-delete"),
    path("notices/", notices.NoticeListView.as_view(), name="notices"),
    path("notices/new/", notices.NoticeCreateView.as_view(), name="notice-create"),
    path("notices/<int:pk>/", notices.NoticeDetailView.as_view(), name="notice"),
    path("notices/<int:pk>/edit/", notices.NoticeEditView.as_view(), name="notice-edit"),
    path("notices/<int:pk>/delete/", notices.NoticeDeleteView.as_view(), name="notice-delete"),
]

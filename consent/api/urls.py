from django.urls import path
from rest_framework.routers import SimpleRouter

from consent.api import views

router = SimpleRouter()
router.register("consents", views.ConsentViewSet, basename="consent")
router.register("purposes", views.PurposeViewSet, basename="purpose")
router.register("notices", views.NoticeViewSet, basename="notice")

urlpatterns = [
    path("consent/check/", views.ConsentCheckView.as_view(), name="consent-check"),
    path("consent/sms-notices/", views.SmsNoticeView.as_view(), name="consent-sms-notice"),
    path("sms/inbound/", views.InboundSmsView.as_view(), name="sms-inbound"),
    *router.urls,
]

from rest_framework.routers import SimpleRouter

from calls.api import views

router = SimpleRouter()
router.register("calls", views.CallViewSet, basename="call")
router.register("retention-rules", views.RetentionRuleViewSet, basename="retention-rule")

urlpatterns = [*router.urls]

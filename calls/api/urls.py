from rest_framework.routers import SimpleRouter

from calls.api import views
from calls.api.holds import HoldViewSet

router = SimpleRouter()
router.register("calls", views.CallViewSet, basename="call")
router.register("retention-rules", views.RetentionRuleViewSet, basename="retention-rule")
router.register("holds", HoldViewSet, basename="hold")

urlpatterns = [*router.urls]

from rest_framework.routers import SimpleRouter

from dsr.api.holds import HoldViewSet
from dsr.api.views import RequestViewSet

router = SimpleRouter()
router.register("requests", RequestViewSet, basename="request")
router.register("holds", HoldViewSet, basename="hold")

urlpatterns = [*router.urls]

from rest_framework.routers import SimpleRouter

from dsr.api.views import RequestViewSet

router = SimpleRouter()
router.register("requests", RequestViewSet, basename="request")

urlpatterns = [*router.urls]

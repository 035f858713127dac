from rest_framework.routers import SimpleRouter

from breaches.api.views import BreachViewSet

router = SimpleRouter()
router.register("breaches", BreachViewSet, basename="breach")

urlpatterns = [*router.urls]

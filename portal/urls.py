from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path, re_path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from portal import two_factor_views, views

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="dashboard:home", permanent=False)),
    path("healthz", views.healthz, name="healthz"),
    # Legal holds moved from the requests app to calls: old admin links keep working.
    re_path(
        r"^admin/dsr/(?P<model>legalhold|legalholdcall|legalholdnumber)/(?P<rest>.*)$",
        RedirectView.as_view(
            url="/admin/calls/%(model)s/%(rest)s", permanent=True, query_string=True
        ),
    ),
    path("admin/second-factor/", two_factor_views.second_factor, name="second_factor"),
    path(
        "admin/second-factor/enrol/",
        two_factor_views.second_factor_enrol,
        name="second_factor_enrol",
    ),
    path("admin/", admin.site.urls),
    path(
        "accounts/login/",
        auth_views.LoginView.as_view(redirect_authenticated_user=True),
        name="login",
    ),
    path("accounts/logout/", views.LogoutView.as_view(), name="logout"),
    path("accounts/password/", auth_views.PasswordChangeView.as_view(), name="password_change"),
    path(
        "accounts/password/done/",
        auth_views.PasswordChangeDoneView.as_view(),
        name="password_change_done",
    ),
    path("dashboard/", include("portal.dashboard_urls")),
    path("api/v1/", include("portal.api.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="api-docs"),
]

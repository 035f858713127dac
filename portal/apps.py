from django.apps import AppConfig
from django.contrib.admin.apps import AdminConfig
from django.db.models.signals import post_migrate


class PortalConfig(AppConfig):
    name = "portal"
    verbose_name = "Portal: tenants and access"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_in
        from simple_history.signals import pre_create_historical_record

        from portal import audit, dashboard_panels, middleware, roles
        from portal.admin_scope import seal_admin_site
        from portal.api import schema  # noqa: F401  (registers the OpenAPI auth scheme)

        pre_create_historical_record.connect(
            audit.fill_history_actor, dispatch_uid="portal_history_actor"
        )
        user_logged_in.connect(middleware.staff_login_started, dispatch_uid="portal_staff_login")
        post_migrate.connect(roles.sync_role_permissions, dispatch_uid="portal_roles")
        dashboard_panels.register()
        # Every app's admin module is imported by now (the admin app comes first): seal them
        # all, including any registered without going through the portal's site.
        seal_admin_site()


class PortalAdminConfig(AdminConfig):
    default_site = "portal.admin_site.PortalAdminSite"

    def ready(self) -> None:
        super().ready()
        from django.contrib import admin
        from django_otp.plugins.otp_static.models import StaticDevice
        from django_otp.plugins.otp_totp.models import TOTPDevice

        # django-otp's device admins would show staff secrets (TOTP keys, recovery codes) to
        # anyone granted the model's permissions; devices are managed by their owner's
        # enrolment and `manage.py staff_2fa_reset` only.
        for model in (TOTPDevice, StaticDevice):
            if admin.site.is_registered(model):
                admin.site.unregister(model)

from django.apps import AppConfig
from django.contrib.admin.apps import AdminConfig
from django.db.models.signals import post_migrate


class PortalConfig(AppConfig):
    name = "portal"
    verbose_name = "Portal: tenants and access"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from simple_history.signals import pre_create_historical_record

        from portal import audit, dashboard_panels, roles
        from portal.admin_scope import seal_admin_site
        from portal.api import schema  # noqa: F401  (registers the OpenAPI auth scheme)

        pre_create_historical_record.connect(
            audit.fill_history_actor, dispatch_uid="portal_history_actor"
        )
        post_migrate.connect(roles.sync_role_permissions, dispatch_uid="portal_roles")
        dashboard_panels.register()
        # Every app's admin module is imported by now (the admin app comes first): seal them
        # all, including any registered without going through the portal's site.
        seal_admin_site()


class PortalAdminConfig(AdminConfig):
    default_site = "portal.admin_site.PortalAdminSite"

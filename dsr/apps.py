from django.apps import AppConfig


class DsrConfig(AppConfig):
    name = "dsr"
    verbose_name = "Data-subject requests"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from dsr import notifications, views, workqueues
        from portal import workqueues as portal_workqueues
        from portal.dashboard import register_nav, register_overview_panel

        notifications.register_events()
        portal_workqueues.register(workqueues.request_queues)
        portal_workqueues.register(workqueues.erasure_queues)
        register_nav("Requests", "Requests", "dashboard:requests:list", order=300)
        register_nav(
            "Requests", "Open a request", "dashboard:requests:new", min_role="agent", order=310
        )
        register_nav("Requests", "Legal holds", "dashboard:erasure:holds", order=350)
        register_overview_panel(
            "open-requests",
            "Open requests",
            "dashboard/requests/panel.html",
            views.open_requests_panel,
            order=100,
        )

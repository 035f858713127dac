from django.apps import AppConfig


class CallsConfig(AppConfig):
    name = "calls"
    verbose_name = "Calls and recordings"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from calls import workqueues
        from calls.services import CALL_DELETED_EVENT
        from calls.views.pages import calls_overview_panel
        from portal import webhooks
        from portal import workqueues as portal_workqueues
        from portal.dashboard import register_nav, register_overview_panel

        webhooks.register_event(
            CALL_DELETED_EVENT,
            "A call was deleted (API, dashboard, admin or retention sweep) with its recording "
            "and transcript: delete your copies too. Carries call_id, external_id and source.",
        )
        portal_workqueues.register(workqueues.file_deletions_failing)

        register_nav("Calls", "Calls", "dashboard:calls:list", order=100)
        register_nav("Calls", "Retention rules", "dashboard:calls:retention-rules", order=110)
        register_overview_panel(
            "calls-per-week",
            "Calls per week",
            "dashboard/calls/panel.html",
            calls_overview_panel,
            order=100,
            wide=True,
        )

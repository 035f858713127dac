from django.apps import AppConfig


class BreachesConfig(AppConfig):
    name = "breaches"
    verbose_name = "Breaches"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from breaches import views, workqueues
        from breaches.services import NOTIFIED_EVENT
        from portal import webhooks
        from portal.dashboard import register_nav, register_overview_panel
        from portal.workqueues import register

        webhooks.register_event(
            NOTIFIED_EVENT,
            "A personal-data breach notice about your data (initial, follow-up or final): "
            "incident and notice ids, phase, risk level and your own counts.",
        )
        register(workqueues.breach_queues)
        register_nav("Breaches", "Breach notices", "dashboard:breaches:list", order=400)
        # Near the top: a notice to acknowledge is the most urgent thing on the overview.
        register_overview_panel(
            "breach-notices",
            "Breach notices to acknowledge",
            "dashboard/breaches/panel.html",
            views.notices_to_acknowledge_panel,
            order=50,
        )

from django.apps import AppConfig


class BreachesConfig(AppConfig):
    name = "breaches"
    verbose_name = "Breaches"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from breaches import workqueues
        from breaches.services import NOTIFIED_EVENT
        from portal import webhooks
        from portal.workqueues import register

        webhooks.register_event(
            NOTIFIED_EVENT,
            "A personal-data breach notice about your data (initial, follow-up or final): "
            "incident and notice ids, phase, risk level and your own counts.",
        )
        register(workqueues.breach_queues)

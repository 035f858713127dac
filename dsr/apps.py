from django.apps import AppConfig


class DsrConfig(AppConfig):
    name = "dsr"
    verbose_name = "Data-subject requests"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from dsr import notifications, workqueues
        from portal import workqueues as portal_workqueues

        notifications.register_events()
        portal_workqueues.register(workqueues.request_queues)

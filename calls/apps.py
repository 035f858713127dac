from django.apps import AppConfig


class CallsConfig(AppConfig):
    name = "calls"
    verbose_name = "Calls and recordings"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from calls import workqueues
        from calls.services import CALL_DELETED_EVENT
        from portal import webhooks
        from portal import workqueues as portal_workqueues

        webhooks.register_event(
            CALL_DELETED_EVENT,
            "A call was deleted (API, admin or retention sweep) with its recording and "
            "transcript: delete your copies too. Carries call_id, external_id and source.",
        )
        portal_workqueues.register(workqueues.file_deletions_failing)

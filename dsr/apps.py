from django.apps import AppConfig


def resume_deferred_erasures(sender, hold, **kwargs) -> None:
    """A hold was released: resume the erasures it deferred (Art. 17(1))."""
    from dsr.tasks import erasure_deferred_resume

    erasure_deferred_resume.delay(tenant_id=hold.tenant_id)


class DsrConfig(AppConfig):
    name = "dsr"
    verbose_name = "Data-subject requests"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.apps import apps

        from calls.services import call_personal_fields_register
        from calls.signals import hold_released
        from dsr import views, workqueues
        from dsr.services import notifications
        from portal import workqueues as portal_workqueues
        from portal.dashboard import register_nav, register_overview_panel

        notifications.register_events()
        # A subject's statement on a call (Art. 16) is personal data: redacted in its history
        # whenever the call is deleted, by whatever path.
        call_personal_fields_register(apps.get_model("dsr", "CallRectification"), ["statement"])
        hold_released.connect(resume_deferred_erasures, dispatch_uid="dsr.resume_after_release")
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

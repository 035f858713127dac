from django.apps import AppConfig


class ConsentConfig(AppConfig):
    name = "consent"
    verbose_name = "Consent and lawful basis"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from consent import workqueues
        from consent.admin import consent_rate_table
        from consent.views.overview import consent_rate_panel
        from portal import workqueues as portal_workqueues
        from portal.admin import register_tenant_panel
        from portal.dashboard import register_nav, register_overview_panel
        from portal.webhooks import register_event

        register_event(
            "consent.given",
            "A consent (or another lawful basis) was recorded for a number and purpose; the "
            "payload names the ledger event.",
        )
        register_event(
            "consent.withdrawn",
            "A consent was withdrawn: stop processing the number for that purpose.",
        )
        portal_workqueues.register(workqueues.announcement_only_consent)
        register_tenant_panel(
            "consent_rates", "Consent", "Consent rate per purpose", consent_rate_table
        )
        register_nav("Consent", "Ledger", "dashboard:consent:ledger", order=200)
        register_nav("Consent", "Subject lookup", "dashboard:consent:subject", order=210)
        register_nav("Consent", "Purposes", "dashboard:consent:purposes", order=220)
        register_nav("Consent", "Notices", "dashboard:consent:notices", order=230)
        register_overview_panel(
            "consent-rate",
            "Consent rate per purpose",
            "dashboard/consent/panel.html",
            consent_rate_panel,
            order=300,
        )

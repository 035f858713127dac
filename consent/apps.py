from django.apps import AppConfig


class ConsentConfig(AppConfig):
    name = "consent"
    verbose_name = "Consent and lawful basis"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
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

from django.apps import AppConfig


class CallsConfig(AppConfig):
    name = "calls"
    verbose_name = "Calls and recordings"
    default_auto_field = "django.db.models.BigAutoField"

from django.apps import AppConfig


class BreachesConfig(AppConfig):
    name = "breaches"
    verbose_name = "Breaches"
    default_auto_field = "django.db.models.BigAutoField"

from importlib import import_module

from django.core.management.base import BaseCommand
from django.db import transaction

from portal.audit import acting_as_system
from portal.roles import PROJECT_APPS


class Command(BaseCommand):
    help = (
        "Load demo data (idempotent): tenants acme (DE) and globex (IE), staff and customer "
        "users, and each app's demo records."
    )

    def add_arguments(self, parser):
        parser.add_argument("--password", default="demo", help="Password for every demo user")

    def handle(self, *args, password, **options):
        context = {"password": password, "stdout": self.stdout}
        with acting_as_system("command:seed_demo"):
            for app in PROJECT_APPS:
                try:
                    module = import_module(f"{app}.seed")
                except ModuleNotFoundError as exc:
                    if exc.name != f"{app}.seed":
                        raise
                    continue
                with transaction.atomic():
                    module.seed(context)
        self.stdout.write(self.style.SUCCESS("Demo data ready. Log in with:"))
        for username, where in [
            ("dpo", "http://127.0.0.1:8000/admin/  (DPO)"),
            ("support", "http://127.0.0.1:8000/admin/  (Support, serves acme)"),
            ("acme-admin", "http://127.0.0.1:8000/dashboard/  (acme admin)"),
            ("acme-viewer", "http://127.0.0.1:8000/dashboard/  (acme viewer)"),
            ("globex-admin", "http://127.0.0.1:8000/dashboard/  (globex admin)"),
            ("consultant", "http://127.0.0.1:8000/dashboard/  (agent of acme and globex)"),
        ]:
            self.stdout.write(f"  {username:<13} / {password:<8} {where}")
        self.stdout.write(
            "Staff (dpo, support) also need a one-time code after the password: enrol an "
            "authenticator app on the first login, or (with DEBUG on) print the current code "
            "with `manage.py totp_code dpo` (or `manage.py totp_code support`)."
        )

from django.core.management.base import BaseCommand, CommandError

from portal.audit import acting_as_system
from portal.errors import BusinessRuleError
from portal.services import tenant_create


class Command(BaseCommand):
    help = "Create a tenant (a customer of the platform)."

    def add_arguments(self, parser):
        parser.add_argument("slug", help="Short identifier, e.g. acme")
        parser.add_argument("--name", required=True, help="Display name")
        parser.add_argument(
            "--country",
            default="DE",
            help="ISO 3166 country code (holidays, number parsing); default DE",
        )
        parser.add_argument("--timezone", default=None, help="IANA time zone, e.g. Europe/Dublin")

    def handle(self, *args, slug, name, country, timezone, **options):
        extra = {"timezone": timezone} if timezone else {}
        try:
            with acting_as_system("command:create_tenant"):
                tenant = tenant_create(slug=slug, name=name, country=country, **extra)
        except BusinessRuleError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(f"Created tenant {tenant.slug} ({tenant.name}, {tenant.country}).")

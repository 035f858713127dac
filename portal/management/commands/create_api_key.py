from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from portal.audit import acting_as_system
from portal.models import Tenant
from portal.services import api_key_create


class Command(BaseCommand):
    help = "Create an API key for a tenant. The key is printed once, alone on the last line."

    def add_arguments(self, parser):
        parser.add_argument("tenant", help="The tenant's slug")
        parser.add_argument("--name", default="", help="A name for the key")
        parser.add_argument(
            "--created-by",
            default=None,
            help="Username recorded as the key's creator (history user)",
        )

    def handle(self, *args, tenant, name, created_by, **options):
        found = Tenant.objects.filter(slug=tenant).first()
        if found is None:
            raise CommandError(f"No tenant with slug {tenant!r}.")
        user = None
        if created_by:
            user = get_user_model().objects.filter(username=created_by).first()
            if user is None:
                raise CommandError(f"No user {created_by!r}.")
        with acting_as_system("command:create_api_key"):
            issued = api_key_create(tenant=found, name=name, created_by=user)
        self.stderr.write(
            f"API key {issued.api_key.name!r} for {found.slug} (prefix {issued.api_key.prefix}). "
            "Store it now: it cannot be shown again."
        )
        self.stdout.write(issued.key)

from django.core.management.base import BaseCommand

from calls.services import retention_sweep
from portal.audit import acting_as_system


class Command(BaseCommand):
    help = (
        "Delete calls older than their category's maximum retention (never younger than its "
        "minimum) and print what was deleted and kept. The same sweep runs daily in Celery beat."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--dry-run", action="store_true", help="Only count what would be deleted."
        )
        parser.add_argument("--batch-size", type=int, default=200, help="Calls per transaction.")

    def handle(self, *args, dry_run, batch_size, **options):
        with acting_as_system("command:retention_sweep"):
            report = retention_sweep(dry_run=dry_run, batch_size=batch_size)
        for line in report.lines():
            self.stdout.write(line)

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from dsr.services.erasure.tombstones import (
    reapply_erasures,
    tombstones_dumps,
    tombstones_import,
)
from portal.audit import acting_as_system
from portal.models import Tenant


class Command(BaseCommand):
    help = (
        "After a backup restore: find data of erased numbers again (by their tombstones) and "
        "erase it again through the same erasure code, respecting legal holds; prints what it "
        "found per tenant. Data recorded after an erasure (a subject calling again) is new data "
        "and stays."
    )

    def add_arguments(self, parser):
        parser.add_argument("--tenant", help="Only this tenant (slug).")
        parser.add_argument(
            "--dry-run", action="store_true", help="Report what would be erased; erase nothing."
        )
        parser.add_argument(
            "--export",
            metavar="FILE",
            help="Write every tombstone (no personal data) to FILE and stop: keep it with the "
            "backups, newer than them.",
        )
        parser.add_argument(
            "--import",
            dest="import_file",
            metavar="FILE",
            help="First add the tombstones of FILE that the restored database lacks.",
        )

    def handle(self, *args, tenant, dry_run, export, import_file, **options):
        if export:
            Path(export).write_text(tombstones_dumps())
            self.stdout.write(f"Tombstones written to {export}.")
            return
        chosen = None
        if tenant:
            chosen = Tenant.objects.filter(slug=tenant).first()
            if chosen is None:
                raise CommandError(f"No tenant {tenant!r}.")
        with acting_as_system("command:reapply_erasures"):
            if import_file:
                try:
                    entries = json.loads(Path(import_file).read_text())
                except (OSError, ValueError) as exc:
                    raise CommandError(f"Cannot read {import_file}: {exc}") from None
                added = tombstones_import(entries)
                self.stdout.write(f"Imported {added} tombstone(s) this database lacked.")
            reports = reapply_erasures(tenant=chosen, dry_run=dry_run)
        if dry_run:
            self.stdout.write("Dry run: nothing was erased.")
        for report in reports:
            for line in report.lines():
                self.stdout.write(line)
        if not reports:
            self.stdout.write("No tombstones: nothing to re-apply.")

import sys

from django.core.management.base import BaseCommand, CommandError

from dsr.models import DataSubjectRequest
from dsr.services.erasure.verification import erasure_verify
from portal.audit import acting_as_system
from portal.errors import BusinessRuleError


class Command(BaseCommand):
    help = (
        "Run the residual-data scan of an erasure request now and print what it finds: every "
        "table (history included) and the tenant's storage, searched for the subject's numbers; "
        "the number tables checked against the request's tombstones. Exits 1 on residual data."
    )

    def add_arguments(self, parser):
        parser.add_argument("request_id", type=int)
        parser.add_argument(
            "--number",
            action="append",
            default=[],
            help="A number to search for once the request is closed (it keeps only tombstones); "
            "accepted only if one of the request's tombstones matches it. Repeatable.",
        )

    def handle(self, *args, request_id, number, **options):
        request = DataSubjectRequest.objects.select_related("tenant").filter(pk=request_id).first()
        if request is None:
            raise CommandError(f"No request #{request_id}.")
        try:
            with acting_as_system("command:verify_erasure"):
                result = erasure_verify(request=request, numbers=number)
        except BusinessRuleError as exc:
            raise CommandError(exc.message) from None
        for line in result.lines():
            self.stdout.write(line)
        if not result.clean:
            sys.exit(1)

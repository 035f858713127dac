from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from portal import two_factor


class Command(BaseCommand):
    help = (
        "Print a staff user's current one-time code (last line), enrolling a device first if "
        "the user has none. Local development and demos only: refused unless DEBUG is on."
    )

    def add_arguments(self, parser):
        parser.add_argument("username")

    def handle(self, *args, username, **options):
        if not settings.DEBUG:
            raise CommandError(
                "totp_code works only with DEBUG on: in production, staff codes come from "
                "their own authenticator app."
            )
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"No user named {username!r}.")
        if not user.is_staff:
            raise CommandError(f"{username!r} is not staff: only staff log in with a code.")
        self.stdout.write(f"Current one-time code of {username} (valid for about 30 seconds):")
        self.stdout.write(two_factor.current_code(user=user))

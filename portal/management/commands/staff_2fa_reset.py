from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from portal import two_factor


class Command(BaseCommand):
    help = (
        "Remove a staff user's authenticator device and recovery codes (a lost phone): the "
        "next login enrols a new device."
    )

    def add_arguments(self, parser):
        parser.add_argument("username")

    def handle(self, *args, username, **options):
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"No user named {username!r}.")
        two_factor.devices_reset(user=user)
        self.stdout.write(
            f"Second factor of {username} removed: the next login asks to enrol a new device."
        )

#!/usr/bin/env python
import os
import sys

# Commands that inspect the code and sign nothing: they run without SECRET_KEY, so that
# `manage.py makemigrations --check` or `check` work in a bare checkout or CI step. Serving,
# migrating and every command that touches data still require it (see portal/config.py).
KEYLESS_COMMANDS = {"makemigrations", "check", "spectacular", "showmigrations", "help", "version"}


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    if len(sys.argv) > 1 and sys.argv[1] in KEYLESS_COMMANDS:
        os.environ.setdefault("PORTAL_KEYLESS_COMMAND", "1")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()

import os
import subprocess
import sys

from tests.portal.test_settings import ROOT, start_django

PRINT_TARGET = (
    "import django; django.setup(); from django.conf import settings; "
    "print(settings.BREACH_TENANT_NOTICE_TARGET_HOURS)"
)


def test_tenant_notice_target_is_read_from_the_environment(tmp_path):
    env = {
        **{k: v for k, v in os.environ.items() if k != "DATABASE_URL"},
        "DEBUG": "1",
        "DATA_DIR": str(tmp_path),
        "DJANGO_SETTINGS_MODULE": "portal.settings",
    }
    for value, expected in [("6", "6"), ("", "24")]:
        result = subprocess.run(
            [sys.executable, "-c", PRINT_TARGET],
            cwd=ROOT,
            env={**env, "BREACH_TENANT_NOTICE_TARGET_HOURS": value},
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert result.stdout.strip() == expected, result.stderr


def test_bad_tenant_notice_target_stops_start_up_naming_it(tmp_path):
    result = start_django({"DEBUG": "1", "BREACH_TENANT_NOTICE_TARGET_HOURS": "soon"}, tmp_path)
    assert result.returncode != 0
    assert "BREACH_TENANT_NOTICE_TARGET_HOURS must be a whole number" in result.stderr
    result = start_django({"DEBUG": "1", "BREACH_TENANT_NOTICE_TARGET_HOURS": "96"}, tmp_path)
    assert result.returncode != 0
    assert "BREACH_TENANT_NOTICE_TARGET_HOURS must be between 1 and 72" in result.stderr

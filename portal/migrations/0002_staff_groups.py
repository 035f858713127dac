"""Create the platform staff groups (DPO, Support) with their model permissions.

The permission table itself is declared in portal/roles.py and re-synced after every migrate,
so that permissions of models added later reach the groups too.
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations

GROUPS = ("DPO", "Support")


def create_groups(apps, schema_editor):
    from portal.roles import permissions_for

    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    candidates = list(Permission.objects.select_related("content_type"))
    for name in GROUPS:
        group, _ = Group.objects.get_or_create(name=name)
        group.permissions.set(permissions_for(name, candidates))


def remove_groups(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=GROUPS).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("portal", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_groups, remove_groups)]

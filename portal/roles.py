"""Platform staff roles and their model permissions, declared once.

The groups are created by a data migration; after every ``migrate`` their permissions are synced
to this table, so a new app's permissions reach the right people without a hand-written step.
Patterns are ``app_label.codename`` with shell wildcards.
"""

from fnmatch import fnmatch

from portal.access import DPO_GROUP, SUPPORT_GROUP

PROJECT_APPS = ("portal", "calls", "consent", "dsr", "breaches")

ROLE_PERMISSIONS: dict[str, list[str]] = {
    # The DPO decides: every permission of the project's apps (including approve_erasure).
    DPO_GROUP: [f"{app}.*" for app in PROJECT_APPS] + ["auth.view_user"],
    # Support prepares cases for the tenants it serves; it never approves an erasure and
    # never deletes.
    SUPPORT_GROUP: [
        *(f"{app}.view_*" for app in PROJECT_APPS),
        "calls.add_*",
        "calls.change_call",
        "calls.consult_recording",  # playing and reading are logged with their purpose
        "dsr.add_datasubjectrequest",
        "dsr.change_datasubjectrequest",
        "dsr.verify_request",
        "dsr.assign_request",
        "auth.view_user",
    ],
}

# Never granted to Support, whatever the patterns above say.
SUPPORT_FORBIDDEN = (
    "*.delete_*",
    "calls.add_*legalhold*",  # holds are the DPO's (they moved to calls from dsr)
    "dsr.approve_erasure",
    "dsr.decide_request",
)


def permissions_for(role: str, candidates) -> list:
    """The Permission rows (from ``candidates``) that ``role`` should hold."""
    patterns = ROLE_PERMISSIONS[role]
    chosen = []
    for perm in candidates:
        name = f"{perm.content_type.app_label}.{perm.codename}"
        if not any(fnmatch(name, pattern) for pattern in patterns):
            continue
        if role == SUPPORT_GROUP and any(fnmatch(name, bad) for bad in SUPPORT_FORBIDDEN):
            continue
        chosen.append(perm)
    return chosen


def sync_role_permissions(**kwargs) -> None:
    """post_migrate: give each staff group exactly the permissions of its role."""
    from django.contrib.auth.models import Group, Permission

    candidates = list(Permission.objects.select_related("content_type"))
    for role in ROLE_PERMISSIONS:
        group, _ = Group.objects.get_or_create(name=role)
        group.permissions.set(permissions_for(role, candidates))

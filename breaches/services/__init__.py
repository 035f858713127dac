"""Writes for the breach register. Every entry point (admin, API, tasks, seed) calls these.

Split by subject: ``incidents`` (open, edit, assess, link calls, contain, close) and ``notices``
(to tenants, the authority and subjects, decisions not to notify, acknowledgements).
"""

from breaches.services.incidents import (
    impacts_recompute,
    incident_assess,
    incident_close,
    incident_contain,
    incident_link_calls,
    incident_open,
    incident_update,
)
from breaches.services.notices import (
    NOTIFIED_EVENT,
    incident_acknowledge,
    incident_add_phase,
    incident_decide_authority_not_notified,
    incident_decide_subjects_not_notified,
    incident_notify_tenants,
    incident_record_authority_notification,
    incident_record_subject_notification,
    notification_acknowledge,
    tenant_notice_emails,
)

__all__ = [
    "NOTIFIED_EVENT",
    "impacts_recompute",
    "incident_acknowledge",
    "incident_add_phase",
    "incident_assess",
    "incident_close",
    "incident_contain",
    "incident_decide_authority_not_notified",
    "incident_decide_subjects_not_notified",
    "incident_link_calls",
    "incident_notify_tenants",
    "incident_open",
    "incident_record_authority_notification",
    "incident_record_subject_notification",
    "incident_update",
    "notification_acknowledge",
    "tenant_notice_emails",
]

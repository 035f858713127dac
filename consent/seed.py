"""Demo purposes, privacy notices and consent histories (run by ``manage.py seed_demo``).

Idempotent: purposes are get-or-created on (tenant, code) — the calls seed creates the same ones
— notices on (tenant, version), and each scripted ledger event is recorded once, through the
same services as the API.
"""

from __future__ import annotations

from datetime import datetime

from consent.models import ConsentEvent, LawfulBasis, PrivacyNotice, Purpose
from consent.services import consent_give, consent_withdraw, notice_create
from portal.models import Tenant
from portal.numbers import normalize_number

PURPOSES = [
    (
        "service_delivery",
        "Handling your call and the service you called us about.",
        LawfulBasis.CONTRACT,
    ),
    (
        "quality_assurance",
        "Listening back to calls to check and improve the quality of our service.",
        LawfulBasis.LEGITIMATE_INTERESTS,
    ),
    (
        "complaint_handling",
        "Keeping calls about complaints for as long as the law requires.",
        LawfulBasis.LEGAL_OBLIGATION,
    ),
    (
        "marketing",
        "Offering you our products and services, based on what you told us on the phone.",
        LawfulBasis.CONSENT,
    ),
    (
        "training",
        "Using recordings of calls to train our staff.",
        LawfulBasis.CONSENT,
    ),
]

NOTICES = [
    ("1.0", "2025-01-01T00:00:00+00:00"),
    ("2.0", "2025-06-01T00:00:00+00:00"),
]

GIVE, WITHDRAW = "given", "withdrawn"

# (number as a caller would type it, purpose, action, method, notice, when, evidence)
HISTORIES = {
    "acme": [
        ("030 901820 11", "marketing", GIVE, "ivr_keypress", "1.0", "2025-02-03T09:15", {}),
        ("030 901820 11", "training", GIVE, "ivr_keypress", "1.0", "2025-02-03T09:15", {}),
        (
            "030 901820 11",
            "marketing",
            WITHDRAW,
            "sms_notice",
            None,
            "2025-04-11T18:02",
            {"message_id": "demo-sms-acme-0001"},
        ),
        (
            "+49 151 23456701",
            "marketing",
            GIVE,
            "web_form",
            "2.0",
            "2025-06-20T12:00",
            {"document": "web form submission WF-2025-0042"},
        ),
        (
            "+49 151 23456701",
            "service_delivery",
            GIVE,
            "contract_clause",
            "2.0",
            "2025-06-20T12:05",
            {"document": "service contract ACME-2025-0042, clause 9"},
        ),
        ("0049 89 2180 3344", "training", GIVE, "verbal", "2.0", "2025-07-01T10:30", {}),
        ("0049 89 2180 3344", "training", WITHDRAW, "verbal", None, "2025-09-15T16:45", {}),
        ("0049 89 2180 3344", "training", GIVE, "ivr_keypress", "2.0", "2025-10-02T08:10", {}),
        (
            "0171 5550123",
            "complaint_handling",
            GIVE,
            "legal_obligation_notice",
            "2.0",
            "2025-08-05T14:00",
            {"document": "complaint letter C-2025-117"},
        ),
        (
            "0171 5550123",
            "marketing",
            GIVE,
            "sms_notice",
            "2.0",
            "2025-08-06T09:00",
            {"message_id": "demo-sms-acme-0002"},
        ),
        (
            "0171 5550123",
            "marketing",
            WITHDRAW,
            "web_form",
            None,
            "2025-11-01T20:20",
            {"document": "unsubscribe form"},
        ),
    ],
    "globex": [
        ("01 234 5670", "marketing", GIVE, "ivr_keypress", "1.0", "2025-03-10T11:00", {}),
        ("01 234 5670", "training", GIVE, "ivr_keypress", "1.0", "2025-03-10T11:00", {}),
        ("01 234 5670", "training", WITHDRAW, "ivr_keypress", None, "2025-05-02T15:30", {}),
        (
            "+353 87 123 4567",
            "marketing",
            GIVE,
            "web_form",
            "2.0",
            "2025-07-14T19:45",
            {"document": "newsletter sign-up NS-7781"},
        ),
        (
            "+353 87 123 4567",
            "marketing",
            WITHDRAW,
            "sms_notice",
            None,
            "2025-10-03T07:55",
            {"message_id": "demo-sms-globex-0001"},
        ),
        (
            "00353 86 765 4321",
            "service_delivery",
            GIVE,
            "contract_clause",
            "2.0",
            "2025-06-30T09:00",
            {"document": "support contract GLX-5521, section 4"},
        ),
        ("00353 86 765 4321", "training", GIVE, "verbal", "2.0", "2025-09-09T13:20", {}),
    ],
}


def _when(text: str) -> datetime:
    value = datetime.fromisoformat(text)
    return value if value.tzinfo else datetime.fromisoformat(text + "+00:00")


def seed(context: dict) -> None:
    recorded = 0
    for slug, history in HISTORIES.items():
        tenant = Tenant.objects.filter(slug=slug).first()
        if tenant is None:
            continue
        purposes = {}
        for code, description, basis in PURPOSES:
            purposes[code], _ = Purpose.objects.get_or_create(
                tenant=tenant,
                code=code,
                defaults={"description": description, "default_lawful_basis": basis},
            )
        for version, effective_from in NOTICES:
            if not PrivacyNotice.objects.for_tenant(tenant).filter(version=version).exists():
                notice_create(
                    tenant=tenant,
                    version=version,
                    url=f"https://{slug}.example/privacy/v{version}",
                    text=f"{tenant.name} privacy notice, version {version}.",
                    effective_from=_when(effective_from),
                )
        for number, code, action, method, notice, when, evidence in history:
            occurred_at = _when(when)
            done = ConsentEvent.objects.for_tenant(tenant).filter(
                number=normalize_number(number, country=tenant.country),
                purpose=purposes[code],
                action=action,
                occurred_at=occurred_at,
            )
            if done.exists():
                continue
            record = consent_give if action == GIVE else consent_withdraw
            basis = purposes[code].default_lawful_basis
            record(
                tenant=tenant,
                number=number,
                purpose=code,
                lawful_basis=basis,
                method=method,
                notice_version=notice,
                evidence=evidence,
                occurred_at=occurred_at,
                source=ConsentEvent.Source.API,
            )
            recorded += 1
    context["stdout"].write(f"Consent: {recorded} ledger event(s) recorded.\n")

from datetime import timedelta

import pytest
from django.utils import timezone

from consent.models import LawfulBasis
from tests.factories import PrivacyNoticeFactory, PurposeFactory


@pytest.fixture
def purposes_a(tenant_a):
    """The demo set of purposes for tenant A, by code."""
    specs = {
        "service_delivery": LawfulBasis.CONTRACT,
        "quality_assurance": LawfulBasis.LEGITIMATE_INTERESTS,
        "complaint_handling": LawfulBasis.LEGAL_OBLIGATION,
        "marketing": LawfulBasis.CONSENT,
        "training": LawfulBasis.CONSENT,
    }
    return {
        code: PurposeFactory(tenant=tenant_a, code=code, default_lawful_basis=basis)
        for code, basis in specs.items()
    }


@pytest.fixture
def notice_a(tenant_a):
    return PrivacyNoticeFactory(
        tenant=tenant_a, version="2.0", effective_from=timezone.now() - timedelta(days=30)
    )


@pytest.fixture
def give_kwargs(tenant_a, purposes_a, notice_a):
    """A valid giving of consent for marketing; tests change one thing at a time."""
    return {
        "tenant": tenant_a,
        "number": "030 1234567",
        "purpose": "marketing",
        "lawful_basis": "consent",
        "method": "ivr_keypress",
        "notice_version": "2.0",
        "evidence": {},
        "occurred_at": timezone.now() - timedelta(minutes=5),
        "source": "api",
    }

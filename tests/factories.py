"""Factories for the whole suite.

``MODEL_FACTORIES`` maps every tenant-owned model to a factory that accepts ``tenant=``: the
tenant-isolation suite uses it to create another tenant's object for every endpoint and page,
and fails if a model reachable by URL has no factory here.
"""

from __future__ import annotations

import hashlib
from datetime import timedelta

import factory
from django.contrib.auth import get_user_model
from django.utils import timezone

from consent.models import (
    ConsentEvent,
    ConsentState,
    LawfulBasis,
    PrivacyNotice,
    ProcessingRestriction,
    Purpose,
    SmsNotice,
)
from portal import services
from portal.models import ApiKey, Membership, Tenant, Webhook, WebhookDelivery

MODEL_FACTORIES: dict = {}


def registers(model):
    def wrap(factory_class):
        MODEL_FACTORIES[model] = factory_class
        return factory_class

    return wrap


class TenantFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Tenant
        django_get_or_create = ("slug",)

    name = factory.Sequence(lambda n: f"Tenant {n}")
    slug = factory.Sequence(lambda n: f"tenant-{n}")
    country = "DE"
    timezone = "Europe/Berlin"
    supervisory_authority = "Test Supervisory Authority"
    privacy_contact_email = "privacy@tenant.example"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    password = factory.PostGenerationMethodCall("set_password", "pw")

    @factory.post_generation
    def save_password(self, create, extracted, **kwargs):
        if create:
            self.save()


@registers(Membership)
class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    tenant = factory.SubFactory(TenantFactory)
    role = Membership.Role.ADMIN


class ApiKeyFactory(factory.Factory):
    """Builds through the service; the clear key is on ``obj.clear_key``."""

    class Meta:
        model = ApiKey

    tenant = factory.SubFactory(TenantFactory)
    name = factory.Sequence(lambda n: f"key {n}")
    created_by = None

    @classmethod
    def _create(cls, model_class, *, tenant, name, created_by):
        issued = services.api_key_create(tenant=tenant, name=name, created_by=created_by)
        issued.api_key.clear_key = issued.key
        return issued.api_key


MODEL_FACTORIES[ApiKey] = ApiKeyFactory


@registers(Webhook)
class WebhookFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Webhook

    tenant = factory.SubFactory(TenantFactory)
    url = "https://hooks.example.com/portal"
    secret = "s3cret-s3cret-s3cret"
    events = factory.LazyFunction(list)


@registers(WebhookDelivery)
class WebhookDeliveryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = WebhookDelivery

    tenant = factory.SubFactory(TenantFactory)
    webhook = factory.SubFactory(WebhookFactory, tenant=factory.SelfAttribute("..tenant"))
    event = "webhook.test"
    payload = factory.LazyFunction(lambda: {"message": "hello"})


# --- consent ------------------------------------------------------------------------------


@registers(Purpose)
class PurposeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Purpose
        django_get_or_create = ("tenant", "code")

    tenant = factory.SubFactory(TenantFactory)
    code = factory.Sequence(lambda n: f"purpose_{n}")
    description = factory.LazyAttribute(lambda p: f"Processing of calls for {p.code}")
    default_lawful_basis = LawfulBasis.CONSENT


@registers(PrivacyNotice)
class PrivacyNoticeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PrivacyNotice
        django_get_or_create = ("tenant", "version")

    tenant = factory.SubFactory(TenantFactory)
    version = factory.Sequence(lambda n: f"{n + 1}.0")
    url = factory.LazyAttribute(lambda n: f"https://privacy.example.com/v{n.version}")
    text = factory.LazyAttribute(lambda n: f"Privacy notice, version {n.version}.")
    text_sha256 = factory.LazyAttribute(lambda n: hashlib.sha256(n.text.encode()).hexdigest())
    effective_from = factory.LazyFunction(lambda: timezone.now() - timedelta(days=365))


class ConsentEventFactory(factory.Factory):
    """Built through ``consent_give`` (so the current state is written too)."""

    class Meta:
        model = ConsentEvent

    tenant = factory.SubFactory(TenantFactory)
    number = factory.Sequence(lambda n: f"+49301234{n:04d}")
    purpose = factory.SubFactory(PurposeFactory, tenant=factory.SelfAttribute("..tenant"))
    notice = factory.SubFactory(PrivacyNoticeFactory, tenant=factory.SelfAttribute("..tenant"))
    lawful_basis = LawfulBasis.CONSENT
    method = ConsentEvent.Method.IVR_KEYPRESS
    occurred_at = None
    source = ConsentEvent.Source.API

    @classmethod
    def _create(cls, model_class, *, notice, **kwargs):
        from consent.services import consent_give

        return consent_give(notice_version=notice.version, **kwargs)


MODEL_FACTORIES[ConsentEvent] = ConsentEventFactory


class ConsentStateFactory(factory.Factory):
    """The current state written by a ledger event (the state table has no other writer)."""

    class Meta:
        model = ConsentState

    tenant = factory.SubFactory(TenantFactory)

    @classmethod
    def _create(cls, model_class, *, tenant, **kwargs):
        event = ConsentEventFactory(tenant=tenant, **kwargs)
        return ConsentState.objects.get(event=event)


MODEL_FACTORIES[ConsentState] = ConsentStateFactory


@registers(ProcessingRestriction)
class ProcessingRestrictionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ProcessingRestriction

    tenant = factory.SubFactory(TenantFactory)
    number = factory.Sequence(lambda n: f"+49301239{n:04d}")
    kind = ProcessingRestriction.Kind.RESTRICTION
    reason = "Accuracy contested (Art. 18(1)(a))."


@registers(SmsNotice)
class SmsNoticeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SmsNotice

    tenant = factory.SubFactory(TenantFactory)
    number = factory.Sequence(lambda n: f"+49301238{n:04d}")
    purpose = factory.SubFactory(PurposeFactory, tenant=factory.SelfAttribute("..tenant"))
    notice = factory.SubFactory(PrivacyNoticeFactory, tenant=factory.SelfAttribute("..tenant"))
    message_id = factory.Sequence(lambda n: f"msg-{n}")
    text = "Notice"

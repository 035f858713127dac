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
from django.core.files.base import ContentFile
from django.utils import timezone

from breaches.models import BreachIncident, BreachNotification, BreachTenantImpact
from calls.models import (
    Call,
    FileDeletion,
    LegalHold,
    Recording,
    RecordingAccess,
    RetentionRule,
    Transcript,
)
from consent.models import (
    ConsentEvent,
    ConsentState,
    InboundSms,
    LawfulBasis,
    PrivacyNotice,
    ProcessingRestriction,
    Purpose,
    SmsNotice,
    Suppression,
)
from dsr.models import AccessPackage, CallRectification, DataSubjectRequest
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


# --- consent purposes and calls ------------------------------------------------------------


@registers(Purpose)
class PurposeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Purpose
        django_get_or_create = ("tenant", "code")

    tenant = factory.SubFactory(TenantFactory)
    code = factory.Sequence(lambda n: f"purpose_{n}")
    description = factory.LazyAttribute(lambda p: f"Processing for {p.code}.")
    default_lawful_basis = LawfulBasis.CONTRACT


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
    """Built through ``consent_give`` / ``consent_withdraw`` (so the current state is written
    too); ``action="withdrawn"`` records a withdrawal."""

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
    action = ConsentEvent.Action.GIVEN

    @classmethod
    def _create(cls, model_class, *, notice, action, **kwargs):
        from consent.services import consent_give, consent_withdraw

        record = consent_withdraw if action == ConsentEvent.Action.WITHDRAWN else consent_give
        return record(notice_version=notice.version, **kwargs)


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


@registers(Suppression)
class SuppressionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Suppression

    tenant = factory.SubFactory(TenantFactory)
    fingerprint = factory.Sequence(lambda n: f"{n:064x}")
    kind = Suppression.Kind.OBJECTION
    since = factory.LazyFunction(timezone.now)
    request_ref = 1


@registers(InboundSms)
class InboundSmsFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = InboundSms

    tenant = factory.SubFactory(TenantFactory)
    number = factory.Sequence(lambda n: f"+49301237{n:04d}")
    message_id = factory.Sequence(lambda n: f"in-{n}")
    text = "STOP"
    outcome = InboundSms.Outcome.IGNORED


@registers(Call)
class CallFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Call

    tenant = factory.SubFactory(TenantFactory)
    external_id = factory.Sequence(lambda n: f"call-{n}")
    direction = Call.Direction.INBOUND
    caller = factory.Sequence(lambda n: f"+49301{n % 1000000:06d}")
    callee = "+49301234560"
    started_at = factory.LazyFunction(lambda: timezone.now() - timedelta(days=1))
    ended_at = factory.LazyAttribute(lambda c: c.started_at + timedelta(minutes=3))
    duration_seconds = 180
    category = "support"


def _audio_bytes(seed: int, size: int = 4096) -> bytes:
    block = hashlib.sha256(str(seed).encode()).digest()
    return (block * (size // len(block) + 1))[:size]


@registers(Recording)
class RecordingFactory(factory.django.DjangoModelFactory):
    """A recording whose file holds ``content`` (default: a few KB of distinct bytes)."""

    class Meta:
        model = Recording
        exclude = ["content"]

    tenant = factory.SubFactory(TenantFactory)
    call = factory.SubFactory(CallFactory, tenant=factory.SelfAttribute("..tenant"))
    content = factory.Sequence(_audio_bytes)
    content_type = "audio/mpeg"
    size_bytes = factory.LazyAttribute(lambda o: len(o.content))
    sha256 = factory.LazyAttribute(lambda o: hashlib.sha256(o.content).hexdigest())
    duration_seconds = 60
    file = factory.LazyAttribute(lambda o: ContentFile(o.content, name="audio.mp3"))


@registers(Transcript)
class TranscriptFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Transcript

    tenant = factory.SubFactory(TenantFactory)
    call = factory.SubFactory(CallFactory, tenant=factory.SelfAttribute("..tenant"))
    language = "de-DE"
    text = factory.Sequence(lambda n: f"Guten Tag, hier spricht der Anrufer {n}.")


@registers(RetentionRule)
class RetentionRuleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = RetentionRule

    tenant = factory.SubFactory(TenantFactory)
    category = factory.Sequence(lambda n: f"category-{n}")
    max_age_days = 365
    min_age_days = None
    # A minimum rests on a ground: here a limitation period, Art. 17(3)(e).
    legal_ground = factory.LazyAttribute(lambda rule: "art_17_3_e" if rule.min_age_days else "")
    legal_reference = ""


@registers(RecordingAccess)
class RecordingAccessFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = RecordingAccess

    tenant = factory.SubFactory(TenantFactory)
    call = factory.SubFactory(CallFactory, tenant=factory.SelfAttribute("..tenant"))
    what = RecordingAccess.What.RECORDING
    how = RecordingAccess.How.PLAYBACK
    purpose = "Quality review"


@registers(FileDeletion)
class FileDeletionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = FileDeletion

    tenant = factory.SubFactory(TenantFactory)
    storage_key = factory.Sequence(lambda n: f"tenants/0/recordings/{n:032x}")
    reason = "test"


# --- breaches ---


@registers(BreachIncident)
class BreachIncidentFactory(factory.django.DjangoModelFactory):
    """With ``tenant=``: an incident that affected that tenant and was notified to it."""

    class Meta:
        model = BreachIncident

    title = factory.Sequence(lambda n: f"Incident {n}")
    description = "Recordings were readable by an unauthorised party."
    detected_at = factory.LazyFunction(timezone.now)
    became_aware_at = factory.SelfAttribute("detected_at")
    data_categories = factory.LazyFunction(lambda: ["recordings"])
    dpo_contact = "Dana DPO <dpo@platform.example>"

    @classmethod
    def _create(cls, model_class, *args, tenant=None, **kwargs):
        incident = super()._create(model_class, *args, **kwargs)
        if tenant is not None:
            BreachTenantImpactFactory(incident=incident, tenant=tenant)
            BreachNotificationFactory(incident=incident, tenant=tenant)
        return incident


@registers(BreachTenantImpact)
class BreachTenantImpactFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = BreachTenantImpact

    incident = factory.SubFactory(BreachIncidentFactory)
    tenant = factory.SubFactory(TenantFactory)
    calls = 3
    recordings = 2
    transcripts = 1
    subjects = 2


@registers(BreachNotification)
class BreachNotificationFactory(factory.django.DjangoModelFactory):
    """A tenant notice."""

    class Meta:
        model = BreachNotification

    incident = factory.SubFactory(BreachIncidentFactory)
    recipient = BreachNotification.Recipient.TENANT
    tenant = factory.SubFactory(TenantFactory)
    recipient_name = factory.SelfAttribute("tenant.name")
    channel = BreachNotification.Channel.EMAIL_AND_WEBHOOK
    phase = BreachNotification.Phase.INITIAL
    subject = "Breach notice"
    content = "Notice content"


# --- data-subject requests --------------------------------------------------------------------


@registers(DataSubjectRequest)
class DataSubjectRequestFactory(factory.Factory):
    """Opens a request through the service (deadline, numbers, timeline and all)."""

    class Meta:
        model = DataSubjectRequest

    tenant = factory.SubFactory(TenantFactory)
    kind = "access"
    numbers = factory.LazyFunction(lambda: ["+4915112345678"])
    channel = "api"
    name = "Erika Mustermann"
    email = "erika@example.com"
    details = ""
    received_at = None
    by = None

    @classmethod
    def _create(cls, model_class, **kwargs):
        from dsr.services import request_open

        return request_open(**kwargs)


@registers(AccessPackage)
class AccessPackageFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = AccessPackage

    tenant = factory.SubFactory(TenantFactory)
    request = factory.SubFactory(
        DataSubjectRequestFactory, tenant=factory.SelfAttribute("..tenant")
    )
    status = "building"


@registers(CallRectification)
class CallRectificationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CallRectification

    tenant = factory.SubFactory(TenantFactory)
    call = factory.SubFactory(CallFactory, tenant=factory.SelfAttribute("..tenant"))
    statement = "The caller's name is spelled Meier, not Maier."


class LegalHoldFactory(factory.Factory):
    """Placed through ``calls.services.retention.holds.hold_apply``; by default on a period that
    covers every call of the tenant (``calls=[...]`` or ``numbers=[...]`` for the other scopes)."""

    class Meta:
        model = LegalHold

    tenant = factory.SubFactory(TenantFactory)
    reason_category = LegalHold.Category.LITIGATION
    reason = factory.Sequence(lambda n: f"Case {n}: claim by a former customer.")
    legal_ground = None
    calls = None
    numbers = None
    period_from = None
    period_to = None
    expires_at = None
    by = None

    @classmethod
    def _create(cls, model_class, **kwargs):
        from calls.services.retention.holds import hold_apply

        if not (kwargs["calls"] or kwargs["numbers"] or kwargs["period_from"]):
            kwargs["period_from"] = timezone.now() - timedelta(days=365 * 20)
        return hold_apply(**kwargs)


MODEL_FACTORIES[LegalHold] = LegalHoldFactory

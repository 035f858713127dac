"""Factories for the whole suite.

``MODEL_FACTORIES`` maps every tenant-owned model to a factory that accepts ``tenant=``: the
tenant-isolation suite uses it to create another tenant's object for every endpoint and page,
and fails if a model reachable by URL has no factory here.
"""

from __future__ import annotations

import hashlib

import factory
from django.contrib.auth import get_user_model
from django.core.files.base import ContentFile
from django.utils import timezone

from calls.models import Call, Recording, RecordingAccess, Transcript
from consent.models import ConsentEvent, Purpose
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


# --- calls and consent (minimal: enough for the requests' tests) ------------------------------


def _audio_bytes(seed: int, size: int = 4096) -> bytes:
    block = hashlib.sha256(str(seed).encode()).digest()
    return (block * (size // len(block) + 1))[:size]


class CallFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Call

    tenant = factory.SubFactory(TenantFactory)
    external_id = factory.Sequence(lambda n: f"call-{n}")
    direction = "inbound"
    caller = "+4915112345678"
    callee = "+4930901820"
    started_at = factory.LazyFunction(timezone.now)
    duration_seconds = 60
    category = "support"


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


class TranscriptFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Transcript

    tenant = factory.SubFactory(TenantFactory)
    call = factory.SubFactory(CallFactory, tenant=factory.SelfAttribute("..tenant"))
    language = "de-DE"
    text = factory.Sequence(lambda n: f"Guten Tag, hier spricht der Anrufer {n}.")


class PurposeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Purpose
        django_get_or_create = ("tenant", "code")

    tenant = factory.SubFactory(TenantFactory)
    code = "quality"
    description = "Recording calls to train our agents and improve service quality."
    default_lawful_basis = "consent"


class ConsentEventFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ConsentEvent

    tenant = factory.SubFactory(TenantFactory)
    number = "+4915112345678"
    purpose = factory.SubFactory(PurposeFactory, tenant=factory.SelfAttribute("..tenant"))
    lawful_basis = "consent"
    action = "given"
    method = "ivr_keypress"
    occurred_at = factory.LazyFunction(timezone.now)
    source = "api"


class RecordingAccessFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = RecordingAccess

    tenant = factory.SubFactory(TenantFactory)
    call = factory.SubFactory(CallFactory, tenant=factory.SelfAttribute("..tenant"))
    what = "recording"
    how = "playback"
    purpose = "Quality review of the agent's answer"


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

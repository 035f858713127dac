"""A subject with data in two formats of number, and data that is not theirs."""

import uuid
from dataclasses import dataclass, field

import boto3
import pytest
from moto.server import ThreadedMotoServer

from calls.models import RetentionRule
from portal import services
from portal.access import DPO_GROUP
from tests.factories import (
    CallFactory,
    ConsentEventFactory,
    PurposeFactory,
    RecordingAccessFactory,
    RecordingFactory,
    TranscriptFactory,
    UserFactory,
)

SUBJECT = "+4915112345678"
SUBJECT_2 = "+4917612345678"
OTHER = "+4915199999999"
TENANT_LINE = "+4930901820"


@dataclass
class Subject:
    tenant: object
    calls: list = field(default_factory=list)
    recordings: list = field(default_factory=list)
    transcripts: list = field(default_factory=list)
    consent_events: list = field(default_factory=list)
    accesses: list = field(default_factory=list)
    foreign_recordings: list = field(default_factory=list)
    foreign_calls: list = field(default_factory=list)


@pytest.fixture
def subject(tenant_a, tenant_b):
    """Tenant A's caller with two numbers; another caller of A; the same number at tenant B."""
    quality = PurposeFactory(tenant=tenant_a, code="quality")
    complaints = PurposeFactory(
        tenant=tenant_a,
        code="complaints",
        description="Handling your complaint and keeping the evidence.",
        default_lawful_basis="legal_obligation",
    )
    RetentionRule.objects.create(tenant=tenant_a, category="support", max_age_days=365)
    RetentionRule.objects.create(
        tenant=tenant_a,
        category="complaint",
        min_age_days=1825,
        max_age_days=2190,
        legal_ground="art_17_3_e",
        legal_reference="§ 195 BGB statute of limitations",
    )
    data = Subject(tenant=tenant_a)
    inbound = CallFactory(tenant=tenant_a, caller=SUBJECT, callee=TENANT_LINE)
    inbound.purposes.add(quality)
    outbound = CallFactory(
        tenant=tenant_a,
        direction="outbound",
        caller=TENANT_LINE,
        callee=SUBJECT_2,
        category="complaint",
    )
    outbound.purposes.add(complaints)
    no_recording = CallFactory(tenant=tenant_a, caller=SUBJECT, callee=TENANT_LINE)
    data.calls = [inbound, outbound, no_recording]
    data.recordings = [
        RecordingFactory(tenant=tenant_a, call=inbound),
        RecordingFactory(tenant=tenant_a, call=outbound, content_type="audio/wav"),
    ]
    data.transcripts = [TranscriptFactory(tenant=tenant_a, call=inbound, text="Subject speaking.")]
    data.consent_events = [
        ConsentEventFactory(tenant=tenant_a, number=SUBJECT, purpose=quality),
        ConsentEventFactory(tenant=tenant_a, number=SUBJECT, purpose=quality, action="withdrawn"),
    ]
    agent = UserFactory(username="agent-smith", first_name="Agent", last_name="Smith")
    data.accesses = [
        RecordingAccessFactory(
            tenant=tenant_a, call=inbound, user=agent, purpose="Quality review of call handling"
        )
    ]
    # Not the subject's: another caller of tenant A, and the same number at tenant B.
    other_call = CallFactory(
        tenant=tenant_a, caller=OTHER, callee=TENANT_LINE, external_id="foreign-other-caller"
    )
    foreign_call = CallFactory(
        tenant=tenant_b, caller=SUBJECT, callee="+35312345678", external_id="foreign-tenant-b"
    )
    data.foreign_calls = [other_call, foreign_call]
    data.foreign_recordings = [
        RecordingFactory(tenant=tenant_a, call=other_call),
        RecordingFactory(tenant=tenant_b, call=foreign_call),
    ]
    TranscriptFactory(tenant=tenant_a, call=other_call, text="Somebody else entirely.")
    ConsentEventFactory(tenant=tenant_a, number=OTHER, purpose=quality)
    ConsentEventFactory(tenant=tenant_b, number=SUBJECT)
    RecordingAccessFactory(tenant=tenant_a, call=other_call, purpose="Not the subject's")
    return data


@pytest.fixture
def second_dpo(db):
    return services.staff_user_create(
        username="dpo2", group=DPO_GROUP, password="pw", email="dpo2@platform.example"
    )


@pytest.fixture
def s3_storage(settings):
    """Default storage on moto's S3 server on loopback: a versioned bucket, dummy credentials.
    Yields the boto3 client and the bucket name."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{server._server.server_port}"
    bucket = f"portal-{uuid.uuid4().hex[:8]}"
    credentials = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
    client = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1", **credentials)
    client.create_bucket(Bucket=bucket)
    client.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": {
                "bucket_name": bucket,
                "endpoint_url": endpoint,
                "access_key": "testing",
                "secret_key": "testing",
                "region_name": "us-east-1",
                "file_overwrite": False,
                "querystring_auth": True,
                "querystring_expire": 120,
            },
        },
    }
    settings.AWS_S3_FILE_BUFFER_SIZE = 5 * 1024 * 1024
    yield client, bucket
    server.stop()

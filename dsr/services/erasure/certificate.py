"""The erasure certificate: what was erased, what was deferred and why, when, on whose approval,
and what the residual-data scan found — without the subject's numbers.

A certificate is issued when the request closes and again at each later step (deferred items
erased). Each version is stored as issued (``ErasureCertificate``), as canonical JSON (sorted
keys, no spaces), and the SHA-256 of those bytes is recorded in the request's timeline and
history: the tenant can check the certificate it downloads against it.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db.models import Max
from django.template.loader import render_to_string
from django.utils import timezone

from calls.models import ErasureGround, FileDeletion
from consent.services import SUPPRESSION_EXPLANATION, suppressions_for
from dsr.models import DataSubjectRequest, ErasureCertificate, ErasureItem
from dsr.services.base import record_event, save_request

Status = ErasureItem.Status
# What the counts of erased items mean, in words (singular, plural); others are bookkeeping.
COUNT_WORDS = {
    "call": ("call", "calls"),
    "recording": ("recording", "recordings"),
    "transcript": ("transcript", "transcripts"),
    "recording_access": ("recording-access entry", "recording-access entries"),
    "rectification": ("supplementary statement", "supplementary statements"),
    "consent_event": ("consent event", "consent events"),
    "consent_state": ("current consent state", "current consent states"),
    "restriction": ("restriction or objection", "restrictions and objections"),
    "sms_notice": ("SMS notice", "SMS notices"),
    "inbound_sms": ("SMS received from the subject", "SMS received from the subject"),
    "hold_number": ("number named by a legal hold", "numbers named by legal holds"),
    "request_number": ("number kept by another request", "numbers kept by other requests"),
    "package": ("access package", "access packages"),
}
FINGERPRINT_METHOD = "HMAC-SHA256 of the E.164 number with the platform's tombstone key"


def describe_counts(counts) -> str:
    parts = [
        f"{counts[kind]} {words[0] if counts[kind] == 1 else words[1]}"
        for kind, words in COUNT_WORDS.items()
        if counts.get(kind)
    ]
    return ", ".join(parts) if parts else "nothing was found"


def canonical_json(content: dict) -> bytes:
    return json.dumps(
        content, cls=DjangoJSONEncoder, sort_keys=True, separators=(",", ":"), ensure_ascii=False
    ).encode()


def _actor(user) -> str | None:
    return user.get_username() if user is not None else None


def _approval(request: DataSubjectRequest) -> dict:
    if request.approved_by_policy:
        setting = (request.policy_snapshot or {}).get("automation", {})
        return {
            "by": None,
            "by_policy": True,
            "policy": "auto_approve_erasure" if setting.get("auto_approve_erasure") else "",
            "statement": "Approved by policy: the tenant's setting auto_approve_erasure approves "
            "erasure requests opened by its own API key.",
        }
    opened = _actor(request.opened_by) or (
        f"API key {request.opened_by_api_key.prefix}…" if request.opened_by_api_key else None
    )
    return {
        "by": _actor(request.decided_by),
        "by_policy": False,
        "four_eyes": {
            "opened_by": opened,
            "verified_by": _actor(request.verified_by),
            "approved_by": _actor(request.decided_by),
        },
        "statement": "Approved by a person holding the approve_erasure permission who neither "
        "opened nor verified the request (four-eyes).",
    }


def _item(item: ErasureItem) -> dict:
    return {"kind": item.kind, "id": item.object_id, "label": item.label}


def _deferral(item: ErasureItem) -> dict:
    return {
        **_item(item),
        "blocker": item.blocker,
        "reason": item.reason,
        "legal_ground": item.legal_ground,
        "legal_ground_text": ErasureGround(item.legal_ground).label if item.legal_ground else "",
        "deferred_at": item.deferred_at,
        "expected_release": item.release_expected_at,
    }


def certificate_content(request: DataSubjectRequest, *, version: int) -> dict:
    items = list(ErasureItem.objects.filter(request=request).order_by("kind", "object_id"))
    deletions = {
        d.pk: d
        for d in FileDeletion.objects.filter(
            pk__in=[i for item in items for i in (item.file_deletions or [])]
        )
    }
    steps = []
    totals: Counter = Counter()
    for step in sorted({item.step for item in items if item.step}):
        erased = [item for item in items if item.status == Status.ERASED and item.step == step]
        counts: Counter = Counter()
        for item in erased:
            counts.update(item.counts or {})
        totals.update(counts)
        objects = []
        for item in erased:
            for deletion_id in item.file_deletions or []:
                deletion = deletions.get(deletion_id)
                if deletion is not None:
                    objects.append(
                        {
                            "key_sha256": hashlib.sha256(deletion.storage_key.encode()).hexdigest(),
                            "versions_removed": deletion.versions_removed,
                            "removed_at": deletion.completed_at,
                        }
                    )
        at = max(item.erased_at for item in erased) if erased else None
        kept = [
            item
            for item in items
            if item.deferred_at
            and at
            and item.deferred_at <= at
            and (item.status == Status.DEFERRED or (item.step or 0) > step)
        ]
        steps.append(
            {
                "step": step,
                "at": at,
                "summary": describe_counts(counts),
                "deferred_after_this_step": [_deferral(item) for item in kept],
                "erased": dict(sorted(counts.items())),
                "items": [
                    {**_item(item), **({"was_deferred": item.reason} if item.deferred_at else {})}
                    for item in erased
                ],
                "storage_objects_removed": sorted(objects, key=lambda o: o["key_sha256"]),
            }
        )
    run = getattr(request, "erasure_run", None)
    fingerprints = sorted(request.tombstones.values_list("fingerprint", flat=True).distinct())
    tenant = request.tenant
    return {
        "type": "erasure_certificate",
        "version": version,
        "issued_at": timezone.now(),
        "issuer": settings.PLATFORM_NAME,
        "controller": tenant.legal_name or tenant.name,
        "tenant": tenant.slug,
        "request": {
            "id": request.pk,
            "kind": request.kind,
            "channel": request.channel,
            "received_at": request.received_at,
            "approved_at": request.approved_at,
            "processing_at": request.processing_at,
            "status": request.status,
            "completed_at": request.completed_at if request.status == "completed" else None,
            "partially_completed_at": (
                request.completed_at if request.status == "partially_completed" else None
            ),
        },
        "approval": _approval(request),
        "subject": {
            "numbers": len(fingerprints),
            "fingerprints": fingerprints,
            "fingerprint_method": FINGERPRINT_METHOD,
            "note": "The subject's numbers are not kept: only these keyed hashes (tombstones).",
        },
        "kept_suppressions": {
            "explanation": SUPPRESSION_EXPLANATION,
            "records": [
                {
                    "kind": row.kind,
                    "kind_text": row.get_kind_display(),
                    "purpose": row.purpose_code or None,
                    "since": row.since,
                }
                for row in suppressions_for(tenant_id=tenant.pk, fingerprints=fingerprints)
            ],
        },
        "steps": steps,
        "erased_total": dict(sorted(totals.items())),
        "deferred": [_deferral(item) for item in items if item.status == Status.DEFERRED],
        "residual_scan": run.scan_summary if run is not None else {},
        "storage": "Recordings and packages are removed with every stored version and delete "
        "marker; each removed object is listed by the SHA-256 of its storage key.",
    }


def certificate_issue(request: DataSubjectRequest) -> ErasureCertificate:
    """Issue the next version; record its SHA-256 in the timeline and the request's history."""
    latest = request.erasure_certificates.aggregate(v=Max("version"))["v"] or 0
    content = certificate_content(request, version=latest + 1)
    sha256 = hashlib.sha256(canonical_json(content)).hexdigest()
    issued = ErasureCertificate.objects.create(
        tenant_id=request.tenant_id,
        request=request,
        version=latest + 1,
        content=json.loads(canonical_json(content)),
        sha256=sha256,
    )
    note = f"Erasure certificate v{issued.version} issued, SHA-256 {sha256}."
    record_event(request, "certificate", note=note)
    save_request(request, reason=f"erasure certificate v{issued.version}: SHA-256 {sha256}")
    return issued


def certificate_latest(request: DataSubjectRequest) -> ErasureCertificate | None:
    return request.erasure_certificates.order_by("-version").first()


def certificate_bytes(certificate: ErasureCertificate) -> bytes:
    """The certificate exactly as issued: its SHA-256 is the one recorded."""
    return canonical_json(certificate.content)


def certificate_html(certificate: ErasureCertificate) -> str:
    return render_to_string(
        "dsr/erasure_certificate.html",
        {
            "cert": certificate.content,
            "sha256": certificate.sha256,
            "grounds": dict(ErasureGround.choices),
        },
    )

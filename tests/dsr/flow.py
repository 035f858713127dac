"""The access-request flow as a tenant and the DPO live it, and what the package must hold.

Shared by the in-process test and the real-worker (Redis) test.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import zipfile

from django.core.files.storage import default_storage

from portal.numbers import number_variants
from tests.dsr.conftest import OTHER, SUBJECT, SUBJECT_2

ART_15_ITEMS = [f"(Art. 15(1)({letter}))" for letter in "abcdefgh"]


def open_via_api(api, **extra) -> dict:
    response = api.post(
        "/api/v1/requests/",
        {
            "kind": "access",
            "numbers": ["0151 12345678", "+49 (176) 1234-5678"],
            "name": "Erika Mustermann",
            "email": "erika@example.com",
            "details": "Please send me a copy of my calls.",
            **extra,
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    return response.json()


def admin_post(client, request_id: int, action: str, data: dict):
    url = f"/admin/dsr/datasubjectrequest/{request_id}/do/{action}/"
    response = client.post(url, data)
    assert response.status_code == 302, response.content.decode()[:2000]
    return response


def verify_and_approve_in_admin(client, dpo, request_id: int) -> None:
    client.force_login(dpo)
    page = client.get(f"/admin/dsr/datasubjectrequest/{request_id}/change/")
    assert page.status_code == 200
    assert "Record identity verification" in page.content.decode()
    admin_post(client, request_id, "verify", {"method": "call_details", "note": "Knew the dates."})
    admin_post(client, request_id, "approve", {"reasons": ""})


def download(api, request_id: int) -> bytes:
    response = api.get(f"/api/v1/requests/{request_id}/package/")
    assert response.status_code == 200, response.content[:500]
    assert response["Content-Type"] == "application/zip"
    return b"".join(response.streaming_content)


def _read_stored(name: str) -> bytes:
    with default_storage.open(name, "rb") as handle:
        return handle.read()


def check_package(content: bytes, subject, request_id: int) -> dict:
    """Assert everything the issue asks of an access package; return its parts."""
    archive = zipfile.ZipFile(io.BytesIO(content))
    assert archive.testzip() is None
    names = set(archive.namelist())
    manifest = json.loads(archive.read("manifest.json"))
    assert manifest["request"] == request_id
    listed = {entry["path"]: entry for entry in manifest["files"]}
    assert set(listed) | {"manifest.json"} == names
    for path, entry in listed.items():
        data = archive.read(path)
        assert hashlib.sha256(data).hexdigest() == entry["sha256"], path
        assert len(data) == entry["size"], path

    # Every recording of the subject, byte-identical; nobody else's.
    recordings = {n for n in names if n.startswith("recordings/")}
    expected = {}
    for recording in subject.recordings:
        extension = ".mp3" if recording.content_type == "audio/mpeg" else ".wav"
        expected[f"recordings/call-{recording.call_id}{extension}"] = recording
    assert recordings == set(expected)
    for path, recording in expected.items():
        original = _read_stored(recording.file.name)
        assert archive.read(path) == original
        assert listed[path]["sha256"] == recording.sha256 == hashlib.sha256(original).hexdigest()
    assert {n for n in names if n.startswith("transcripts/")} == {
        f"transcripts/call-{t.call_id}.txt" for t in subject.transcripts
    }

    data = json.loads(archive.read("data.json"))
    assert {c["id"] for c in data["calls"]} == {c.pk for c in subject.calls}
    assert {e["id"] for e in data["consent_history"]} == {e.pk for e in subject.consent_events}
    assert {a["call"] for a in data["recording_accesses"]} == {a.call_id for a in subject.accesses}
    assert sorted(data["subject_numbers"]) == sorted([SUBJECT, SUBJECT_2])
    calls_csv = list(csv.DictReader(io.StringIO(archive.read("calls.csv").decode())))
    assert {int(row["id"]) for row in calls_csv} == {c.pk for c in subject.calls}
    assert "consent_history.csv" in names and "recording_accesses.csv" in names

    for letter_name in ("cover_letter.txt", "cover_letter.html"):
        letter = archive.read(letter_name).decode()
        for item in ART_15_ITEMS:
            assert item in letter, (letter_name, item)
        assert "Test Supervisory Authority" in letter  # (f) the authority, by name
        assert "quality" in letter and "complaints" in letter  # (a) the purposes
        assert "1825 days" in letter and "§ 195 BGB" in letter  # (d) retention, with the law
        assert "365 days" in letter
        for right in ("rectify", "erase", "restrict", "object"):  # (e)
            assert right in letter
        assert "Quality review of call handling" in letter  # consultations: purpose...
        when = subject.accesses[0].accessed_at.astimezone(subject.tenant.tzinfo)
        assert when.strftime("%Y-%m-%d %H:%M") in letter  # ...and date
        assert "agent-smith" not in letter and "Smith" not in letter  # ...never the staff
        assert "Your consent history".upper() in letter.upper()
        assert "Withdrawn" in letter and "Given" in letter

    # Nothing of any other subject or tenant, in any file.
    foreign_bytes = [_read_stored(r.file.name) for r in subject.foreign_recordings]
    for name in names:
        blob = archive.read(name)
        for variant in number_variants(OTHER):
            assert variant.encode() not in blob, (name, variant)
        assert b"Somebody else entirely" not in blob
        assert not any(foreign in blob for foreign in foreign_bytes), name
        for call in subject.foreign_calls:
            assert call.external_id.encode() not in blob, name
    return {"manifest": manifest, "data": data, "names": names}

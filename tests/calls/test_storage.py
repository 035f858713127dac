"""Storage helpers: SHA-256 taken on the way in, and deletion that leaves nothing."""

import hashlib
import io
from datetime import timedelta

from django.core.files.storage import FileSystemStorage
from django.utils import timezone
from hypothesis import given, settings
from hypothesis import strategies as st

from calls.models import Call, RetentionRule
from calls.services import call_deletion_blockers
from calls.services.retention.holds import HoldsIndex
from calls.services.storage import save_hashed, stored_file_remove, stored_file_versions


def test_the_digest_is_taken_while_the_backend_reads(tmp_path):
    data = bytes(range(256)) * 5000
    stored = save_hashed(
        "a/b",
        io.BytesIO(data),
        content_type="audio/wav",
        storage=FileSystemStorage(location=tmp_path),
    )
    assert stored.sha256 == hashlib.sha256(data).hexdigest() and stored.size == len(data)
    assert (tmp_path / stored.name).read_bytes() == data


class _SkippingStorage(FileSystemStorage):
    """A backend that reads the end of the file first (as some multipart uploaders might)."""

    def _save(self, name, content):
        content.seek(10)
        content.read(5)
        content.seek(0)
        return super()._save(name, content)


def test_an_out_of_order_backend_still_gets_the_right_digest(tmp_path):
    data = b"0123456789abcdefghij" * 100
    stored = save_hashed(
        "c", io.BytesIO(data), content_type="audio/wav", storage=_SkippingStorage(location=tmp_path)
    )
    assert stored.sha256 == hashlib.sha256(data).hexdigest()


def test_removing_a_local_file_twice_is_fine(tmp_path):
    storage = FileSystemStorage(location=tmp_path)
    name = storage.save("x", io.BytesIO(b"data"))
    assert stored_file_versions(name, storage=storage) == 1
    assert stored_file_remove(name, storage=storage) == 1
    assert stored_file_remove(name, storage=storage) == 0
    assert stored_file_versions(name, storage=storage) == 0


@settings(max_examples=200, deadline=None)
@given(
    age=st.integers(min_value=0, max_value=4000),
    min_age=st.one_of(st.none(), st.integers(min_value=1, max_value=3000)),
)
def test_a_call_is_blocked_exactly_while_it_is_younger_than_the_minimum(age, min_age):
    now = timezone.now()
    call = Call(tenant_id=1, category="complaint", started_at=now - timedelta(days=age))
    rule = RetentionRule(tenant_id=1, category="complaint", min_age_days=min_age)
    no_holds = HoldsIndex(at=now)  # (legal holds have their own tests: tests/dsr/test_holds.py)
    blockers = call_deletion_blockers(call, at=now, rules={(1, "complaint"): rule}, holds=no_holds)
    assert bool(blockers) == (min_age is not None and age < min_age)
    other_category = call_deletion_blockers(
        call, at=now, rules={(1, "sales"): rule}, holds=no_holds
    )
    assert other_category == []

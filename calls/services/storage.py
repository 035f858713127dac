"""Files in storage: saving with a SHA-256 taken on the way in, and removing every trace.

Both work on the default storage (local files, or S3-compatible object storage through
django-storages). ``stored_file_remove`` is what deletion and erasure use: on a versioned
bucket a plain DELETE only adds a delete marker and keeps the data, so it removes every
version and every delete marker of the key.
"""

from __future__ import annotations

import hashlib
import io
import os
from collections.abc import Iterator
from dataclasses import dataclass

from django.core.files import File
from django.core.files.storage import Storage, default_storage

READ_CHUNK = 1024 * 1024


class _HashingReader(io.RawIOBase):
    """A read-only view of a file that hashes the bytes as the storage backend reads them.

    Backends read sequentially from the start (FileSystemStorage through ``chunks()``, S3
    through ``upload_fileobj``); if one ever reads out of order the digest is marked incomplete
    and ``save_hashed`` hashes the file again instead of trusting it.
    """

    def __init__(self, raw) -> None:
        super().__init__()
        self._raw = raw
        self._digest = hashlib.sha256()
        self._hashed_upto = 0
        self.in_order = True

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        return self._raw.seek(offset, whence)

    def tell(self) -> int:
        return self._raw.tell()

    def read(self, size: int = -1) -> bytes:
        position = self._raw.tell()
        data = self._raw.read(size)
        if position == self._hashed_upto:
            self._digest.update(data)
            self._hashed_upto += len(data)
        elif position + len(data) > self._hashed_upto:
            self.in_order = False  # a jump forward: part of the file was never hashed
        return data

    def readinto(self, buffer) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    @property
    def hashed_bytes(self) -> int:
        return self._hashed_upto

    def hexdigest(self) -> str:
        return self._digest.hexdigest()


@dataclass(frozen=True)
class StoredFile:
    name: str
    size: int
    sha256: str


def _sha256_of(raw) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    raw.seek(0)
    while chunk := raw.read(READ_CHUNK):
        digest.update(chunk)
        size += len(chunk)
    return digest.hexdigest(), size


def save_hashed(name: str, raw, *, content_type: str, storage: Storage | None = None) -> StoredFile:
    """Write ``raw`` (a binary file object) to storage under ``name``; SHA-256 and size are
    computed from the bytes as they are streamed to the backend, in one pass."""
    storage = storage or default_storage
    raw.seek(0)
    reader = _HashingReader(raw)
    content = File(reader, name=name)
    content.content_type = content_type  # S3Storage sends it as the object's Content-Type
    stored_name = storage.save(name, content)
    total = raw.seek(0, os.SEEK_END)
    if reader.in_order and reader.hashed_bytes == total:
        return StoredFile(stored_name, total, reader.hexdigest())
    sha256, size = _sha256_of(raw)
    return StoredFile(stored_name, size, sha256)


def _s3_parts(storage: Storage):
    """(client, bucket, key function) when ``storage`` is django-storages' S3Storage."""
    try:
        from storages.backends.s3 import S3Storage
    except ImportError:  # pragma: no cover - django-storages is a dependency
        return None
    if not isinstance(storage, S3Storage):
        return None
    return storage.connection.meta.client, storage.bucket_name, storage._normalize_name


def stored_file_remove(name: str, *, storage: Storage | None = None) -> int:
    """Remove ``name`` from storage completely; return how many objects (versions and delete
    markers, or the one local file) were removed. A file that is already gone is success (0).
    """
    if not name:
        return 0
    storage = storage or default_storage
    s3 = _s3_parts(storage)
    if s3 is None:
        if not storage.exists(name):
            return 0
        storage.delete(name)
        return 1
    client, bucket, normalize = s3
    key = normalize(name)
    removed = 0
    # Versions and delete markers share the listing; a prefix listing can return longer keys
    # (recordings/abc and recordings/abcd), so only the exact key is deleted.
    paginator = client.get_paginator("list_object_versions")
    for page in paginator.paginate(Bucket=bucket, Prefix=key):
        entries = [
            {"Key": entry["Key"], "VersionId": entry["VersionId"]}
            for entry in [*page.get("Versions", []), *page.get("DeleteMarkers", [])]
            if entry["Key"] == key
        ]
        if not entries:
            continue
        response = client.delete_objects(Bucket=bucket, Delete={"Objects": entries, "Quiet": True})
        errors = response.get("Errors", [])
        if errors:
            first = errors[0]
            raise OSError(
                f"Storage refused to delete {key} version {first.get('VersionId')}: "
                f"{first.get('Code')} {first.get('Message')}"
            )
        removed += len(entries)
    return removed


def stored_file_versions(name: str, *, storage: Storage | None = None) -> int:
    """How many objects (versions and delete markers, or the local file) ``name`` still has."""
    storage = storage or default_storage
    s3 = _s3_parts(storage)
    if s3 is None:
        return 1 if storage.exists(name) else 0
    client, bucket, normalize = s3
    key = normalize(name)
    count = 0
    for page in client.get_paginator("list_object_versions").paginate(Bucket=bucket, Prefix=key):
        entries = [*page.get("Versions", []), *page.get("DeleteMarkers", [])]
        count += sum(1 for entry in entries if entry["Key"] == key)
    return count


@dataclass(frozen=True)
class StoredObject:
    """One object (or one version, or delete marker) found in storage under a prefix."""

    key: str
    version_id: str = ""
    is_delete_marker: bool = False
    metadata: tuple[tuple[str, str], ...] = ()


def stored_objects(
    prefix: str, *, storage: Storage | None = None, with_metadata: bool = True
) -> Iterator[StoredObject]:
    """Everything stored under ``prefix``: on S3 every version and delete marker, with the
    user metadata and content headers of each version (``with_metadata``: one HEAD request per
    version); on local storage every file (its name is all there is)."""
    storage = storage or default_storage
    s3 = _s3_parts(storage)
    if s3 is None:
        yield from _local_objects(storage, prefix)
        return
    client, bucket, normalize = s3
    base = normalize(prefix)
    for page in client.get_paginator("list_object_versions").paginate(Bucket=bucket, Prefix=base):
        for marker in page.get("DeleteMarkers", []):
            yield StoredObject(marker["Key"], marker["VersionId"], is_delete_marker=True)
        for version in page.get("Versions", []):
            metadata: tuple[tuple[str, str], ...] = ()
            if with_metadata:
                head = client.head_object(
                    Bucket=bucket, Key=version["Key"], VersionId=version["VersionId"]
                )
                pairs = [(f"x-amz-meta-{k}", str(v)) for k, v in head.get("Metadata", {}).items()]
                pairs += [
                    (name, str(head[name]))
                    for name in ("ContentDisposition", "ContentType", "ContentEncoding")
                    if head.get(name)
                ]
                metadata = tuple(pairs)
            yield StoredObject(version["Key"], version["VersionId"], metadata=metadata)


def _local_objects(storage: Storage, prefix: str) -> Iterator[StoredObject]:
    directory = prefix.rstrip("/")
    try:
        if not storage.exists(directory):
            return
        directories, files = storage.listdir(directory)
    except (NotImplementedError, FileNotFoundError):
        return
    for name in files:
        yield StoredObject(f"{directory}/{name}")
    for name in directories:
        yield from _local_objects(storage, f"{directory}/{name}/")

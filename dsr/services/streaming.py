"""Streaming to and from storage in bounded memory, on the filesystem and S3 backends alike.

django-storages' ``S3File`` in read mode downloads a whole object into memory before the first
byte is read, and ``upload_fileobj`` on a non-seekable stream may hold up to ten 8 MB parts; both
are avoided here. Reading uses the object's HTTP body in chunks; writing uses a multipart upload
with one part (``AWS_S3_FILE_BUFFER_SIZE``, 5 MB) buffered at a time.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Callable, Iterable, Iterator

from django.core.files import File
from django.core.files.storage import Storage
from storages.backends.s3 import S3Storage
from storages.utils import clean_name

CHUNK_SIZE = 256 * 1024


class IterableReader(io.RawIOBase):
    """A read-only, non-seekable file over an iterator of byte chunks."""

    def __init__(self, chunks: Iterable[bytes]):
        self._chunks = iter(chunks)
        self._pending = memoryview(b"")

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        while not len(self._pending):
            try:
                self._pending = memoryview(next(self._chunks))
            except StopIteration:
                return 0
        size = min(len(buffer), len(self._pending))
        buffer[:size] = self._pending[:size]
        self._pending = self._pending[size:]
        return size


def read_chunks(storage: Storage, name: str, chunk_size: int = CHUNK_SIZE) -> Iterator[bytes]:
    """The object's bytes in chunks, never the whole object in memory."""
    if isinstance(storage, S3Storage):
        key = storage._normalize_name(clean_name(name))
        body = storage.bucket.Object(key).get()["Body"]
        try:
            yield from body.iter_chunks(chunk_size)
        finally:
            body.close()
        return
    with storage.open(name, "rb") as handle:
        yield from handle.chunks(chunk_size)


def write_stream(storage: Storage, name: str, chunks: Iterable[bytes]) -> str:
    """Store ``chunks`` under ``name`` (or a free variant of it); returns the stored name.

    If the stream fails half-way nothing is left behind on S3 (the multipart upload is
    aborted); on the filesystem the caller deletes the partial file it is told about.
    """
    if isinstance(storage, S3Storage):
        name = storage.get_available_name(name)
        target = storage.open(name, "wb")
        try:
            for chunk in chunks:
                target.write(chunk)
        except BaseException:
            target._is_dirty = False  # close() then aborts the multipart upload
            target.close()
            raise
        target.close()
        return name
    return storage.save(name, File(IterableReader(chunks), name=name))


class Digest:
    """Counts and hashes bytes as they pass through."""

    def __init__(self):
        self.sha256 = hashlib.sha256()
        self.size = 0

    def wrap(
        self, chunks: Iterable[bytes], on_done: Callable[[Digest], None] | None = None
    ) -> Iterator[bytes]:
        for chunk in chunks:
            self.sha256.update(chunk)
            self.size += len(chunk)
            yield chunk
        if on_done is not None:
            on_done(self)

    @property
    def hexdigest(self) -> str:
        return self.sha256.hexdigest()

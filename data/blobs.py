"""Content-addressed blob store for raw mail and attachments.

Blobs are immutable files named by their sha256 under the data dir. Writing is idempotent
(same bytes, same name) and atomic (temp file, made durable, then renamed), so a crash never
leaves a half-written blob behind a committed database row.

Layout: ``<root>/ab/<digest>``, 256 directories made once each. Stores written before used
``<root>/ab/cd/<digest>``, which cost a directory (a mkdir and its inode) for nearly every
new blob; those blobs are never moved, and a store that still has them is read (and
deduplicated against) in both places. Whether it has them is guessed when the store is
opened (a directory's link count is 2 plus its subdirectories, and the new layout has none);
the guess only saves the second look-up when deduplicating. Reading always falls back to the
old place, so a file system that reports link counts oddly can cost a duplicate, never a blob.

A batch of blobs (`BlobStore.batch`, `put_many`) is made durable behind one barrier instead
of one fsync per file: on Linux, `syncfs` of the store's filesystem once the temporary files
are written, and again once they are renamed. Both return only when everything is on disk, so
callers may commit rows that name the blobs as soon as the batch is committed. (The price: a
barrier also waits for other dirty data on the same filesystem.)
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import re
import sys
import threading
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

# A batch of fewer blobs than this (one mail from a Maildir) fsyncs each file instead: a
# filesystem-wide sync also waits for whatever else is dirty on that filesystem.
_BARRIER_MIN_FILES = 3


def _load_syncfs() -> Callable[[int], int] | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        function = ctypes.CDLL(None, use_errno=True).syncfs
    except (OSError, AttributeError):
        return None
    function.argtypes = [ctypes.c_int]
    function.restype = ctypes.c_int
    syncfs: Callable[[int], int] = function  # ctypes releases the GIL during the call
    return syncfs


_syncfs = _load_syncfs()


def _has_subdirectories(directory: str) -> bool:
    """Whether a directory may hold subdirectories (yes when the file system cannot tell)."""
    try:
        links = os.stat(directory).st_nlink
    except OSError:
        return False
    # 2 ("." and the parent's entry) means none; btrfs and very large ext4 directories
    # report 1, which says nothing, so it counts as "maybe".
    return links != 2


_DIGEST = re.compile(r"[0-9a-f]{64}")


class BlobStore:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.root.mkdir(parents=True, exist_ok=True)
        # Any blob in the old two-level layout? Then every lookup also tries it.
        with os.scandir(self.root) as entries:
            self.legacy_layout = any(
                len(e.name) == 2 and e.is_dir() and _has_subdirectories(e.path) for e in entries
            )

    def _new_path(self, digest: str) -> str:
        if not _DIGEST.fullmatch(digest):
            raise ValueError(f"not a sha256 digest: {digest!r}")
        return f"{self.root}/{digest[:2]}/{digest}"

    def _legacy_path(self, digest: str) -> str:
        return f"{self.root}/{digest[:2]}/{digest[2:4]}/{digest}"

    def _stored(self, target: str, digest: str) -> bool:
        """Whether the blob is already in the store, in either layout."""
        return os.path.exists(target) or (
            self.legacy_layout and os.path.exists(self._legacy_path(digest))
        )

    def path_for(self, digest: str) -> Path:
        """Where the blob is (or would be written, if it is not stored)."""
        path = self._new_path(digest)
        if not os.path.exists(path):
            legacy = self._legacy_path(digest)
            if os.path.exists(legacy):
                return Path(legacy)
        return Path(path)

    def _tmp_name(self, directory: str, digest: str) -> str:
        # pid and thread: two writers of the same bytes never share a temporary file.
        return f"{directory}/.{digest}.{os.getpid()}.{threading.get_ident()}.tmp"

    def put(self, data: bytes, *, durable: bool = True) -> str:
        digest = hashlib.sha256(data).hexdigest()
        target = self._new_path(digest)
        if self._stored(target, digest):
            return digest
        directory = os.path.dirname(target)
        os.makedirs(directory, exist_ok=True)
        tmp = self._tmp_name(directory, digest)
        with open(tmp, "wb") as fh:
            fh.write(data)
            if durable:
                fh.flush()
                os.fsync(fh.fileno())
        os.replace(tmp, target)
        return digest

    def put_many(self, blobs: Sequence[bytes]) -> list[str]:
        """Store several blobs durably; their digests, in order (see `BlobBatch`)."""
        batch = self.batch(len(blobs))
        digests = batch.write_all(blobs)
        batch.commit()
        return digests

    def batch(self, size_hint: int) -> BlobBatch:
        """A batch of about `size_hint` blobs made durable together by `BlobBatch.commit`."""
        return BlobBatch(self, barrier=_syncfs is not None and size_hint >= _BARRIER_MIN_FILES)

    def _barrier(self) -> None:
        assert _syncfs is not None
        fd = os.open(self.root, os.O_RDONLY)
        try:
            if _syncfs(fd) != 0:
                err = ctypes.get_errno()
                raise OSError(err, f"syncfs of the blob store failed: {os.strerror(err)}")
        finally:
            os.close(fd)

    def get(self, digest: str) -> bytes:
        try:
            with open(self._new_path(digest), "rb") as fh:
                return fh.read()
        except FileNotFoundError:
            legacy = self._legacy_path(digest)
            if not os.path.exists(legacy):
                raise
        with open(legacy, "rb") as fh:
            return fh.read()

    def exists(self, digest: str) -> bool:
        return self._stored(self._new_path(digest), digest)


class BlobBatch:
    """Blobs written now and made durable, under their final names, by `commit()`.

    With a barrier (Linux, enough blobs) the contents go to temporary files first; `commit`
    then syncs the filesystem once, renames them all, and syncs again, instead of one fsync
    per file. A blob that exists under its digest is therefore always complete, even after a
    power loss. Without a barrier every `write` is a durable `BlobStore.put`. Not thread-safe:
    one thread at a time writes and commits.
    """

    def __init__(self, store: BlobStore, *, barrier: bool) -> None:
        self.store = store
        self.barrier = barrier
        self._staged: dict[str, tuple[str, str]] = {}  # digest -> (temporary file, target)

    def write(self, data: bytes) -> str:
        if not self.barrier:
            return self.store.put(data)
        digest = hashlib.sha256(data).hexdigest()
        if digest in self._staged:
            return digest
        target = self.store._new_path(digest)
        if self.store._stored(target, digest):
            return digest
        directory = os.path.dirname(target)
        tmp = self.store._tmp_name(directory, digest)
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        except FileNotFoundError:  # the first blob of its directory
            os.makedirs(directory, exist_ok=True)
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        self._staged[digest] = (tmp, target)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
        finally:
            os.close(fd)
        return digest

    def take(self) -> dict[str, bytes]:
        """Blobs held back for the database to store (data/db_blobs.py); files hold none."""
        return {}

    def write_all(self, blobs: Iterable[bytes]) -> list[str]:
        return [self.write(data) for data in blobs]

    def commit(self) -> None:
        """Every written blob is on disk under its name once this returns."""
        if not self._staged:
            return
        staged = list(self._staged.values())
        try:
            self.store._barrier()  # the contents, before any final name points at them
            for tmp, target in staged:
                os.replace(tmp, target)
            self._staged.clear()
            self.store._barrier()  # the renames themselves
        finally:
            self.abort()

    def abort(self) -> None:
        """Remove what was written but not committed."""
        for tmp, _target in self._staged.values():
            try:
                os.unlink(tmp)
            except OSError:
                pass
        self._staged.clear()

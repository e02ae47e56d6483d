"""One storage interface for the lake: a local directory or ``s3://bucket/prefix``.

Keys are always ``/``-separated and relative to the lake root (``raw/index=IBOV/...``).
Writes are atomic: a local write goes to a temporary file that is renamed into place, an
S3 write is a single PUT. The S3 endpoint comes from ``AWS_ENDPOINT_URL`` (boto3 reads it),
so the same code talks to AWS or to the local emulator.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import errno
import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlparse

import boto3
from botocore.exceptions import ClientError

from services.pipeline.errors import BadArgument

#: How a store says "this object has no version" (S3's own word for it).
NO_VERSION = "null"


@dataclass(frozen=True)
class StoredObject:
    """An object's bytes with the identity the store gave them when they were read."""

    data: bytes
    #: The store's version id (S3, versioned bucket), else :data:`NO_VERSION`.
    version: str
    #: The S3 ETag, without quotes; ``None`` for a local lake.
    etag: str | None


@dataclass(frozen=True)
class WrittenObject:
    """Where bytes were written and the identity the store answered the write with."""

    uri: str
    #: The store's version id (S3, versioned bucket), else :data:`NO_VERSION`.
    version: str
    #: The S3 ETag, without quotes; ``None`` for a local lake.
    etag: str | None


class Lake(Protocol):
    """What the pipeline needs from storage; see :func:`open_lake`."""

    uri: str

    def uri_of(self, key: str) -> str:
        """The full URI of ``key`` (a path or an ``s3://`` URI)."""

    def write_bytes(
        self, key: str, data: bytes, *, metadata: Mapping[str, str] | None = None
    ) -> str:
        """Write ``data`` at ``key`` atomically (replacing it); return its URI."""

    def write_versioned(
        self, key: str, data: bytes, *, metadata: Mapping[str, str] | None = None
    ) -> tuple[str, str]:
        """:meth:`write_bytes`, returning the URI and the version id the store gave these
        bytes (:data:`NO_VERSION` where it keeps none): a pin, with no read back."""

    def write_pinned(
        self, key: str, data: bytes, *, metadata: Mapping[str, str] | None = None
    ) -> WrittenObject:
        """:meth:`write_versioned`, with the ETag the store answered too (no read back)."""

    def read_bytes(self, key: str) -> bytes:
        """Read the object at ``key``; :class:`FileNotFoundError` if absent."""

    def read_object(self, key: str, version: str = NO_VERSION) -> StoredObject:
        """Read ``key`` (that ``version``, where the store keeps versions), with its identity."""

    def copy(self, source: str, key: str) -> str:
        """Copy the object at ``source`` to ``key`` (atomically replacing it); return its URI."""

    def metadata(self, key: str) -> dict[str, str]:
        """The user metadata written with ``key`` (always empty for a local lake)."""

    def list(self, prefix: str) -> list[str]:
        """Every key under ``prefix``, sorted."""

    def delete(self, key: str) -> None:
        """Delete ``key`` if present."""


class LocalLake:
    """A lake in a local directory (the default for ``make demo`` and the tests)."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root).resolve()
        self.uri = str(self.root)

    def path_of(self, key: str) -> Path:
        return self.root.joinpath(*key.split("/"))

    def uri_of(self, key: str) -> str:
        return str(self.path_of(key))

    def write_bytes(
        self, key: str, data: bytes, *, metadata: Mapping[str, str] | None = None
    ) -> str:
        target = self.path_of(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
        try:
            with os.fdopen(handle, "wb") as stream:
                stream.write(data)
            os.replace(temporary, target)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        return str(target)

    def write_versioned(
        self, key: str, data: bytes, *, metadata: Mapping[str, str] | None = None
    ) -> tuple[str, str]:
        return self.write_bytes(key, data, metadata=metadata), NO_VERSION

    def write_pinned(
        self, key: str, data: bytes, *, metadata: Mapping[str, str] | None = None
    ) -> WrittenObject:
        return WrittenObject(self.write_bytes(key, data, metadata=metadata), NO_VERSION, None)

    def read_bytes(self, key: str) -> bytes:
        return self.path_of(key).read_bytes()

    def read_object(self, key: str, version: str = NO_VERSION) -> StoredObject:
        if version != NO_VERSION:
            raise ValueError(f"a directory lake keeps no versions: cannot read {key} at {version}")
        return StoredObject(self.read_bytes(key), NO_VERSION, None)

    def copy(self, source: str, key: str) -> str:
        return self.write_bytes(key, self.read_bytes(source))

    def metadata(self, key: str) -> dict[str, str]:
        if not self.path_of(key).exists():
            raise FileNotFoundError(self.uri_of(key))
        return {}

    def list(self, prefix: str) -> list[str]:
        base = self.path_of(prefix)
        if base.is_file():
            return [prefix]
        if not base.is_dir():
            return []
        return sorted(
            relative
            for path in base.rglob("*")
            if path.is_file() and not _hidden(relative := path.relative_to(self.root).as_posix())
        )

    def delete(self, key: str) -> None:
        self.path_of(key).unlink(missing_ok=True)

    # --- replacing a whole directory in one step (publishing a refined day) ---------------

    def stage_tree(self, prefix: str) -> Path:
        """A new, empty, hidden directory beside ``prefix``'s, to fill and then :meth:`swap_in`.

        Its name starts with ``.``, which Spark, Athena, pyarrow and :meth:`list` skip.
        """
        target = self.path_of(prefix.rstrip("/"))
        target.parent.mkdir(parents=True, exist_ok=True)
        staged = target.parent / f".{target.name}.new-{uuid.uuid4().hex[:12]}"
        staged.mkdir()
        return staged

    def swap_in(self, prefix: str, staged: Path) -> Path | None:
        """Make ``staged`` the directory at ``prefix`` in one atomic step.

        An existing directory is exchanged with ``staged`` (Linux ``renameat2`` with
        ``RENAME_EXCHANGE``), so every reader sees either the whole old tree or the whole
        new one. It then sits under a hidden name, returned, for :meth:`discard_stale` to
        delete. Where the exchange is not available, the old tree is renamed away first.
        """
        target = self.path_of(prefix.rstrip("/"))
        if not target.exists():
            os.rename(staged, target)
            return None
        old = target.parent / f".{target.name}.old-{uuid.uuid4().hex[:12]}"
        if _exchange(staged, target):
            os.rename(staged, old)  # staged now holds the old tree
        else:
            os.rename(target, old)
            os.rename(staged, target)
        return old

    def discard_stale(self, prefix: str) -> int:
        """Delete the hidden trees an earlier :meth:`stage_tree`/:meth:`swap_in` left beside
        ``prefix`` (a run killed half-way, or the old tree of a finished swap)."""
        target = self.path_of(prefix.rstrip("/"))
        if not target.parent.is_dir():
            return 0
        stale = [p for p in target.parent.glob(f".{target.name}.*") if p.is_dir()]
        for path in stale:
            shutil.rmtree(path, ignore_errors=True)
        return len(stale)


class S3Lake:
    """A lake in an S3 bucket, optionally under a prefix."""

    def __init__(self, bucket: str, prefix: str = "", client: Any | None = None) -> None:
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.client = client or boto3.client("s3")
        self.uri = f"s3://{bucket}/{self.prefix}".rstrip("/")

    def object_key(self, key: str) -> str:
        return f"{self.prefix}/{key}" if self.prefix else key

    def uri_of(self, key: str) -> str:
        return f"s3://{self.bucket}/{self.object_key(key)}"

    def write_bytes(
        self, key: str, data: bytes, *, metadata: Mapping[str, str] | None = None
    ) -> str:
        return self.write_versioned(key, data, metadata=metadata)[0]

    def write_versioned(
        self, key: str, data: bytes, *, metadata: Mapping[str, str] | None = None
    ) -> tuple[str, str]:
        written = self.write_pinned(key, data, metadata=metadata)
        return written.uri, written.version

    def write_pinned(
        self, key: str, data: bytes, *, metadata: Mapping[str, str] | None = None
    ) -> WrittenObject:
        response = self.client.put_object(
            Bucket=self.bucket, Key=self.object_key(key), Body=data, Metadata=dict(metadata or {})
        )
        return WrittenObject(
            self.uri_of(key),
            response.get("VersionId") or NO_VERSION,
            str(response.get("ETag", "")).strip('"') or None,
        )

    def read_bytes(self, key: str) -> bytes:
        with self._missing_is_not_found(key):
            response = self.client.get_object(Bucket=self.bucket, Key=self.object_key(key))
        body: bytes = response["Body"].read()
        return body

    def read_object(self, key: str, version: str = NO_VERSION) -> StoredObject:
        extra = {} if version == NO_VERSION else {"VersionId": version}
        with self._missing_is_not_found(key):
            response = self.client.get_object(Bucket=self.bucket, Key=self.object_key(key), **extra)
        data: bytes = response["Body"].read()
        etag = str(response.get("ETag", "")).strip('"') or None
        return StoredObject(data, response.get("VersionId") or NO_VERSION, etag)

    def copy(self, source: str, key: str) -> str:
        with self._missing_is_not_found(source):
            self.client.copy_object(
                Bucket=self.bucket,
                Key=self.object_key(key),
                CopySource={"Bucket": self.bucket, "Key": self.object_key(source)},
            )
        return self.uri_of(key)

    def metadata(self, key: str) -> dict[str, str]:
        with self._missing_is_not_found(key):
            response = self.client.head_object(Bucket=self.bucket, Key=self.object_key(key))
        return dict(response.get("Metadata", {}))

    @contextlib.contextmanager
    def _missing_is_not_found(self, key: str) -> Iterator[None]:
        """S3's "no such key" (a 404 for HEAD) as :class:`FileNotFoundError`, like a local lake."""
        try:
            yield
        except ClientError as error:
            if error.response["Error"]["Code"] in {"NoSuchKey", "404"}:
                raise FileNotFoundError(self.uri_of(key)) from error
            raise

    def list(self, prefix: str) -> list[str]:
        strip = len(self.prefix) + 1 if self.prefix else 0
        keys: list[str] = []
        paginator = self.client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=self.object_key(prefix)):
            keys.extend(item["Key"][strip:] for item in page.get("Contents", []))
        return sorted(keys)

    def delete(self, key: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=self.object_key(key))


def _hidden(relative_key: str) -> bool:
    """Spark, Athena and pyarrow skip any path component that starts with ``.``."""
    return any(part.startswith(".") for part in relative_key.split("/"))


_AT_FDCWD = -100
_RENAME_EXCHANGE = 2


def _exchange(first: Path, second: Path) -> bool:
    """Swap two directories atomically (Linux ``renameat2``); False where unsupported."""
    libc_name = ctypes.util.find_library("c")
    if libc_name is None:
        return False
    renameat2 = getattr(ctypes.CDLL(libc_name, use_errno=True), "renameat2", None)
    if renameat2 is None:
        return False
    done = renameat2(
        _AT_FDCWD, os.fsencode(first), _AT_FDCWD, os.fsencode(second), _RENAME_EXCHANGE
    )
    if done == 0:
        return True
    code = ctypes.get_errno()
    if code in {errno.ENOSYS, errno.EINVAL, errno.ENOTSUP}:
        return False
    raise OSError(code, os.strerror(code), str(second))


def open_lake(uri: str | Path) -> Lake:
    """Open ``s3://bucket[/prefix]`` as an :class:`S3Lake`, a directory as a :class:`LocalLake`."""
    text = str(uri)
    if text.startswith("s3://"):
        parsed = urlparse(text)
        if not parsed.netloc:
            raise BadArgument(f"lake URI {text!r} names no bucket")
        return S3Lake(parsed.netloc, parsed.path)
    if "://" in text:
        raise BadArgument(f"lake URI {text!r}: only a directory or s3://bucket/prefix is supported")
    return LocalLake(text)

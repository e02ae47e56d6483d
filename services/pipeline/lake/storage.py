"""One storage interface for the lake: a local directory or ``s3://bucket/prefix``.

Both classes have the same methods. Keys are always ``/``-separated and relative to the
lake root (``raw/index=IBOV/...``). Writes are atomic: a local write goes to a temporary
file that is renamed into place, an S3 write is a single PUT; ``write_pinned`` also
returns the version and ETag the store gave the bytes (a pin, with no read back). Reading
a missing key is :class:`FileNotFoundError`; ``list`` is every key under a prefix, sorted.
The S3 endpoint comes from ``AWS_ENDPOINT_URL`` (boto3 reads it), so the same code talks
to AWS or to the local emulator.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
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
        path = self.path_of(key)
        path.unlink(missing_ok=True)
        for parent in path.parents:  # no empty directory left: S3 has none
            if parent == self.root or not parent.is_dir() or any(parent.iterdir()):
                break
            parent.rmdir()


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
        return self.write_pinned(key, data, metadata=metadata).uri

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


#: A lake: a directory or a bucket (and prefix).
Lake = LocalLake | S3Lake


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

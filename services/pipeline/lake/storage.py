"""The lake: a local directory or ``s3://bucket/prefix``, with the same methods.

Keys are ``/``-separated, relative to the root. Writes are atomic (a renamed temporary file,
one PUT); ``write_pinned`` also returns the version and ETag the store gave the bytes, with
no read back. A missing key is :class:`FileNotFoundError`, as in a local lake.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import boto3

from services.pipeline.errors import BadArgument

#: How a store says "this object has no version" (S3's own word for it).
NO_VERSION = "null"


@dataclass(frozen=True)
class StoredObject:
    """An object's bytes with the identity the store gave them, read or written."""

    data: bytes
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
    ) -> StoredObject:
        self.write_bytes(key, data)
        return StoredObject(data, NO_VERSION, None)

    def read_bytes(self, key: str) -> bytes:
        return self.path_of(key).read_bytes()

    def read_object(self, key: str, version: str = NO_VERSION) -> StoredObject:
        if version != NO_VERSION:
            raise ValueError(f"a directory lake keeps no versions: cannot read {key} at {version}")
        return StoredObject(self.read_bytes(key), NO_VERSION, None)

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
        self.write_pinned(key, data, metadata=metadata)
        return self.uri_of(key)

    def write_pinned(
        self, key: str, data: bytes, *, metadata: Mapping[str, str] | None = None
    ) -> StoredObject:
        response = self.client.put_object(
            Bucket=self.bucket, Key=self.object_key(key), Body=data, Metadata=dict(metadata or {})
        )
        return _stored(data, response)

    def read_bytes(self, key: str) -> bytes:
        return self.read_object(key).data

    def read_object(self, key: str, version: str = NO_VERSION) -> StoredObject:
        extra = {} if version == NO_VERSION else {"VersionId": version}
        try:
            response = self.client.get_object(Bucket=self.bucket, Key=self.object_key(key), **extra)
        except self.client.exceptions.NoSuchKey as error:
            raise FileNotFoundError(self.uri_of(key)) from error
        return _stored(response["Body"].read(), response)

    def list(self, prefix: str) -> list[str]:
        strip = len(self.prefix) + 1 if self.prefix else 0
        keys: list[str] = []
        paginator = self.client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=self.object_key(prefix)):
            keys.extend(item["Key"][strip:] for item in page.get("Contents", []))
        return sorted(keys)

    def delete(self, key: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=self.object_key(key))


def _stored(data: bytes, response: Mapping[str, Any]) -> StoredObject:
    etag = str(response.get("ETag", "")).strip('"') or None
    return StoredObject(data, response.get("VersionId") or NO_VERSION, etag)


def _hidden(relative_key: str) -> bool:
    """Spark, Athena and pyarrow skip any path component that starts with ``.``."""
    return any(part.startswith(".") for part in relative_key.split("/"))


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

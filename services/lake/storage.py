"""One storage interface for the lake: a local directory or ``s3://bucket/prefix``.

Keys are always ``/``-separated and relative to the lake root (``raw/index=IBOV/...``).
Writes are atomic: a local write goes to a temporary file that is renamed into place, an
S3 write is a single PUT. The S3 endpoint comes from ``AWS_ENDPOINT_URL`` (boto3 reads it),
so the same code talks to AWS or to the local emulator.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlparse

import boto3
from botocore.exceptions import ClientError

from services.errors import BadArgument


class Lake(Protocol):
    """What the pipeline needs from storage; see :func:`open_lake`."""

    uri: str

    def uri_of(self, key: str) -> str:
        """The full URI of ``key`` (a path or an ``s3://`` URI)."""

    def write_bytes(
        self, key: str, data: bytes, *, metadata: Mapping[str, str] | None = None
    ) -> str:
        """Write ``data`` at ``key`` atomically (replacing it); return its URI."""

    def read_bytes(self, key: str) -> bytes:
        """Read the object at ``key``; :class:`FileNotFoundError` if absent."""

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

    def read_bytes(self, key: str) -> bytes:
        return self.path_of(key).read_bytes()

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
            path.relative_to(self.root).as_posix()
            for path in base.rglob("*")
            if path.is_file() and not path.name.startswith(".tmp-")
        )

    def delete(self, key: str) -> None:
        self.path_of(key).unlink(missing_ok=True)


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
        self.client.put_object(
            Bucket=self.bucket, Key=self.object_key(key), Body=data, Metadata=dict(metadata or {})
        )
        return self.uri_of(key)

    def read_bytes(self, key: str) -> bytes:
        with self._missing_is_not_found(key):
            response = self.client.get_object(Bucket=self.bucket, Key=self.object_key(key))
        body: bytes = response["Body"].read()
        return body

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

"""Where the job's Spark reads and writes, and how a table's days are published.

Spark reads each raw object's validated bytes, checked against their pin, from a scratch
lake, and writes there: a temporary directory locally, ``staging/<run>/`` on AWS Glue.

Publishing is one path for a directory and for S3. Each partition is one file, replaced in
one atomic write (``os.replace`` locally, a PUT on S3; many at once), so a reader sees every
partition whole, old or new, whenever a run stops; the tickers the day no longer has are
deleted after every write has succeeded, and the catalogue is switched last.
Re-running the day repairs a run that stopped.
"""

from __future__ import annotations

import contextlib
import hashlib
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date

from services.pipeline import settings
from services.pipeline.lake.datasets import BY_NAME, DAY, object_key
from services.pipeline.lake.layout import RawDay
from services.pipeline.lake.refined import PartitionValues, day_prefix, partition_of, refined_key
from services.pipeline.lake.storage import NO_VERSION, Lake, LocalLake, open_lake

#: Partition files written at once: boto3 clients are thread-safe, and keep 10 connections.
WRITERS = 8


class RawObjectChanged(Exception):
    """The raw object is no longer the one the contract passed: nothing of it is refined."""


@dataclass(frozen=True)
class Pin:
    """Which bytes of a raw object passed the contract."""

    sha256: str
    version: str = NO_VERSION


@dataclass(frozen=True)
class RawPartition:
    """A raw object to refine, with the pin of its validated bytes."""

    index: str
    dt: date
    pin: Pin
    dataset: str = DAY  # or a dataset ahead's name

    @property
    def key(self) -> str:
        return object_key(BY_NAME[self.dataset], self.index, self.dt)

    def __str__(self) -> str:
        day = RawDay(self.index, self.dt)
        return str(day) if self.dataset == DAY else f"{self.dataset} {day}"


def read_pinned(lake: Lake, part: RawPartition) -> bytes:
    """The raw object's bytes, exactly as validated, or :class:`RawObjectChanged`."""
    try:
        data = lake.read_object(part.key, part.pin.version).data
    except FileNotFoundError:
        raise RawObjectChanged(
            f"{part}: the raw object validated as sha256 {part.pin.sha256[:16]}… is gone"
        ) from None
    digest = hashlib.sha256(data).hexdigest()
    if digest != part.pin.sha256:
        raise RawObjectChanged(
            f"{part}: the raw object changed after it was validated "
            f"(validated sha256 {part.pin.sha256[:16]}…, now {digest[:16]}…); "
            "its own execution refines the new one"
        )
    return data


@contextlib.contextmanager
def scratch(lake: Lake, engine: str) -> Iterator[Lake]:
    """Where Spark reads and writes, deleted when the run ends (also a failed one)."""
    if engine == "local":
        with tempfile.TemporaryDirectory(prefix="bovespa-etl-") as path:
            yield LocalLake(path)
        return
    run = f"{settings.STAGING_PREFIX}/{uuid.uuid4().hex[:16]}"
    try:
        yield open_lake(lake.uri_of(run))
    finally:
        if isinstance(lake, LocalLake):  # Hadoop's hidden files too
            shutil.rmtree(lake.path_of(run), ignore_errors=True)
        for key in lake.list(run + "/"):
            lake.delete(key)


def spark_output(space: Lake, prefix: str) -> dict[PartitionValues, str]:
    """The one file Spark wrote for each partition under ``prefix`` of ``space``."""
    found: dict[PartitionValues, str] = {}
    for key in space.list(prefix + "/"):
        relative = key.removeprefix(prefix + "/")
        values = partition_of(relative)
        if values is None or any(p.startswith("_") for p in relative.split("/")):
            continue  # Spark's own files (_SUCCESS, _temporary/…), not output
        if values in found:
            raise RuntimeError(f"Spark wrote more than one file for partition {values}")
        found[values] = key
    return found


def publish(lake: Lake, space: Lake, prefix: str, expected: set[PartitionValues]) -> int:
    """Put Spark's output in place under ``prefix``, then delete what its days no longer
    have; return the files written."""
    written = spark_output(space, prefix)
    if set(written) != expected:
        raise RuntimeError(f"Spark wrote {len(written)} partitions, {len(expected)} were expected")

    def put(item: tuple[PartitionValues, str]) -> None:
        lake.write_bytes(refined_key(item[0], prefix=prefix), space.read_bytes(item[1]))

    with ThreadPoolExecutor(WRITERS) as pool:  # S3 answers a PUT in tens of ms: overlap them
        list(pool.map(put, sorted(written.items())))  # list(): the first failure is raised
    kept = {refined_key(values, prefix=prefix) for values in written}
    for day in sorted({(dt, index) for dt, index, _ in written}):
        for key in sorted(set(lake.list(day_prefix(day, prefix))) - kept):
            lake.delete(key)
    return len(written)

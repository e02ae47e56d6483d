"""Where the job's Spark reads, and how a table's days are published.

Spark reads each raw object's validated bytes, checked against their pin, from a scratch
lake: a temporary directory locally, ``staging/<run>/`` on AWS Glue (its Spark cannot read
this process's disk, nor an S3 version).

Publishing is one path for a directory and for S3. Each partition is one file, replaced in
one atomic write (``os.replace`` locally, a PUT on S3; many at once), so a reader sees every
partition whole, old or new, whenever a run stops; the tickers the day no longer has are
deleted after every write has succeeded, and the catalogue is switched last.
Re-running the day repairs a run that stopped.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, date, datetime

import pyarrow as pa
import pyarrow.parquet as pq
from pyspark.sql import Row
from pyspark.sql.pandas.types import to_arrow_schema
from pyspark.sql.types import StructType

from services.pipeline import settings
from services.pipeline.lake.datasets import BY_NAME, DAY, object_key
from services.pipeline.lake.layout import RawDay
from services.pipeline.lake.refined import PartitionValues, day_prefix, refined_key
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
    """Where Spark reads, deleted when the run ends (also a failed one)."""
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


def partition_files(schema: StructType, rows: list[Row]) -> dict[PartitionValues, bytes]:
    """Each partition's one Parquet file (its row; the path holds the partition values),
    typed by the refined DataFrame's ``schema``."""
    keys = settings.REFINED_PARTITION_KEYS
    arrow = pa.schema([f for f in to_arrow_schema(schema) if f.name not in keys])
    files: dict[PartitionValues, bytes] = {}
    for row in rows:
        values = row.asDict()
        record = {name: _utc(values[name]) for name in arrow.names}
        sink = io.BytesIO()
        pq.write_table(pa.Table.from_pylist([record], arrow), sink, compression="snappy")
        files[(values[keys[0]], values[keys[1]], values[keys[2]])] = sink.getvalue()
    return files


def _utc(value: object) -> object:
    """PySpark gives a timestamp as naive local time; Parquet stores it in UTC."""
    return value.astimezone(UTC) if isinstance(value, datetime) else value


def publish(lake: Lake, prefix: str, files: dict[PartitionValues, bytes]) -> int:
    """Put each partition's file in place under ``prefix``, then delete what its days no
    longer have; return the files written."""

    def put(item: tuple[PartitionValues, bytes]) -> None:
        lake.write_bytes(refined_key(item[0], prefix=prefix), item[1])

    with ThreadPoolExecutor(WRITERS) as pool:  # S3 answers a PUT in tens of ms: overlap them
        list(pool.map(put, sorted(files.items())))  # list(): the first failure is raised
    kept = {refined_key(values, prefix=prefix) for values in files}
    for day in sorted({(dt, index) for dt, index, _ in files}):
        for key in sorted(set(lake.list(day_prefix(day, prefix))) - kept):
            lake.delete(key)
    return len(files)

"""Where the job's Spark reads and writes, for each engine and lake.

* On AWS Glue (``GlueIO``), Spark reads and writes ``s3://`` itself; dynamic partition
  overwrite replaces the partitions it writes, and partitions of a rewritten day that
  the new run no longer has (a ticker that left) are deleted afterwards.
* In local Spark (``LocalIO``), which has no S3 connector, Spark reads the raw objects
  from the lake directory, or from copies staged out of S3, and writes into a scratch
  directory; :meth:`LocalIO.publish` then puts one file per partition into the lake
  (atomic rename locally, one PUT on S3) and deletes what the day no longer has.

Either way a day is replaced whole, other days are not touched, and no moment exists in
which a rewritten day's partitions are missing.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Protocol

from services import settings
from services.lake.layout import partition as raw_partition
from services.lake.layout import raw_key
from services.lake.storage import Lake, LocalLake

RAW_KEY = re.compile(
    rf"{settings.RAW_PREFIX}/index=(?P<index>[^/]+)/dt=(?P<dt>\d{{4}}-\d{{2}}-\d{{2}})/"
    rf"{re.escape(settings.RAW_OBJECT_NAME)}"
)
REFINED_FILE = re.compile(
    r"dt=(?P<dt>[^/]+)/index_code=(?P<index>[^/]+)/ticker=(?P<ticker>[^/]+)/[^/]*\.parquet"
)
REFINED_FILE_NAME = "part-00000.snappy.parquet"

Day = tuple[str, str]  # (dt, index_code)
PartitionValues = tuple[str, str, str]  # (dt, index_code, ticker)


class NoRawData(Exception):
    """The requested days have no raw partition in the lake."""


@dataclass(frozen=True)
class RawPartition:
    index: str
    dt: date


def discover(lake: Lake, start: date, end: date, indices: Sequence[str] = ()) -> list[RawPartition]:
    """The raw partitions between ``start`` and ``end`` (inclusive), for ``indices`` or all."""
    found = []
    for key in lake.list(settings.RAW_PREFIX + "/"):
        match = RAW_KEY.fullmatch(key)
        if not match:
            continue
        day = date.fromisoformat(match["dt"])
        if start <= day <= end and (not indices or match["index"] in indices):
            found.append(RawPartition(match["index"], day))
    if not found:
        span = start.isoformat() if start == end else f"{start}..{end}"
        which = ",".join(indices) or "any index"
        raise NoRawData(f"no raw partition for {which} on {span} under {lake.uri_of('raw')}")
    return sorted(found, key=lambda part: (part.dt, part.index))


def refined_key(values: PartitionValues, name: str = REFINED_FILE_NAME) -> str:
    dt, index, ticker = values
    return f"{settings.REFINED_PREFIX}/dt={dt}/index_code={index}/ticker={ticker}/{name}"


def day_prefix(day: Day) -> str:
    return f"{settings.REFINED_PREFIX}/dt={day[0]}/index_code={day[1]}/"


def partition_of(key: str) -> PartitionValues | None:
    """The partition values in a refined file's key (relative to ``refined/``), if any."""
    match = REFINED_FILE.search(key)
    return (match["dt"], match["index"], match["ticker"]) if match else None


class JobIO(Protocol):
    """What the job needs to know about where data lives."""

    lake: Lake

    @property
    def raw_base(self) -> str: ...

    def raw_paths(self, parts: Sequence[RawPartition]) -> list[str]: ...

    @property
    def refined_target(self) -> str: ...

    def publish(self, days: Iterable[Day], expected: set[PartitionValues]) -> int:
        """Make the lake hold exactly ``expected`` for ``days``; return the files written."""


class LocalIO:
    """Local Spark: read the lake directory (or copies staged out of S3), write to scratch."""

    def __init__(self, lake: Lake, scratch: Path) -> None:
        self.lake = lake
        self.scratch = scratch
        self._direct = isinstance(lake, LocalLake)

    @property
    def raw_base(self) -> str:
        root = self.lake.uri_of(settings.RAW_PREFIX)
        return root if self._direct else str(self.scratch / settings.RAW_PREFIX)

    def raw_paths(self, parts: Sequence[RawPartition]) -> list[str]:
        paths = []
        for part in parts:
            if self._direct:
                paths.append(self.lake.uri_of(raw_partition(part.index, part.dt)))
                continue
            key = raw_key(part.index, part.dt)
            staged = self.scratch.joinpath(*key.split("/"))
            staged.parent.mkdir(parents=True, exist_ok=True)
            staged.write_bytes(self.lake.read_bytes(key))
            paths.append(str(staged.parent))
        return paths

    @property
    def refined_target(self) -> str:
        return str(self.scratch / settings.REFINED_PREFIX)

    def publish(self, days: Iterable[Day], expected: set[PartitionValues]) -> int:
        """Put each partition's one file into the lake, then drop what the days no longer have."""
        root = Path(self.refined_target)
        written: dict[PartitionValues, Path] = {}
        for path in sorted(root.rglob("*.parquet")):
            values = partition_of(path.relative_to(root).as_posix())
            if values in written:
                raise RuntimeError(f"Spark wrote more than one file for partition {values}")
            if values is not None:
                written[values] = path
        if set(written) != expected:
            raise RuntimeError(
                f"Spark wrote {len(written)} partitions, {len(expected)} were expected"
            )
        keep = {refined_key(values) for values in written}
        for values, path in written.items():
            self.lake.write_bytes(refined_key(values), path.read_bytes())
        for day in days:
            for key in self.lake.list(day_prefix(day)):
                if key not in keep:
                    self.lake.delete(key)
        return len(written)


class GlueIO:
    """AWS Glue: Spark reads and writes ``s3://`` directly."""

    def __init__(self, lake: Lake) -> None:
        self.lake = lake

    @property
    def raw_base(self) -> str:
        return self.lake.uri_of(settings.RAW_PREFIX)

    def raw_paths(self, parts: Sequence[RawPartition]) -> list[str]:
        return [self.lake.uri_of(raw_partition(part.index, part.dt)) for part in parts]

    @property
    def refined_target(self) -> str:
        return self.lake.uri_of(settings.REFINED_PREFIX)

    def publish(self, days: Iterable[Day], expected: set[PartitionValues]) -> int:
        """Dynamic overwrite replaced the written partitions; delete the ones left over."""
        files = 0
        for day in days:
            for key in self.lake.list(day_prefix(day)):
                if partition_of(key) in expected:
                    files += 1
                else:
                    self.lake.delete(key)
        return files

"""Where the job's Spark reads and writes, for each engine and lake, and how a day is published.

Reading. Spark never reads a raw partition's directory: each day's canonical object (and
nothing else beside it) is read through the lake, checked against its *pin* — the
SHA-256 (and, on a versioned bucket, the version) of the bytes that passed the data
contract — and staged where Spark reads it: a scratch directory for local Spark, a
run-scoped ``staging/<run>/`` prefix of the lake on AWS Glue. An object that changed
since it was validated is :class:`RawObjectChanged`, never refined.

Writing. Spark writes the refined partitions into scratch (local) or ``staging/<run>/``
(Glue); :meth:`JobIO.publish` then puts them in place day by day:

* in a directory lake, the day's new tree is filled under a hidden name beside the old one
  and exchanged with it in one ``renameat2(RENAME_EXCHANGE)``: a reader sees the whole old
  day or the whole new one, and a run killed at any point leaves one of them whole;
* on S3, each partition's one file is replaced by one PUT or COPY, so every partition is
  whole (old or new) at every moment; tickers the day no longer has are deleted after
  the new files are in place, and the catalogue is switched last.

:meth:`JobIO.cleanup` deletes what a finished (or an earlier, killed) run left aside.
Re-running a day repairs whatever a killed run left.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import signal
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Protocol

from glue.schema import DAY_DATASET
from services.pipeline import settings
from services.pipeline.lake import datasets
from services.pipeline.lake.layout import DATE, NotARawKey, RawDay, parse_raw_key
from services.pipeline.lake.refined import (
    REFINED_FILE_NAME,
    Day,
    PartitionValues,
    day_prefix,
    partition_of,
    refined_key,
    ticker_dir,
)
from services.pipeline.lake.storage import NO_VERSION, Lake, LocalLake
from services.pipeline.validate.errors import ContractViolation

#: A partition's ``dt`` value (:data:`services.pipeline.lake.layout.DATE`).
RAW_DT = re.compile(DATE)


class NoRawData(Exception):
    """The requested days have no raw object in the lake (or none that passed the contract)."""


class RawObjectChanged(Exception):
    """The raw object is no longer the one the contract passed: nothing of it is refined."""


class NotValidated(Exception):
    """An engine that cannot apply the data contract was asked to refine unvalidated days."""


class Refused(ContractViolation):
    """The data contract refused a raw object; the message names the check."""


class InjectedFault(BaseException):
    """Raised at a fault point named in ``BOVESPA_FAULT`` (tests of a killed run)."""


def fault_point(name: str) -> None:
    """Stop here as if the run were killed, when ``BOVESPA_FAULT`` names this point.

    ``BOVESPA_FAULT=publish.staged`` raises :class:`InjectedFault` (a ``BaseException``,
    so no handler of the job's catches it); ``BOVESPA_FAULT=kill:publish.staged`` sends
    the process SIGKILL, so not even ``finally`` runs.
    """
    wanted = os.environ.get(settings.FAULT_ENV, "")
    if wanted == f"kill:{name}":
        os.kill(os.getpid(), signal.SIGKILL)
    if wanted == name:
        raise InjectedFault(f"fault injected at {name}")


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
    #: ``day`` (``raw/``), or a dataset ahead (``theoretical``, ``preview``).
    dataset: str = DAY_DATASET

    @property
    def day(self) -> RawDay:
        return RawDay(self.index, self.dt)

    @property
    def key(self) -> str:
        """The raw object's key in the lake (the dataset's own layout)."""
        if self.dataset == DAY_DATASET:
            return self.day.key
        (ahead,) = [d for d in datasets.DATASETS if d.name == self.dataset]
        return datasets.object_key(ahead, self.index, self.dt)

    @property
    def raw_prefix(self) -> str:
        """The top-level prefix of the dataset's raw layer (``raw``, ``raw-theoretical``…)."""
        return self.key.split("/", 1)[0]

    def __str__(self) -> str:
        return str(self.day) if self.dataset == DAY_DATASET else f"{self.dataset} {self.day}"


@dataclass(frozen=True)
class Skipped:
    """A raw object the contract refused: not refined, and said so in the summary."""

    day: RawDay
    reason: str

    def __str__(self) -> str:
        return f"skipped {self.day.index} {self.day.dt} ({self.day.dt:%A}): {self.reason}"


@dataclass(frozen=True)
class Discovery:
    parts: list[RawPartition]
    skipped: list[Skipped] = field(default_factory=list)


#: Applies the data contract to the raw object at a key; returns the pin or raises
#: :class:`Refused`.
Validator = Callable[[Lake, str], Pin]


def raw_days(lake: Lake, start: date, end: date, indices: Sequence[str] = ()) -> list[RawDay]:
    """The days between ``start`` and ``end`` (inclusive) that have a canonical raw object.

    Only ``raw/index=<INDEX>/dt=<YYYY-MM-DD>/portfolio.parquet`` counts: anything else in
    a raw partition is not data and is not read.
    """
    found = []
    for key in lake.list(settings.RAW_PREFIX + "/"):
        try:
            day = parse_raw_key(key)
        except NotARawKey:
            continue
        if start <= day.dt <= end and (not indices or day.index in indices):
            found.append(day)
    return sorted(found, key=lambda d: (d.dt, d.index))


def discover(
    lake: Lake,
    start: date,
    end: date,
    indices: Sequence[str] = (),
    *,
    pins: Mapping[RawDay, Pin] | None = None,
    validator: Validator | None = None,
) -> Discovery:
    """The raw objects to refine, each pinned to validated bytes.

    With ``pins`` (the state machine's Validate passed them on) exactly those days are
    refined. Otherwise ``validator`` applies the contract to every day found: a day it
    refuses is skipped and reported. Without either, nothing unvalidated is refined.
    """
    span = start.isoformat() if start == end else f"{start}..{end}"
    which = ",".join(indices) or "any index"
    if pins is not None:
        missing = sorted(d for d in pins if d.key not in lake.list(d.partition + "/"))
        if missing:
            raise NoRawData(f"no raw object for {', '.join(map(str, missing))} under {lake.uri}")
        return Discovery([RawPartition(d.index, d.dt, pins[d]) for d in sorted(pins)])
    days = raw_days(lake, start, end, indices)
    if not days:
        raise NoRawData(
            f"no raw partition for {which} on {span} under {lake.uri_of(settings.RAW_PREFIX)}"
        )
    if validator is None:
        raise NotValidated(
            "this engine cannot apply the data contract: pass --objects (the state machine "
            "passes Validate's), or refine with `bovespa etl`, which validates each day"
        )
    parts: list[RawPartition] = []
    skipped: list[Skipped] = []
    for day in days:
        try:
            parts.append(RawPartition(day.index, day.dt, validator(lake, day.key)))
        except Refused as refusal:
            skipped.append(Skipped(day, str(refusal)))
    if not parts:
        reasons = "; ".join(str(s) for s in skipped)
        raise NoRawData(f"no raw partition of {which} on {span} passed the contract: {reasons}")
    return Discovery(parts, skipped)


def read_pinned(lake: Lake, part: RawPartition) -> bytes:
    """The raw object's bytes, exactly as validated, or :class:`RawObjectChanged`."""
    try:
        stored = lake.read_object(part.key, part.pin.version)
    except FileNotFoundError:
        raise RawObjectChanged(
            f"{part}: the raw object validated as sha256 {part.pin.sha256[:16]}… is gone"
        ) from None
    digest = hashlib.sha256(stored.data).hexdigest()
    if digest != part.pin.sha256:
        raise RawObjectChanged(
            f"{part}: the raw object changed after it was validated "
            f"(validated sha256 {part.pin.sha256[:16]}…, now {digest[:16]}…); "
            "its own execution refines the new one"
        )
    return stored.data


class JobIO(Protocol):
    """What the job needs to know about where data lives."""

    lake: Lake

    @property
    def raw_base(self) -> str: ...

    def stage_raw(self, parts: Sequence[RawPartition]) -> list[str]:
        """Put each part's validated bytes where Spark reads them; return the file paths."""

    @property
    def refined_target(self) -> str: ...

    def publish(self, days: Iterable[Day], expected: set[PartitionValues]) -> int:
        """Put Spark's output in place for ``days``; return the files written."""

    def cleanup(self, days: Iterable[Day]) -> None:
        """Delete what publishing left aside (stale tickers, old trees, staging)."""


class _Publisher:
    """Publishing shared by both engines; subclasses say where Spark's output is.

    ``raw_prefix`` and ``refined_prefix`` name the table's layers (``raw``/``refined`` for
    the day's, ``raw-theoretical``/``refined-theoretical``… for a dataset ahead).
    """

    lake: Lake
    raw_prefix: str = settings.RAW_PREFIX
    refined_prefix: str = settings.REFINED_PREFIX

    def _written(self) -> dict[PartitionValues, str]:
        """Spark's output: the one file of each partition (a path or a lake key)."""
        raise NotImplementedError

    def _read(self, source: str) -> bytes:
        raise NotImplementedError

    def _put(self, source: str, key: str) -> None:
        self.lake.write_bytes(key, self._read(source))

    def publish(self, days: Iterable[Day], expected: set[PartitionValues]) -> int:
        written = self._written()
        if set(written) != expected:
            raise RuntimeError(
                f"Spark wrote {len(written)} partitions, {len(expected)} were expected"
            )
        days = sorted(set(days))
        self._kept = {refined_key(values, prefix=self.refined_prefix) for values in written}
        if isinstance(self.lake, LocalLake):
            self._publish_trees(self.lake, days, written)
        else:
            self._publish_objects(days, written)
        return len(written)

    def _publish_trees(
        self, lake: LocalLake, days: list[Day], written: dict[PartitionValues, str]
    ) -> None:
        staged = {day: lake.stage_tree(day_prefix(day, self.refined_prefix)) for day in days}
        for values, source in written.items():
            target = staged[(values[0], values[1])] / ticker_dir(values[2]) / REFINED_FILE_NAME
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(self._read(source))
        fault_point("publish.staged")
        for day in days:
            lake.swap_in(day_prefix(day, self.refined_prefix), staged[day])
        fault_point("publish.switched")

    def _publish_objects(self, days: list[Day], written: dict[PartitionValues, str]) -> None:
        fault_point("publish.staged")
        for number, (values, source) in enumerate(sorted(written.items())):
            self._put(source, refined_key(values, prefix=self.refined_prefix))
            if number == 0:
                fault_point("publish.switching")
        fault_point("publish.switched")
        for day in days:
            for key in self.lake.list(day_prefix(day, self.refined_prefix)):
                if key not in self._kept:
                    self.lake.delete(key)

    def cleanup(self, days: Iterable[Day]) -> None:
        if isinstance(self.lake, LocalLake):
            for day in days:
                self.lake.discard_stale(day_prefix(day, self.refined_prefix))


class LocalIO(_Publisher):
    """Local Spark: read staged copies in scratch, write to scratch, publish from there."""

    def __init__(
        self,
        lake: Lake,
        scratch: Path,
        raw_prefix: str = settings.RAW_PREFIX,
        refined_prefix: str = settings.REFINED_PREFIX,
    ) -> None:
        self.lake = lake
        self.scratch = scratch
        self.raw_prefix, self.refined_prefix = raw_prefix, refined_prefix

    @property
    def raw_base(self) -> str:
        return str(self.scratch / self.raw_prefix)

    def stage_raw(self, parts: Sequence[RawPartition]) -> list[str]:
        paths = []
        for part in parts:
            staged = self.scratch.joinpath(*part.key.split("/"))
            staged.parent.mkdir(parents=True, exist_ok=True)
            staged.write_bytes(read_pinned(self.lake, part))
            paths.append(str(staged))
        return paths

    @property
    def refined_target(self) -> str:
        return str(self.scratch / self.refined_prefix)

    def _written(self) -> dict[PartitionValues, str]:
        root = Path(self.refined_target)
        written: dict[PartitionValues, str] = {}
        for path in sorted(root.rglob("*.parquet")):
            values = partition_of(path.relative_to(root).as_posix())
            if values in written:
                raise RuntimeError(f"Spark wrote more than one file for partition {values}")
            if values is not None:
                written[values] = str(path)
        return written

    def _read(self, source: str) -> bytes:
        return Path(source).read_bytes()


class GlueIO(_Publisher):
    """AWS Glue: Spark reads and writes the lake's URIs itself, under ``staging/<run>/``."""

    def __init__(
        self,
        lake: Lake,
        run_id: str | None = None,
        raw_prefix: str = settings.RAW_PREFIX,
        refined_prefix: str = settings.REFINED_PREFIX,
    ) -> None:
        self.lake = lake
        self.run_id = run_id or uuid.uuid4().hex[:16]
        self.staging = f"{settings.STAGING_PREFIX}/{self.run_id}"
        self.raw_prefix, self.refined_prefix = raw_prefix, refined_prefix

    @property
    def raw_base(self) -> str:
        return self.lake.uri_of(f"{self.staging}/{self.raw_prefix}")

    def stage_raw(self, parts: Sequence[RawPartition]) -> list[str]:
        return [
            self.lake.write_bytes(f"{self.staging}/{part.key}", read_pinned(self.lake, part))
            for part in parts
        ]

    @property
    def refined_target(self) -> str:
        return self.lake.uri_of(f"{self.staging}/{self.refined_prefix}")

    def _written(self) -> dict[PartitionValues, str]:
        prefix = f"{self.staging}/{self.refined_prefix}/"
        written: dict[PartitionValues, str] = {}
        for key in self.lake.list(prefix):
            relative = key[len(prefix) :]
            if any(part.startswith(("_", ".")) for part in relative.split("/")):
                continue  # Spark's own leftovers (_temporary, .spark-staging-…), not output
            values = partition_of(relative)
            if values is None or not key.endswith(".parquet"):
                continue
            if values in written:
                raise RuntimeError(f"Spark wrote more than one file for partition {values}")
            written[values] = key
        return written

    def _read(self, source: str) -> bytes:
        return self.lake.read_bytes(source)

    def _put(self, source: str, key: str) -> None:
        self.lake.copy(source, key)

    def cleanup(self, days: Iterable[Day]) -> None:
        super().cleanup(days)
        self.discard_staging()

    def discard_staging(self) -> None:
        """Delete this run's ``staging/<run>/`` (also when the run failed)."""
        for key in self.lake.list(self.staging + "/"):
            self.lake.delete(key)
        if isinstance(self.lake, LocalLake):
            shutil.rmtree(self.lake.path_of(self.staging), ignore_errors=True)

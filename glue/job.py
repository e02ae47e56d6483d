"""The Glue job entry script: raw partitions of some days to the refined layer and the catalogue.

AWS Glue runs this file as a ``glueetl`` job with ``--key value`` arguments; locally
``bovespa etl`` (or ``python -m glue.job``) runs it under plain pyspark. Arguments:

``--lake``             the lake: ``s3://bucket[/prefix]`` or a directory
``--dt``               one trading day, ``YYYY-MM-DD`` (or ``--start`` and ``--end``)
``--index``            comma-separated index codes (default: every index found)
``--objects``          instead of ``--dt``/``--index``: the validated raw objects to refine, as
                       the state machine passes them (a JSON list of ``{"index", "dt", …}``;
                       one run refines every index of the day, each on its own day)
``--database``         Glue database (default ``default``)
``--table``            table name (default ``b3_index_portfolio``)
``--processing-date``  the processing date for the date features (default: today, São Paulo)
``--engine``           ``glue``, ``local`` or ``auto`` (Glue when ``awsglue`` is importable)
``--catalog``          ``true``/``false``: update the Glue catalogue (default true)

It prints one JSON line: ``dt``, ``rows``, ``partitions``, ``files``, ``table``, ``days``.
"""

from __future__ import annotations

import importlib.util
import json
import re
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from glue import catalog
from glue.lakeio import (
    Day,
    GlueIO,
    JobIO,
    LocalIO,
    NoRawData,
    PartitionValues,
    RawPartition,
    discover,
)
from glue.schema import PARTITION_COLUMNS
from glue.spark import glue_session, local_session
from glue.transforms import refine
from services import settings
from services.lake.storage import open_lake

PARTITIONS = [c.name for c in PARTITION_COLUMNS]
_INDEX_CODE = re.compile(r"[A-Z0-9]{2,8}")


class RefinedCheckFailed(Exception):
    """The refined rows do not reconcile with the raw rows they came from."""


def today_in_sao_paulo() -> date:
    return datetime.now(ZoneInfo(settings.B3_TIMEZONE)).date()


@dataclass(frozen=True, order=True)
class RawObject:
    """One validated raw object the state machine asks the job to refine."""

    dt: date
    index: str

    def __str__(self) -> str:
        return f"{self.index} {self.dt.isoformat()}"


def parse_objects(text: str) -> tuple[RawObject, ...]:
    """``--objects``: a JSON list of ``{"index": "IBOV", "dt": "2025-07-10", …}``, in order.

    Other keys (``rows``, ``uri``…) are Validate's and are ignored here. Anything that is
    not such a list, an index that is not a B3 code, a day that is not a date, or the
    same object twice is one :class:`ValueError`.
    """
    try:
        items = json.loads(text)
    except json.JSONDecodeError as error:
        raise ValueError(f"--objects is not JSON: {error}") from None
    if not isinstance(items, list) or not items:
        raise ValueError("--objects must be a non-empty JSON list of {index, dt} objects")
    objects: list[RawObject] = []
    for item in items:
        if not isinstance(item, dict) or not isinstance(item.get("index"), str):
            raise ValueError(f"--objects: {item!r} is not an object with an index and a dt")
        if not _INDEX_CODE.fullmatch(item["index"]):
            raise ValueError(f"--objects: index {item['index']!r} is not a B3 index code")
        try:
            day = date.fromisoformat(str(item.get("dt")))
        except ValueError:
            raise ValueError(f"--objects: dt {item.get('dt')!r} is not a YYYY-MM-DD day") from None
        objects.append(RawObject(day, item["index"]))
    twice = sorted({str(o) for o in objects if objects.count(o) > 1})
    if twice:
        raise ValueError(f"--objects names {', '.join(twice)} more than once")
    return tuple(objects)


@dataclass(frozen=True)
class JobArgs:
    """The job's arguments, parsed from ``--key value`` pairs by :func:`parse_args`."""

    lake: str
    start: date
    end: date
    indices: tuple[str, ...] = ()
    database: str = settings.GLUE_DATABASE
    table: str = settings.REFINED_TABLE
    processing_date: date = field(default_factory=today_in_sao_paulo)
    engine: str = "auto"
    catalog: bool = True
    #: Exactly these (day, index) objects, when the state machine names them (``--objects``).
    objects: tuple[RawObject, ...] = ()

    def __post_init__(self) -> None:
        if self.start > self.end:
            raise ValueError(f"--start {self.start} is after --end {self.end}")
        if self.engine not in {"auto", "glue", "local"}:
            raise ValueError(f"--engine must be glue, local or auto, not {self.engine!r}")

    @property
    def span(self) -> str:
        return self.start.isoformat() if self.start == self.end else f"{self.start}..{self.end}"


def parse_args(argv: Sequence[str]) -> JobArgs:
    """Read ``--key value`` (or ``--key=value``) pairs as Glue passes them.

    Unknown keys are ignored: AWS Glue adds its own (``--JOB_NAME``, ``--TempDir``...).
    Needs no Glue runtime (``awsglue.utils.getResolvedOptions`` cannot run outside AWS).
    """
    pairs: dict[str, str] = {}
    items = list(argv)
    while items:
        item = items.pop(0)
        if not item.startswith("--"):
            continue
        key, has_value, value = item[2:].partition("=")
        if not has_value:
            value = items.pop(0) if items and not items[0].startswith("--") else ""
        pairs[key.replace("_", "-")] = value
    if pairs.get("objects"):
        objects = parse_objects(pairs["objects"])
        pairs.pop("dt", None)
        pairs["start"] = min(o.dt for o in objects).isoformat()
        pairs["end"] = max(o.dt for o in objects).isoformat()
        pairs["index"] = ",".join(sorted({o.index for o in objects}))
    try:
        lake = pairs["lake"]
        if "dt" in pairs:
            start = end = date.fromisoformat(pairs["dt"])
        else:
            start, end = date.fromisoformat(pairs["start"]), date.fromisoformat(pairs["end"])
    except KeyError as missing:
        raise ValueError(
            f"missing job argument --{missing.args[0]} (need --lake and --dt)"
        ) from None
    options: dict[str, Any] = {}
    if pairs.get("index"):
        options["indices"] = tuple(i.strip().upper() for i in pairs["index"].split(",") if i)
    for key in ("database", "table", "engine"):
        if pairs.get(key):
            options[key] = pairs[key]
    if pairs.get("processing-date"):
        options["processing_date"] = date.fromisoformat(pairs["processing-date"])
    if "catalog" in pairs:
        options["catalog"] = pairs["catalog"].lower() not in {"false", "0", "no"}
    if pairs.get("objects"):
        options["objects"] = objects
    return JobArgs(lake=lake, start=start, end=end, **options)


def resolve_engine(engine: str) -> str:
    """``auto`` means Glue when its runtime (``awsglue``) is importable, else local."""
    if engine != "auto":
        return engine
    return "glue" if importlib.util.find_spec("awsglue") is not None else "local"


def run(args: JobArgs, spark: SparkSession | None = None) -> dict[str, Any]:
    """Refine the raw partitions of ``args``' days and catalogue them; return the summary."""
    began = time.monotonic()
    lake = open_lake(args.lake)
    parts = discover(lake, args.start, args.end, args.indices)
    if args.objects:
        parts = exactly(parts, args.objects)
    engine = resolve_engine(args.engine)
    with tempfile.TemporaryDirectory(prefix="bovespa-etl-") as scratch:
        io: JobIO = LocalIO(lake, Path(scratch)) if engine == "local" else GlueIO(lake)
        spark = spark or (local_session() if engine == "local" else glue_session())
        raw = spark.read.option("basePath", io.raw_base).parquet(*io.raw_paths(parts))
        refined = refine(raw, args.processing_date, {p.dt for p in parts}).persist()
        try:
            days, partitions, rows = check(refined)
            missing = {(p.dt.isoformat(), p.index) for p in parts} - set(days)
            if missing:
                raise RefinedCheckFailed(f"every row of {sorted(missing)} was lost in refining")
            refined.repartition(*PARTITIONS).write.mode("overwrite").partitionBy(
                *PARTITIONS
            ).parquet(io.refined_target)
            files = io.publish(days, set(partitions))
        finally:
            refined.unpersist()
    table = f"{args.database}.{args.table}"
    if args.catalog:
        location = lake.uri_of(settings.REFINED_PREFIX)
        table = catalog.publish(args.database, args.table, location, days, partitions).table
    return {
        "dt": args.span,
        "rows": rows,
        "partitions": len(partitions),
        "files": files,
        "table": table,
        "days": sorted({day[0] for day in days}),
        "indices": sorted({day[1] for day in days}),
        "engine": engine,
        "seconds": round(time.monotonic() - began, 2),
    }


def exactly(parts: list[RawPartition], objects: Sequence[RawObject]) -> list[RawPartition]:
    """The partitions of ``objects`` and no other (the span of their days may hold more)."""
    found = {RawObject(p.dt, p.index): p for p in parts}
    missing = [str(o) for o in objects if o not in found]
    if missing:
        raise NoRawData(f"no raw object for {', '.join(missing)}")
    return [found[o] for o in sorted(objects)]


def check(refined: DataFrame) -> tuple[list[Day], list[PartitionValues], int]:
    """Fail before writing unless every day kept all its tickers and matches B3's total.

    ``index_ticker_count`` is counted on the renamed raw rows, before the aggregate joins,
    so a day whose refined row count differs from it lost rows on the way. One small
    collect (a row per partition) serves every check and lists the partitions to write.
    """
    rows = refined.select(
        *PARTITIONS,
        "index_ticker_count",
        (F.col("index_theoretical_qty") == F.col("index_theoretical_qty_b3")).alias("qty_ok"),
    ).collect()
    tickers: dict[Day, int] = {}
    expected: dict[Day, int] = {}
    mismatched: set[Day] = set()
    for row in rows:
        day = (row["dt"], row["index_code"])
        tickers[day] = tickers.get(day, 0) + 1
        expected[day] = row["index_ticker_count"]
        if not row["qty_ok"]:
            mismatched.add(day)
    lost = {
        f"{d}/{i}": expected[(d, i)] - n for (d, i), n in tickers.items() if n != expected[(d, i)]
    }
    if lost:
        raise RefinedCheckFailed(f"rows lost between raw and refined (day: rows lost): {lost}")
    if mismatched:
        days = ", ".join(f"{d}/{i}" for d, i in sorted(mismatched))
        raise RefinedCheckFailed(f"index theoretical quantity differs from B3's header on {days}")
    partitions = sorted((row["dt"], row["index_code"], row["ticker"]) for row in rows)
    if len(set(partitions)) != len(partitions):
        raise RefinedCheckFailed("a ticker appears twice on the same day")
    return sorted(tickers), partitions, len(rows)


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point for AWS Glue and ``python -m glue.job``: run, print the JSON summary."""
    args = parse_args(sys.argv[1:] if argv is None else argv)
    glue_job = _start_glue_job()
    summary = run(args)
    if glue_job is not None:
        glue_job.commit()
    print(json.dumps(summary))


def _start_glue_job() -> Any:
    """Initialise Glue's ``Job`` (bookmarks, metrics) when the Glue runtime is there."""
    if importlib.util.find_spec("awsglue") is None:
        return None
    from awsglue.context import GlueContext  # type: ignore[import-not-found]
    from awsglue.job import Job  # type: ignore[import-not-found]
    from awsglue.utils import getResolvedOptions  # type: ignore[import-not-found]

    job = Job(GlueContext(glue_session().sparkContext))
    job.init(getResolvedOptions(sys.argv, ["JOB_NAME"])["JOB_NAME"], {})
    return job


if __name__ == "__main__":
    main()

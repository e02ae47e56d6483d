"""The Glue job: exactly the raw objects ``--objects`` (Validate's results) and ``--ahead``
(the scraper's summaries) pin, refined into their tables, or a failure in one line
(docs/refined-layer.md). AWS Glue runs this file; ``bovespa etl`` and the local launcher
run it under plain pyspark. It prints one JSON line: the day's table's summary, and each
dataset ahead's under ``ahead``."""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import json
import re
import sys
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any, NoReturn

from pyspark.sql import DataFrame, Row, SparkSession

from glue import arguments as arg
from glue import catalog
from glue.lakeio import Pin, RawPartition, partition_files, publish, read_pinned, scratch
from glue.schema import AHEAD_TABLES, DAY_TABLE, TABLES, Table
from glue.spark import glue_session, local_session
from glue.transforms import refine
from services.pipeline import settings
from services.pipeline.b3 import calendar
from services.pipeline.b3.codes import check_index_data, check_ticker, index_argument, shown
from services.pipeline.b3.errors import SchemaDrift
from services.pipeline.errors import BadArgument
from services.pipeline.lake.datasets import BY_NAME, DAY
from services.pipeline.lake.layout import DATE, partition_regex
from services.pipeline.lake.refined import Day, PartitionValues
from services.pipeline.lake.storage import NO_VERSION, Lake, open_lake
from services.pipeline.validate.errors import UnreadableParquet

RAW_DT = re.compile(DATE)
_SHA256 = re.compile(r"[0-9a-f]{64}")
#: The scraper's statuses of a dataset ahead: written now, kept from an earlier scrape of
#: the session, or "no preview now" (nothing to refine).
AHEAD_STATUSES = ("stored", "kept", "none")
ENGINES = ("auto", "glue", "local")


class RefinedCheckFailed(Exception):
    """The refined rows do not reconcile with the raw rows they came from."""


class SparkFailed(Exception):
    """Spark failed for a reason the job cannot name more precisely (its one-line cause)."""


#: A raw object's path as Spark writes it in an error (``file:/…`` locally, ``s3://`` on AWS).
_RAW_FILE_IN_ERROR = re.compile(
    r"(?:file:|s3a?://|s3n://)[^\s,;\]\[]*?/"
    + partition_regex(re.escape(settings.RAW_PREFIX), r"[^/\s]*", r"[^/\s]*")
    + r"/[^/\s]+?\.parquet"
)


def spark_failure(text: str) -> Exception:
    """The one-line error for Spark's error ``text`` (a Py4J trace of hundreds of lines)."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    causes = [line for line in lines if line.startswith("Caused by:")]  # innermost last
    causes = causes or [line for line in lines if "Exception: " in line or line.startswith(":")]
    cause = causes[-1] if causes else lines[0] if lines else "no message"
    reason = cause.rsplit("Exception: ", 1)[-1].strip() or cause
    reason = reason if len(reason) <= 300 else reason[:299] + "…"
    if raw := _RAW_FILE_IN_ERROR.search(text):
        named = reason if raw[0] in reason else f"{raw[0]}: {reason}"
        return UnreadableParquet(f"Spark cannot read a raw object: {named}")
    return SparkFailed(reason)


def day_argument(value: object, where: str) -> date:
    """A ``YYYY-MM-DD`` day (it becomes a partition: nothing else passes)."""
    if isinstance(value, str) and RAW_DT.fullmatch(value):
        with contextlib.suppress(ValueError):
            return date.fromisoformat(value)
    raise BadArgument(f"{where} {shown(value)} is not a YYYY-MM-DD day")


def parse_pins(text: str, name: str, *, empty: bool = False) -> tuple[RawPartition, ...]:
    """The raw objects ``--objects`` (Validate's results) or ``--ahead`` (the scraper's
    summaries) pin, none twice: their ``sha256`` (``object_sha256``) and ``version``."""
    try:
        items = json.loads(text)
    except json.JSONDecodeError as error:
        raise BadArgument(f"--{name} is not JSON: {error}") from None
    if not isinstance(items, list) or not (items or empty):
        raise BadArgument(f"--{name} must be a {'' if empty else 'non-empty '}JSON list")
    parts = [_pinned(item, name) for item in items if name == arg.OBJECTS or _stored(item)]
    keys = [part.key for part in parts]
    for part in (part for part in parts if keys.count(part.key) > 1):
        raise BadArgument(f"--{name} names {part} more than once")
    return tuple(sorted(parts, key=lambda p: (p.dataset, p.dt, p.index)))


def _stored(item: Any) -> bool:
    """Whether a summary of a dataset ahead names an object to refine."""
    if not (
        isinstance(item, dict)
        and item.get("dataset") in AHEAD_TABLES
        and item.get("status") in AHEAD_STATUSES
    ):
        known = f"{' or '.join(sorted(AHEAD_TABLES))}, {', '.join(AHEAD_STATUSES)}"
        raise BadArgument(f"--ahead: {shown(item)} is not a summary ({known})")
    return bool(item["status"] != "none")


def _pinned(item: Any, name: str) -> RawPartition:
    if not isinstance(item, dict) or not isinstance(item.get("index"), str):
        raise BadArgument(f"--{name}: {shown(item)} is not an object with an index and a dt")
    index = index_argument(item["index"])
    dt = day_argument(item.get("dt"), f"--{name}: {index} dt")
    where = f"--{name}: {index} {dt}:"
    digest = item.get("sha256" if name == arg.OBJECTS else "object_sha256")
    version = item.get("version") or NO_VERSION
    if not (isinstance(digest, str) and _SHA256.fullmatch(digest.lower())):
        raise BadArgument(f"{where} sha256 {shown(digest)} is not a SHA-256 in hex")
    if not (isinstance(version, str) and len(version) <= 1024):
        raise BadArgument(f"{where} version {shown(version)} is not a version id")
    dataset = DAY if name == arg.OBJECTS else item["dataset"]
    return RawPartition(index, dt, Pin(digest.lower(), version), dataset)


@dataclass(frozen=True)
class JobArgs:
    lake: str
    #: The raw objects to refine, each pinned to its validated bytes.
    parts: tuple[RawPartition, ...]
    database: str = settings.GLUE_DATABASE
    table: str = settings.REFINED_TABLE
    processing_date: date = field(default_factory=lambda: calendar.now().date())
    engine: str = "auto"  # glue, local, or glue where its runtime (awsglue) is importable
    catalog: bool = True

    @property
    def span(self) -> str:
        first, last = min(p.dt for p in self.parts), max(p.dt for p in self.parts)
        return first.isoformat() if first == last else f"{first}..{last}"


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # one line, not a usage text and an exit
        raise BadArgument(message.removeprefix("argument "))


#: Reads ``--name value`` or ``--name=value``; Glue's own (``--JOB_NAME``…) are left unread.
_PARSER = _Parser(prog="glue.job", add_help=False, allow_abbrev=False)
for _name in arg.JOB_ARGUMENTS:
    _PARSER.add_argument(f"--{_name}", dest=_name, choices=ENGINES if _name == arg.ENGINE else None)


def parse_args(argv: Sequence[str]) -> JobArgs:
    """The job's arguments among ``argv`` as Glue passes them (empty values are absent),
    without ``awsglue`` (which cannot run outside AWS)."""
    given = {k: v for k, v in vars(_PARSER.parse_known_args(argv)[0]).items() if v}
    for name in (arg.LAKE, arg.OBJECTS):
        if name not in given:
            raise BadArgument(f"missing job argument --{name}")
    ahead = parse_pins(given[arg.AHEAD], arg.AHEAD, empty=True) if arg.AHEAD in given else ()
    objects = parse_pins(given[arg.OBJECTS], arg.OBJECTS, empty=bool(ahead))
    options: dict[str, Any] = {
        key: given[key] for key in (arg.DATABASE, arg.TABLE, arg.ENGINE) if key in given
    }
    if arg.PROCESSING_DATE in given:
        options["processing_date"] = day_argument(
            given[arg.PROCESSING_DATE], f"--{arg.PROCESSING_DATE}:"
        )
    if arg.CATALOG in given:
        options["catalog"] = given[arg.CATALOG].lower() not in {"false", "0", "no"}
    return JobArgs(given[arg.LAKE], (*objects, *ahead), **options)


def run(args: JobArgs, spark: SparkSession | None = None) -> dict[str, Any]:
    """Refine ``args``' pinned objects, each dataset into its table; return the summary.
    A Spark (Py4J) failure becomes one line (:func:`spark_failure`)."""
    try:
        return _run(args, spark)
    except Exception as error:
        if not type(error).__module__.startswith(("py4j", "pyspark")):
            raise
        raise spark_failure(str(error)) from None


def _run(args: JobArgs, spark: SparkSession | None) -> dict[str, Any]:
    """Every object is read and checked against its pin before anything is published, so
    one that changed fails the run with nothing written."""
    began, lake, engine = time.monotonic(), open_lake(args.lake), args.engine
    if engine == "auto":
        engine = "glue" if importlib.util.find_spec("awsglue") else "local"
    work = [(t, [p for p in args.parts if p.dataset == t.dataset]) for t in TABLES]
    results: dict[str, dict[str, Any]] = {}
    with scratch(lake, engine) as space:
        staged = [[space.write_bytes(p.key, read_pinned(lake, p)) for p in ps] for _, ps in work]
        for (table, parts), paths in zip(work, staged, strict=True):
            if not parts:
                continue
            spark = spark or (local_session() if engine == "local" else glue_session())
            base = space.uri_of(BY_NAME[table.dataset].prefix)
            raw = spark.read.option("basePath", base).parquet(*paths)
            results[table.dataset] = _refine_table(args, lake, raw, table, parts)
    empty = {"rows": 0, "partitions": 0, "files": 0, "days": [], "indices": []}
    return {
        "dt": args.span,
        **results.pop(DAY, {**empty, "table": f"{args.database}.{args.table}"}),
        "ahead": results,
        "engine": engine,
        "seconds": round(time.monotonic() - began, 2),
    }


def _refine_table(
    args: JobArgs, lake: Lake, raw: DataFrame, table: Table, parts: list[RawPartition]
) -> dict[str, Any]:
    """Refine ``raw`` into ``table``, check, publish and catalogue it; the table's summary.
    A run's rows are few (about a hundred a day per index): the driver writes them."""
    refined = refine(raw, table, args.processing_date, {p.dt for p in parts})
    rows = refined.collect()
    days, partitions = check(rows, {(p.dt.isoformat(), p.index) for p in parts})
    files = publish(lake, table.prefix, partition_files(refined.schema, rows))
    name = args.table if table is DAY_TABLE else table.name
    if args.catalog:
        location = lake.uri_of(table.prefix)
        catalog.publish(args.database, name, location, days, partitions, schema=table)
    return {
        "table": f"{args.database}.{name}",
        "rows": len(partitions),
        "partitions": len(partitions),
        "files": files,
        "days": sorted({dt for dt, _ in days}),
        "indices": sorted({index for _, index in days}),
    }


def check(rows: list[Row], expected: set[Day]) -> tuple[list[Day], list[PartitionValues]]:
    """Fail before writing unless every ``expected`` day kept all its tickers (counted on
    the raw rows, before any join), once each, and matches B3's total."""
    tickers = Counter((row["dt"], row["index_code"]) for row in rows)
    counted = {(row["dt"], row["index_code"]): row["index_ticker_count"] for row in rows}
    lost = [f"{d}/{i}" for d, i in sorted(expected - set(counted))]  # every row lost
    lost += [f"{d}/{i}" for (d, i), n in sorted(counted.items()) if tickers[(d, i)] != n]
    if lost:
        raise RefinedCheckFailed(f"rows lost between raw and refined on {', '.join(lost)}")
    mismatched = sorted(
        f"{row['dt']}/{row['index_code']}"
        for row in rows
        if row["index_theoretical_qty"] != row["index_theoretical_qty_b3"]
    )
    if mismatched:
        days = ", ".join(sorted(set(mismatched)))
        raise RefinedCheckFailed(f"index theoretical quantity differs from B3's header on {days}")
    partitions = sorted(
        check_partition_values(row["dt"], row["index_code"], row["ticker"]) for row in rows
    )
    if len(set(partitions)) != len(partitions):
        raise RefinedCheckFailed("a ticker appears twice on the same day")
    return sorted(tickers), partitions


def check_partition_values(dt: Any, index: Any, ticker: Any) -> PartitionValues:
    """The values that become the refined path, each as B3 writes it, else ``SchemaDrift``
    (``/``, ``=``, 300 characters, ``__HIVE_DEFAULT_PARTITION__`` never reach a write)."""
    where = f"raw row of {dt}/{index}"
    if not (isinstance(dt, str) and RAW_DT.fullmatch(dt)):
        raise SchemaDrift(f"{where}: dt {dt!r} is not YYYY-MM-DD")
    return (
        dt,
        check_index_data(index, f"{where}: index"),
        check_ticker(ticker, f"{where}: ticker (cod)"),
    )


def main(argv: Sequence[str] | None = None) -> None:
    print(json.dumps(run(parse_args(sys.argv[1:] if argv is None else argv))))


if __name__ == "__main__":
    main()

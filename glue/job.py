"""The Glue job entry script: raw partitions of some days to the refined layer and the catalogue.

AWS Glue runs this file as a ``glueetl`` job with ``--key value`` arguments; locally
``bovespa etl`` (or ``python -m glue.job``) runs it under plain pyspark. Arguments:

``--lake``             the lake: ``s3://bucket[/prefix]`` or a directory
``--dt``               one trading day, ``YYYY-MM-DD`` (or ``--start`` and ``--end``)
``--index``            comma-separated index codes (default: every index found)
``--objects``          instead of ``--dt``/``--index``: the validated raw objects to refine, as
                       the state machine passes them: a JSON list of Validate's results
                       ``{"index", "dt", "sha256", "version", …}``; one run refines every
                       index of the day, each exactly as validated
``--ahead``            with ``--objects``: the datasets ahead the same execution scraped, as
                       the state machine passes them: a JSON list of the scraper's summaries
                       ``{"dataset", "index", "dt", "status", "object_sha256", "version"}``;
                       each ``stored`` (or ``kept``) one is refined into its own table
                       (``b3_index_theoretical``, ``b3_index_preview``), pinned like the
                       day's objects; a ``none`` one ("no preview now") has nothing to refine.
                       ``--objects`` may be ``[]`` when ``--ahead`` names something (a redrive
                       that finished only a dataset ahead)
``--database``         Glue database (default ``default``)
``--table``            table name (default ``b3_index_portfolio``)
``--processing-date``  the processing date for the date features (default: today, São Paulo)
``--engine``           ``glue``, ``local`` or ``auto`` (Glue when ``awsglue`` is importable)
``--catalog``          ``true``/``false``: update the Glue catalogue (default true)

What is refined is exactly what was validated: with ``--objects`` the job refines each
object's validated bytes (that version, that SHA-256) or fails with ``RawObjectChanged``;
without it, the
local engine applies the data contract to every day it finds and skips, and reports, the
days it refuses, while the Glue engine (which has no pyarrow for the contract) refuses to
run unpinned.

It prints one JSON line: ``dt``, ``rows``, ``partitions``, ``files``, ``table``, ``days``,
``skipped`` (the day's table), and ``ahead``: per dataset refined, its ``table``, ``rows``,
``partitions``, ``files`` and ``days``.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import importlib.util
import json
import re
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any, NoReturn, TypeVar
from zoneinfo import ZoneInfo

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from glue import catalog
from glue.arguments import (
    AHEAD,
    CATALOG,
    DATABASE,
    DT,
    END,
    ENGINE,
    INDEX,
    JOB_ARGUMENTS,
    LAKE,
    OBJECTS,
    PROCESSING_DATE,
    START,
    TABLE,
    flag,
)
from glue.lakeio import (
    RAW_DT,
    Discovery,
    GlueIO,
    JobIO,
    LocalIO,
    Pin,
    RawPartition,
    Refused,
    discover,
    fault_point,
)
from glue.schema import AHEAD_TABLES, DAY_TABLE, PARTITION_COLUMNS, Table
from glue.spark import glue_session, local_session
from glue.transforms import ahead_cycle_mismatches, refine, refine_ahead
from services.pipeline import settings
from services.pipeline.b3.codes import check_index_data, check_ticker, index_argument
from services.pipeline.b3.errors import SchemaDrift
from services.pipeline.errors import BadArgument
from services.pipeline.lake.layout import RawDay, partition_regex
from services.pipeline.lake.refined import Day, PartitionValues
from services.pipeline.lake.storage import NO_VERSION, Lake, open_lake
from services.pipeline.validate.errors import UnreadableParquet

PARTITIONS = [c.name for c in PARTITION_COLUMNS]
_SHA256 = re.compile(r"[0-9a-f]{64}")


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
_Run = TypeVar("_Run", bound=Callable[..., Any])


def spark_errors_in_one_line(job: _Run) -> _Run:
    """Turn a Spark (Py4J) failure of ``job`` into one line that names what failed.

    A raw object Spark cannot read becomes :class:`UnreadableParquet` naming the object,
    as Validate would name it; any other Spark failure :class:`SparkFailed` with the
    innermost Java cause. Both leave a single line on stderr, which the local launcher
    and AWS Glue report as the run's ``ErrorMessage``.
    """

    @functools.wraps(job)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        try:
            return job(*args, **kwargs)
        except Exception as error:
            if not type(error).__module__.startswith(("py4j", "pyspark")):
                raise
            raise spark_failure(str(error)) from None

    return wrapped  # type: ignore[return-value]


def spark_failure(text: str) -> Exception:
    """The one-line error for Spark's error ``text`` (a Py4J trace of hundreds of lines)."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    causes = [line for line in lines if line.startswith("Caused by:")]  # innermost last
    causes = causes or [line for line in lines if "Exception: " in line or line.startswith(":")]
    cause = causes[-1] if causes else lines[0] if lines else "no message"
    reason = cause.rsplit("Exception: ", 1)[-1].strip() or cause
    reason = reason if len(reason) <= 300 else reason[:299] + "…"
    raw = _RAW_FILE_IN_ERROR.search(text)
    if raw:
        named = reason if raw[0] in reason else f"{raw[0]}: {reason}"
        return UnreadableParquet(f"Spark cannot read a raw object: {named}")
    return SparkFailed(reason)


def today_in_sao_paulo() -> date:
    return datetime.now(ZoneInfo(settings.B3_TIMEZONE)).date()


#: The scraper's statuses of a dataset ahead: written now, kept from an earlier scrape of
#: the session, or "no preview now" (nothing to refine).
AHEAD_STATUSES = ("stored", "kept", "none")


@dataclass(frozen=True)
class Ahead:
    """One entry of ``--ahead``: a dataset ahead of an index and session, and its pin
    (``None`` for "no preview now": nothing was written to refine)."""

    dataset: str
    day: RawDay
    status: str
    pin: Pin | None

    @property
    def part(self) -> RawPartition | None:
        """The raw object to refine, if there is one."""
        if self.pin is None:
            return None
        return RawPartition(self.day.index, self.day.dt, self.pin, self.dataset)


def _json_list(text: str, name: str, of: str, *, empty: bool) -> list[Any]:
    """``--name``'s JSON list (of ``of``), else one :class:`BadArgument`."""
    try:
        items = json.loads(text)
    except json.JSONDecodeError as error:
        raise BadArgument(f"--{name} is not JSON: {error}") from None
    if not isinstance(items, list) or not (items or empty):
        raise BadArgument(f"--{name} must be a {'' if empty else 'non-empty '}JSON list of {of}")
    return items


@dataclass(frozen=True)
class Named:
    """A raw object the state machine names, and the bytes it pins: one of Validate's results
    in ``--objects`` (``{"index", "dt", "sha256", "version"}``) or of the scraper's summaries
    in ``--ahead`` (the same with ``object_sha256``). Other keys are theirs and ignored.

    The pin is the SHA-256 of the bytes, and their S3 version where the store keeps
    versions (``null`` or absent where it does not). A field that is not what it names is
    one :class:`BadArgument`.
    """

    day: RawDay
    pin: Pin

    @classmethod
    def read(cls, item: Any, where: str, sha256: str = "sha256") -> Named:
        if not isinstance(item, dict) or not isinstance(item.get("index"), str):
            raise BadArgument(f"{where}: {_shown(item)} is not an object with an index and a dt")
        day = RawDay(index_argument(item["index"]), _day(item.get("dt"), f"{where}: dt"))
        digest, version = item.get(sha256), item.get("version") or NO_VERSION
        if not (isinstance(digest, str) and _SHA256.fullmatch(digest.lower())):
            raise BadArgument(f"{where}: {day}: sha256 {_shown(digest)} is not a SHA-256 in hex")
        if not (isinstance(version, str) and len(version) <= 1024):
            raise BadArgument(f"{where}: {day}: version {_shown(version)} is not a version id")
        return cls(day, Pin(digest.lower(), version))


def parse_objects(text: str, *, allow_empty: bool = False) -> dict[RawDay, Pin]:
    """``--objects``: Validate's results, each a :class:`Named` object; none named twice."""
    pins: dict[RawDay, Pin] = {}
    for item in _json_list(text, OBJECTS, "Validate's results", empty=allow_empty):
        named = Named.read(item, "--objects")
        if named.day in pins:
            raise BadArgument(f"--objects names {named.day} more than once")
        pins[named.day] = named.pin
    return pins


def parse_ahead(text: str) -> tuple[Ahead, ...]:
    """``--ahead``: the scraper's summaries of the datasets ahead, each a :class:`Named`
    object with its ``dataset`` and ``status``. A ``stored`` or ``kept`` one pins the
    dataset's Parquet object as the scraper wrote or found it after its contract passed; a
    ``none`` one has nothing to refine (only what it names is checked). An unknown dataset
    or status, or the same object twice, is one :class:`BadArgument`.
    """
    entries: dict[tuple[str, RawDay], Ahead] = {}
    for item in _json_list(text, AHEAD, "the scraper's summaries", empty=True):
        if not isinstance(item, dict) or item.get("dataset") not in AHEAD_TABLES:
            raise BadArgument(
                f"--ahead: {_shown(item)} is not a summary of {' or '.join(sorted(AHEAD_TABLES))}"
            )
        dataset, status = item["dataset"], item.get("status")
        if status not in AHEAD_STATUSES:
            known = ", ".join(AHEAD_STATUSES)
            raise BadArgument(f"--ahead: {dataset} status {_shown(status)} is not one of {known}")
        if status == "none":  # nothing written to refine
            item = {**item, "object_sha256": "0" * 64, "version": None}
        named = Named.read(item, "--ahead", sha256="object_sha256")
        if (dataset, named.day) in entries:
            raise BadArgument(f"--ahead names {dataset} {named.day} more than once")
        pin = None if status == "none" else named.pin
        entries[(dataset, named.day)] = Ahead(dataset, named.day, status, pin)
    return tuple(entries[key] for key in sorted(entries))


def _shown(value: object, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _day(value: object, where: str) -> date:
    """A ``YYYY-MM-DD`` day (it becomes a partition: nothing else passes)."""
    if isinstance(value, str) and RAW_DT.fullmatch(value):
        with contextlib.suppress(ValueError):
            return date.fromisoformat(value)
    raise BadArgument(f"{where} {_shown(value)} is not a YYYY-MM-DD day")


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
    #: Exactly these objects, pinned to the bytes Validate passed (``--objects``).
    objects: dict[RawDay, Pin] = field(default_factory=dict)
    #: The datasets ahead the execution scraped, each pinned to the bytes the scraper
    #: wrote (``--ahead``).
    ahead: tuple[Ahead, ...] = ()

    def __post_init__(self) -> None:
        if self.start > self.end:
            raise BadArgument(f"--start {self.start} is after --end {self.end}")
        if self.engine not in {"auto", "glue", "local"}:
            raise BadArgument(f"--engine must be glue, local or auto, not {self.engine!r}")

    @property
    def pins(self) -> dict[RawDay, Pin] | None:
        """The pinned objects, when the run refines exactly what Validate passed."""
        return dict(self.objects) if self.objects else None

    @property
    def span(self) -> str:
        return self.start.isoformat() if self.start == self.end else f"{self.start}..{self.end}"


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # one line, not a usage text and an exit
        raise BadArgument(message.removeprefix("argument "))


#: Reads :data:`glue.arguments.JOB_ARGUMENTS` as ``--name value`` or ``--name=value``;
#: anything else (AWS Glue's own ``--JOB_NAME``, ``--TempDir``…) is left unread.
_PARSER = _Parser(prog="glue.job", add_help=False, allow_abbrev=False)
for _name in JOB_ARGUMENTS:
    _PARSER.add_argument(flag(_name), dest=_name)


def parse_args(argv: Sequence[str]) -> JobArgs:
    """The job's arguments among ``argv`` as Glue passes them (empty values are absent).

    Needs no Glue runtime (``awsglue.utils.getResolvedOptions`` cannot run outside AWS).
    With ``--objects`` (and ``--ahead``) the span and the indices are the named objects'.
    """
    parsed: dict[str, str] = vars(_PARSER.parse_known_args(argv)[0])
    given = {key: value for key, value in parsed.items() if value}

    def needed(name: str) -> str:
        if name not in given:
            raise BadArgument(f"missing job argument --{name} (need --lake and --dt)")
        return given[name]

    def day(name: str) -> date:
        return _day(needed(name), f"--{name}:")

    lake = needed(LAKE)
    ahead = parse_ahead(given[AHEAD]) if AHEAD in given else ()
    if ahead and OBJECTS not in given:
        raise BadArgument("--ahead is passed with --objects (the state machine passes both)")
    objects = parse_objects(given[OBJECTS], allow_empty=bool(ahead)) if OBJECTS in given else {}
    pinned = [*objects, *(entry.day for entry in ahead)]
    if pinned:
        start, end = min(d.dt for d in pinned), max(d.dt for d in pinned)
        indices = tuple(sorted({d.index for d in pinned}))
    else:
        start, end = (day(DT), day(DT)) if DT in given else (day(START), day(END))
        indices = tuple(index_argument(i) for i in given.get(INDEX, "").split(",") if i)
    options: dict[str, Any] = {key: given[key] for key in (DATABASE, TABLE, ENGINE) if key in given}
    if PROCESSING_DATE in given:
        options["processing_date"] = day(PROCESSING_DATE)
    if CATALOG in given:
        options["catalog"] = given[CATALOG].lower() not in {"false", "0", "no"}
    return JobArgs(lake, start, end, indices, objects=objects, ahead=ahead, **options)


def resolve_engine(engine: str) -> str:
    """``auto`` means Glue when its runtime (``awsglue``) is importable, else local."""
    if engine != "auto":
        return engine
    return "glue" if importlib.util.find_spec("awsglue") is not None else "local"


def contract_validator(lake: Lake, key: str) -> Pin:
    """The data contract (``services.pipeline.validate.contract``), as the local engine
    applies it."""
    from services.pipeline.b3.errors import B3Error  # the contract needs pyarrow: loaded on use
    from services.pipeline.validate.contract import validate
    from services.pipeline.validate.errors import ContractViolation

    try:
        result = validate(lake.uri_of(key), lake=lake)
    except (ContractViolation, B3Error) as error:
        first = str(error).strip().splitlines()[0] if str(error).strip() else ""
        raise Refused(f"{type(error).__name__}: {first}") from None
    return Pin(result["sha256"], result["version"])


@spark_errors_in_one_line
def run(args: JobArgs, spark: SparkSession | None = None) -> dict[str, Any]:
    """Refine the validated raw objects of ``args``' days and catalogue them; return the summary.

    The day's objects go to the day's table; the datasets ahead (``--ahead``) each to its
    own table, in the same run. Every pinned object is read and checked against its pin
    before anything is published, so one that changed fails the run with nothing written.
    """
    began = time.monotonic()
    lake = open_lake(args.lake)
    engine = resolve_engine(args.engine)
    found = _discover_days(args, lake, engine)
    results = _refine_all(args, lake, engine, _work(args, found), spark)
    day = results.get(DAY_TABLE.dataset)
    return {
        "dt": args.span,
        "rows": day["rows"] if day else 0,
        "partitions": day["partitions"] if day else 0,
        "files": day["files"] if day else 0,
        "table": day["table"] if day else f"{args.database}.{args.table}",
        "days": day["days"] if day else [],
        "indices": day["indices"] if day else [],
        "skipped": [str(skip) for skip in found.skipped],
        "ahead": {name: result for name, result in results.items() if name in AHEAD_TABLES},
        "engine": engine,
        "seconds": round(time.monotonic() - began, 2),
    }


#: One table's share of a run: the table, its catalogue name, and its raw partitions.
_Work = tuple[Table, str, list[RawPartition]]


def _discover_days(args: JobArgs, lake: Lake, engine: str) -> Discovery:
    """The day's raw partitions to refine (none for a redrive that finished only datasets
    ahead); unpinned, the local engine applies the contract to each day it finds."""
    if args.ahead and not args.objects:
        return Discovery([])
    return discover(
        lake,
        args.start,
        args.end,
        args.indices,
        pins=args.pins,
        validator=None if engine == "glue" else contract_validator,
    )


def _work(args: JobArgs, found: Discovery) -> list[_Work]:
    """Each table with something to refine: the day's, then each dataset ahead's."""
    work: list[_Work] = []
    if found.parts:
        work.append((DAY_TABLE, args.table, found.parts))
    for name, table in AHEAD_TABLES.items():
        parts = [e.part for e in args.ahead if e.dataset == name and e.part is not None]
        if parts:
            work.append((table, table.name, parts))
    return work


def _refine_all(
    args: JobArgs, lake: Lake, engine: str, work: list[_Work], spark: SparkSession | None
) -> dict[str, dict[str, Any]]:
    """Stage every table's pinned objects (every pin checked before anything is written),
    then refine, publish and catalogue each table; the results by dataset."""
    results: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory(prefix="bovespa-etl-") as scratch:
        ios: list[JobIO] = []
        try:
            staged = []
            for table, _, parts in work:
                io: JobIO = (
                    LocalIO(lake, Path(scratch) / table.dataset, parts[0].raw_prefix, table.prefix)
                    if engine == "local"
                    else GlueIO(lake, None, parts[0].raw_prefix, table.prefix)
                )
                ios.append(io)
                staged.append(io.stage_raw(parts))
            if work:
                spark = spark or (local_session() if engine == "local" else glue_session())
            for (table, name, parts), io, paths in zip(work, ios, staged, strict=True):
                assert spark is not None
                results[table.dataset] = _refine_table(
                    args, lake, spark, io, paths, table, name, parts
                )
        finally:
            for io in ios:
                if isinstance(io, GlueIO):
                    io.discard_staging()
    return results


def _refine_table(
    args: JobArgs,
    lake: Lake,
    spark: SparkSession,
    io: JobIO,
    paths: list[str],
    table: Table,
    name: str,
    parts: list[RawPartition],
) -> dict[str, Any]:
    """Refine the staged ``paths`` into ``table``, check, publish and catalogue them."""
    raw = spark.read.option("basePath", io.raw_base).parquet(*paths)
    trading_days = {p.dt for p in parts}
    if table is DAY_TABLE:
        refined = refine(raw, args.processing_date, trading_days)
    else:
        refined = refine_ahead(raw, table, args.processing_date, trading_days)
    refined = refined.persist()
    try:
        days, partitions, rows = check(refined)
        missing = {(p.dt.isoformat(), p.index) for p in parts} - set(days)
        if missing:
            raise RefinedCheckFailed(f"every row of {sorted(missing)} was lost in refining")
        if table is not DAY_TABLE:
            wrong = ahead_cycle_mismatches(refined, table)
            if wrong:
                raise RefinedCheckFailed(
                    f"{table.dataset}: the stored cycle is not B3's calendar's for the "
                    f"session on {', '.join(f'{d}/{i}' for d, i in wrong)}"
                )
        refined.repartition(*PARTITIONS).write.mode("overwrite").partitionBy(*PARTITIONS).parquet(
            io.refined_target
        )
        files = io.publish(days, set(partitions))
    finally:
        refined.unpersist()
    qualified = f"{args.database}.{name}"
    if args.catalog:
        location = lake.uri_of(table.prefix)
        qualified = catalog.publish(
            args.database, name, location, days, partitions, schema=table
        ).table
    fault_point("publish.catalogued")
    io.cleanup(days)
    return {
        "table": qualified,
        "rows": rows,
        "partitions": len(partitions),
        "files": files,
        "days": sorted({day[0] for day in days}),
        "indices": sorted({day[1] for day in days}),
    }


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
    partitions = sorted(
        check_partition_values(row["dt"], row["index_code"], row["ticker"]) for row in rows
    )
    if len(set(partitions)) != len(partitions):
        raise RefinedCheckFailed("a ticker appears twice on the same day")
    return sorted(tickers), partitions, len(rows)


def check_partition_values(dt: Any, index: Any, ticker: Any) -> PartitionValues:
    """The values that become the refined path, each as B3 writes it, else ``SchemaDrift``.

    A ticker with ``/`` or ``=`` would change the path (and be deleted as stale on S3),
    one of 300 characters would fail the write, ``__HIVE_DEFAULT_PARTITION__`` would read
    back as NULL: none of them reaches a write.
    """
    where = f"raw row of {dt}/{index}"
    if not (isinstance(dt, str) and RAW_DT.fullmatch(dt)):
        raise SchemaDrift(f"{where}: dt {dt!r} is not YYYY-MM-DD")
    return (
        dt,
        check_index_data(index, f"{where}: index"),
        check_ticker(ticker, f"{where}: ticker (cod)"),
    )


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

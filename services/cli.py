"""``bovespa``: the command-line entry point for everything local.

Human-readable output goes to stderr; commands that produce a result print it as one JSON
object on the last line of stdout, so scripts can ``| tail -1 | jq``.
"""

from __future__ import annotations

import csv
import functools
import json
import logging
import os
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, TypeVar

import boto3
import pyarrow.parquet as pq
import typer
from rich.console import Console
from rich.live import Live
from rich.logging import RichHandler
from rich.markup import escape
from rich.table import Table

from services import settings
from services.analysis.athena import run as run_athena
from services.analysis.queries import bind, saved_queries
from services.analysis.readonly import check_read_only
from services.b3.codes import index_argument
from services.b3.indices import canonical
from services.b3.indices import resolve as resolve_indices
from services.errors import BadArgument, exit_code, one_line
from services.lake.layout import RawDay
from services.lake.storage import LocalLake
from services.local.deploy import LOCAL, LocalStack, deploy, deployed
from services.local.emulator import Emulator, point_boto3_at
from services.local.replay import (
    DEMO_AHEAD_DATASETS,
    DEMO_AHEAD_INDEX,
    DEMO_INDICES,
    ReplayServer,
    demo_ahead,
    demo_cases,
)
from services.local.run import (
    Progress,
    execution_names,
    follow,
    start,
    summary,
    wait_for_execution,
)
from services.local.run import finish as finish_execution
from services.scraper.ahead import scrape_preview, scrape_theoretical
from services.scraper.scrape import scrape as scrape_portfolio
from services.validate.contract import validate

app = typer.Typer(
    help="B3 index portfolios to a partitioned, catalogued data lake.",
    no_args_is_help=True,
    add_completion=False,
)
local_app = typer.Typer(help="The local AWS emulator (MiniStack on 127.0.0.1:4566).")
app.add_typer(local_app, name="local")

err = Console(stderr=True, width=None if sys.stderr.isatty() else 120)
T = TypeVar("T")

IndexOption = Annotated[
    str,
    typer.Option(
        "--index", "-i", help="B3 index code: IBOV, IBXX, IBXL, SMLL, IDIV, IFIX... (IBRX works)"
    ),
]
LakeOption = Annotated[
    str,
    typer.Option(
        "--lake", envvar=settings.LAKE_URI_ENV, help="A directory or s3://bucket[/prefix]."
    ),
]
BaseUrlOption = Annotated[
    str | None,
    typer.Option(
        "--base-url", envvar=settings.B3_BASE_URL_ENV, help="B3 endpoint (default: B3's own)."
    ),
]


class ScrapedDataset(StrEnum):
    """What ``bovespa scrape`` fetches."""

    day = "day"
    theoretical = "theoretical"
    preview = "preview"


_SCRAPERS: dict[ScrapedDataset, Callable[..., dict[str, Any]]] = {
    ScrapedDataset.day: scrape_portfolio,
    ScrapedDataset.theoretical: scrape_theoretical,
    ScrapedDataset.preview: scrape_preview,
}


@app.callback()
def main(verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False) -> None:
    """Configure logging (to stderr) for every command."""
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.WARNING,
        format="%(message)s",
        handlers=[RichHandler(console=err, show_path=False)],
    )


@app.command()
def scrape(
    index: IndexOption = settings.DEFAULT_INDEX,
    lake: LakeOption = str(settings.LOCAL_LAKE_DIR),
    base_url: BaseUrlOption = None,
    page_size: Annotated[int, typer.Option(min=1, help="Rows per B3 page.")] = (
        settings.B3_PAGE_SIZE
    ),
    dataset: Annotated[
        ScrapedDataset,
        typer.Option(
            help="day: the day's portfolio; theoretical: the four-month theoretical portfolio; "
            "preview: the preview of the next one, if B3 has a current one."
        ),
    ] = ScrapedDataset.day,
) -> None:
    """Fetch a portfolio of INDEX from B3, check it and write its raw partition."""
    index = _index(index)
    scraper = _SCRAPERS[dataset]
    summary = _run(lambda: scraper(index, lake_uri=lake, base_url=base_url, page_size=page_size))
    _print_summary(summary)


@app.command()
def run(
    index: Annotated[
        str,
        typer.Option(
            "--index",
            "--indices",
            "-i",
            help="B3 index codes, comma-separated, or all: every one in one execution.",
        ),
    ] = settings.DEFAULT_INDEX,
) -> None:
    """The main job: today's portfolios from the live B3 site through the whole pipeline.

    Starts the local emulator if needed, deploys, starts the schedule-path execution (every
    index in one execution, the deployment's datasets ahead with them) and follows it.
    """
    indices = _indices(index)
    _pipeline(lambda stack: start(stack, LOCAL.schedule_input(indices)))


@app.command()
def demo() -> None:
    """The main job, offline: a day of three indices from B3's recordings, in one execution.

    The recordings are :data:`services.local.replay.DEMO_RECORDINGS` (IBOV of 2025-07-10,
    IBRA of 2021-06-22 -- two B3 pages --, IBXX of 2024-11-12). No recording of the
    portfolio ahead matches those days, so a second execution scrapes IBOV on session
    2022-12-08 with its theoretical portfolio (both recorded) and a preview made from it
    (:func:`services.local.replay.demo_ahead`: unverified), and refines all three.
    """
    with ReplayServer(demo_cases()) as server:
        err.print(f"[bold]Replaying B3's recorded answers at[/] {server.base_url}")
        result = _pipeline(
            lambda stack: start(stack, LOCAL.schedule_input(DEMO_INDICES, ahead=())),
            server.base_url,
        )
        server.serve(*demo_ahead())
        err.print(
            f"[bold]The portfolio ahead:[/] {DEMO_AHEAD_INDEX} on 2022-12-08, its theoretical "
            "portfolio (recorded) and a preview made from it (unverified)"
        )
        ahead = _pipeline(
            lambda stack: start(
                stack, LOCAL.schedule_input(DEMO_AHEAD_INDEX, ahead=DEMO_AHEAD_DATASETS)
            ),
            redeploy=False,
        )
    for done in (result, ahead):  # the day's report, then the one with the portfolio ahead
        first = done["indices"][0]
        _write_report(first["dt"], first["index"], settings.STATE_DIR / "reports")


@app.command()
def finish(
    execution: Annotated[str, typer.Argument(help="The ARN of a FAILED execution.")],
) -> None:
    """Finish what a failed execution left: redrive it, or (no redrive locally) start one.

    On AWS a redrive reruns only the failed indices, then refines them alone; the local
    emulator has no RedriveExecution, so a new execution for the failed indices follows.
    """
    more: list[str] = []

    def begin(stack: LocalStack) -> str:
        first, *rest = finish_execution(stack, execution)
        more.extend(rest)
        return first

    _pipeline(begin, redeploy=False)
    for arn in more:
        _pipeline(functools.partial(_started, arn), redeploy=False)


@app.command()
def ingest(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="A raw Parquet file.")],
    index: Annotated[str | None, typer.Option(help="Index code (default: from the file).")] = None,
    dt: Annotated[str | None, typer.Option(help="Trading day (default: from the file).")] = None,
) -> None:
    """Drop a raw Parquet file into the local bucket and follow the S3-event path it starts.

    The file is checked against the data contract first: a file the contract refuses is
    never written, so it cannot replace the day's good raw object.
    """
    day = _run(lambda: _partition_of(file, index, dt))  # bad values: refused now
    data = file.read_bytes()
    _run(lambda: _validate_before_writing(data, day))

    def drop(stack: LocalStack) -> str:
        known = execution_names(stack)
        etag = boto3.client("s3").put_object(Bucket=stack.bucket, Key=day.key, Body=data)["ETag"]
        err.print(f"[bold]Dropped[/] s3://{stack.bucket}/{day.key}; waiting for the trigger")
        return wait_for_execution(stack, day.key, etag.strip('"'), known)

    _pipeline(drop)


def _validate_before_writing(data: bytes, day: RawDay) -> dict[str, Any]:
    """The data contract on ``data`` as the raw object of ``day``, before it goes anywhere."""
    with tempfile.TemporaryDirectory(prefix="bovespa-ingest-") as scratch:
        lake = LocalLake(scratch)
        lake.write_bytes(day.key, data)
        return validate(lake.uri_of(day.key), lake=lake)


def _partition_of(file: Path, index: str | None, dt: str | None) -> RawDay:
    """Index and trading day of a raw file: the options, else the file's own metadata.

    Both become the object's key, so both are checked here: an index code as B3 writes
    it, a ``YYYY-MM-DD`` date.
    """
    metadata = {} if index and dt else (pq.read_schema(file).metadata or {})
    code = index or metadata.get(b"bovespa.index", b"").decode()
    day = dt or metadata.get(b"bovespa.dt", b"").decode()
    if not code or not day:
        raise BadArgument("the file does not say its index and dt: pass --index and --dt")
    try:
        trading_day = date.fromisoformat(day)
    except ValueError:
        raise BadArgument(f"dt {day[:40]!r} is not a YYYY-MM-DD date") from None
    if len(day) != len("YYYY-MM-DD"):
        raise BadArgument(f"dt {day[:40]!r} is not a YYYY-MM-DD date")
    return RawDay(index_argument(code), trading_day)


def _pipeline(
    begin: Callable[[LocalStack], str], b3_base_url: str | None = None, *, redeploy: bool = True
) -> dict[str, Any]:
    """Emulator up, deploy, start (``begin``), follow live, summarise; exit 1 on failure.

    ``redeploy=False`` uses the stack as deployed (finishing an execution must not change
    the B3 address its functions were deployed with).
    """
    timings: dict[str, float] = {}
    clock = time.monotonic()
    endpoint = os.environ.get("AWS_ENDPOINT_URL")  # an emulator the user chose (LocalStack...)
    if not endpoint:
        emulator = Emulator()
        if not emulator.is_up():
            _run(emulator.start)
        point_boto3_at(endpoint := emulator.endpoint)
    timings["emulator_start_s"] = round(time.monotonic() - clock, 2)
    clock = time.monotonic()
    if redeploy:
        stack = _run(lambda: deploy(LOCAL, b3_base_url=b3_base_url))
        timings["deploy_s"] = round(time.monotonic() - clock, 2)
        err.print(f"[bold]Deployed[/] to {endpoint} in {timings['deploy_s']} s")
    else:
        stack = deployed(LOCAL)
    execution = _run(lambda: begin(stack))
    with Live(_steps_table(Progress()), console=err, auto_refresh=False) as live:
        outcome = _run(
            lambda: follow(execution, lambda p: live.update(_steps_table(p), refresh=True))
        )
    err.print()
    result = {**summary(stack, outcome), **timings}
    _print_result(result, endpoint)
    sys.stdout.write(json.dumps(result) + "\n")
    if outcome.status != "SUCCEEDED":
        err.print(
            f"[red]error[/] the pipeline failed in {result.get('failed_state')}: "
            f"{result.get('error')}: {escape(str(result.get('cause')))}",
            soft_wrap=True,
        )
        raise typer.Exit(1)
    return result


def _steps_table(progress: Progress) -> Table:
    table = Table(title="Pipeline execution", title_justify="left")
    for column in ("step", "status", "seconds", "status checks", "retries"):
        table.add_column(column)
    colour = {"succeeded": "green", "failed": "red", "running": "yellow"}
    for step in progress.steps:
        seconds = "…" if step.seconds is None else f"{step.seconds:.1f}"
        table.add_row(
            step.name,
            f"[{colour[step.status]}]{step.status}[/]",
            seconds,
            str(step.polls or ""),
            str(step.retries or ""),
        )
    return table


def _print_result(result: dict[str, Any], endpoint: str) -> None:
    """Each index of the execution: validated rows, refined rows and files, Athena's count."""
    table = Table(title="Indices", title_justify="left")
    counts = ("raw_rows", "refined_rows", "refined_files", "athena_count")
    for column in ("index", "dt", "session", "status", *counts):
        table.add_column(column, justify="right" if column in counts else "left")
    colour = {"refined": "green", "failed": "red"}
    for row in result.get("indices", []):
        status = f"[{colour.get(row['status'], 'yellow')}]{escape(row['status'])}[/]"
        if "error" in row:
            status += f" {escape(str(row['error']))}"
        cells = [_cell(row.get(column)) for column in counts]
        table.add_row(
            escape(row["index"]), _cell(row.get("dt")), _cell(row.get("session")), status, *cells
        )
    err.print(table)
    facts = Table(show_header=False, box=None)
    for key in ("glue_runs", "crawls", "table", "seconds"):
        facts.add_row(f"[bold]{key}[/]", escape(str(result.get(key))))
    for ahead in result.get("ahead", []):
        landed = (
            f", refined {ahead['refined_rows']} rows in {ahead['table']}"
            if "refined_rows" in ahead
            else ""
        )
        facts.add_row(
            f"[bold]{escape(ahead['dataset'])}[/]",
            escape(
                f"{ahead['index']} {ahead['dt']}: {ahead['status']}, {ahead['rows']} rows{landed}"
            ),
        )
    if "athena_smoke_query" in result:
        facts.add_row("[bold]athena query[/]", escape(result["athena_smoke_query"]))
    err.print(facts)
    refined = [row["refined"] for row in result.get("indices", []) if "refined" in row]
    if refined:
        err.print(
            f"Files: AWS_ENDPOINT_URL={endpoint} aws s3 ls {refined[0]}  "
            "(the emulator keeps running: `bovespa local down` stops it)"
        )


def _started(arn: str, stack: LocalStack) -> str:
    """``_pipeline``'s ``begin`` for an execution that is already started."""
    del stack
    return arn


def _cell(value: object) -> str:
    return "" if value is None else escape(str(value))


@app.command()
def etl(
    lake: LakeOption = str(settings.LOCAL_LAKE_DIR),
    dt: Annotated[str | None, typer.Option("--dt", help="One trading day, YYYY-MM-DD.")] = None,
    start: Annotated[str | None, typer.Option(help="Backfill from this day…")] = None,
    end: Annotated[str | None, typer.Option(help="…to this day (inclusive).")] = None,
    index: Annotated[
        str | None, typer.Option("--index", "-i", help="Index codes, comma-separated.")
    ] = None,
    table: Annotated[str, typer.Option(help="Table in the Glue catalogue.")] = (
        settings.REFINED_TABLE
    ),
    processing_date: Annotated[
        str | None, typer.Option(help="Processing date for the date features.")
    ] = None,
    catalog: Annotated[
        bool, typer.Option(help="Create/update the table in the Glue catalogue.")
    ] = True,
) -> None:
    """Run the Glue job locally: raw partitions to refined/ and the catalogue table."""
    from glue.job import parse_args
    from glue.job import run as run_job

    if index:
        index = ",".join(_indices(index))
    argv = ["--lake", lake, "--table", table, "--catalog", str(catalog).lower()]
    for key, value in (
        ("dt", dt),
        ("start", start),
        ("end", end),
        ("index", index),
        ("processing-date", processing_date),
    ):
        if value:
            argv += [f"--{key}", value]
    args = _run(lambda: parse_args(argv))
    if catalog:
        _catalog_endpoint(lake)
    summary = _run(lambda: run_job(args))
    table_view = Table(show_header=False, box=None)
    for key in ("dt", "rows", "partitions", "files", "table", "seconds"):
        table_view.add_row(f"[bold]{key}[/]", str(summary[key]))
    err.print(table_view)
    for skipped in summary["skipped"]:
        err.print(f"[yellow]{escape(skipped)}[/]", soft_wrap=True)
    sys.stdout.write(json.dumps(summary) + "\n")


def _catalog_endpoint(lake: str) -> None:
    """Find the Glue catalogue: ``AWS_ENDPOINT_URL``, else the local emulator if it is up.

    A lake in a directory can only be catalogued in the emulator; an ``s3://`` lake with
    neither goes to AWS with the default credentials.
    """
    if os.environ.get("AWS_ENDPOINT_URL"):
        return
    emulator = Emulator()
    if emulator.is_up():
        point_boto3_at(emulator.endpoint)
    elif not lake.startswith("s3://"):
        err.print(
            "[red]error[/] the catalogue needs the local emulator: run `bovespa local up` "
            "(or set AWS_ENDPOINT_URL), or pass --no-catalog",
            soft_wrap=True,
        )
        raise typer.Exit(1)


@app.command("query")
def query_command(
    query: Annotated[str, typer.Argument(help="A saved query's name, or SQL.")],
    param: Annotated[
        list[str] | None, typer.Option("--param", "-p", help="name=value, for a saved query.")
    ] = None,
    output: Annotated[str, typer.Option("--format", help="table, csv or json.")] = "table",
) -> None:
    """Run a saved query (``services/analysis/queries``) or SQL on the local stack's Athena.

    Only one read-only statement runs (SELECT, WITH, SHOW, DESCRIBE, EXPLAIN), and it may
    not touch files (see :mod:`services.analysis.readonly`); anything else is refused
    before it reaches Athena.
    """
    saved = saved_queries()
    values = dict(p.split("=", 1) for p in param or [] if "=" in p)
    sql = _run(lambda: bind(saved[query], values)) if query in saved else query
    if query not in saved and " " not in query.strip():
        err.print(f"[red]error[/] no saved query {query!r}; saved: {', '.join(saved)}")
        raise typer.Exit(2)
    _run(lambda: check_read_only(sql))
    _use_local_aws()
    result = _run(lambda: run_athena(sql, LOCAL.workgroup))
    if output == "json":
        sys.stdout.write(json.dumps(result.as_dicts(), ensure_ascii=False) + "\n")
    elif output == "csv":
        writer = csv.writer(sys.stdout)
        writer.writerow(result.columns)
        writer.writerows(result.rows)
    else:
        table = Table(*result.columns)
        for row in result.rows:
            table.add_row(*(escape("" if v is None else v) for v in row))
        Console().print(table)


@app.command()
def report(
    dt: Annotated[str, typer.Option("--dt", help="The portfolio day, YYYY-MM-DD.")],
    index: IndexOption = settings.DEFAULT_INDEX,
    out: Annotated[Path, typer.Option(help="Where to write the HTML and PNGs.")] = (
        settings.STATE_DIR / "reports"
    ),
) -> None:
    """Write an HTML report with charts about one portfolio day (from the local stack)."""
    index = _index(index)
    _use_local_aws()
    print(_write_report(dt, index, out))


def _write_report(dt: str, index: str, out: Path) -> Path:
    from services.analysis.report import AHEAD_TABLES, catalogued, previous_dt
    from services.analysis.report import build as build_report  # matplotlib: load on use

    glue = boto3.client("glue")
    before = previous_dt(glue, LOCAL.database, LOCAL.table, index, dt)
    ahead = catalogued(glue, LOCAL.database, AHEAD_TABLES.values())
    written = _run(
        lambda: build_report(
            lambda sql: run_athena(sql, LOCAL.workgroup), dt, index, before, out, ahead
        )
    )
    assert written.html_path is not None
    err.print(f"[bold]Report[/] {written.html_path}")
    return written.html_path


def _use_local_aws() -> None:
    """Talk to ``AWS_ENDPOINT_URL``, else to the local emulator, which must be up."""
    if os.environ.get("AWS_ENDPOINT_URL"):
        return
    emulator = Emulator()
    if not emulator.is_up():
        err.print("[red]error[/] the local stack is not up: run `make demo` (or `make run`) first")
        raise typer.Exit(1)
    point_boto3_at(emulator.endpoint)


@app.command("cost")
def cost_command(
    stack: Annotated[str, typer.Option(help="The stack: reads Pulumi.<stack>.yaml.")] = "dev",
    indices: Annotated[
        str | None, typer.Option(help="B3 codes, comma-separated, or all (default: the stack's).")
    ] = None,
    flex: Annotated[bool, typer.Option(help="Price the Glue job as a Flex run.")] = False,
) -> None:
    """The modelled AWS cost of one daily run and of a month, in both designs (services/cost.py)."""
    from services import cost

    settings_ = _run(lambda: cost.read_stack(stack))
    codes = _indices(indices) if indices else settings_.indices
    estimates = [cost.estimate(settings_, design, codes, flex=flex) for design in cost.DESIGNS]
    err.print(cost.render(estimates, settings_))
    sys.stdout.write(cost.as_json(estimates) + "\n")


@local_app.command("up")
def local_up() -> None:
    """Start the emulator in the background (data under .state/ministack)."""
    emulator = Emulator()
    if emulator.is_up():
        err.print(f"already up at {emulator.endpoint}")
        return
    _run(emulator.start)
    err.print(f"[green]up[/] at {emulator.endpoint}; log: {emulator.log_file}")
    print(json.dumps({"endpoint": emulator.endpoint, "state_dir": str(emulator.state_dir)}))


@local_app.command("down")
def local_down() -> None:
    """Stop the emulator started by ``bovespa local up``."""
    stopped = Emulator().stop()
    err.print("stopped" if stopped else "nothing was running")


@local_app.command("status")
def local_status() -> None:
    """Say whether the emulator answers."""
    emulator = Emulator()
    up = emulator.is_up()
    err.print(f"{emulator.endpoint}: {'[green]up[/]' if up else '[red]down[/]'}")
    raise typer.Exit(0 if up else 1)


def _run(action: Callable[[], T]) -> T:
    """Run ``action``; on failure print one line to stderr and exit with the error's code.

    The codes are :data:`services.errors.EXIT_CODES` (also in docs/cli.md); ``--verbose``
    adds the traceback.
    """
    try:
        return action()
    except Exception as error:
        if logging.getLogger().isEnabledFor(logging.DEBUG):
            err.print_exception()
        err.print(f"[red]error[/] {escape(one_line(error))}", soft_wrap=True)
        raise typer.Exit(exit_code(error)) from None


def _index(typed: str) -> str:
    """B3's code for an ``--index`` value (``IBRX`` -> ``IBXX``, said on stderr); exit 2 if none."""
    code, note = _run(lambda: canonical(typed))
    if note:
        err.print(f"[yellow]note[/] {escape(note)}", soft_wrap=True)
    return code


def _indices(typed: str) -> tuple[str, ...]:
    """B3's codes for a comma-separated ``--index`` value, or ``all``; exit 2 if one is unknown."""
    selection = _run(lambda: resolve_indices(typed))
    for note in selection.notes:
        err.print(f"[yellow]note[/] {escape(note)}", soft_wrap=True)
    return selection.codes


def _print_summary(summary: dict[str, Any]) -> None:
    table = Table(show_header=False, box=None)
    for key in ("dataset", "index", "dt", "session", "cycle", "target_cycle", "status",
                "reason", "rows", "uri", "sha256"):  # fmt: skip
        if key in summary:
            table.add_row(f"[bold]{key}[/]", escape(str(summary[key])))
    err.print(table)
    sys.stdout.write(json.dumps(summary) + "\n")


if __name__ == "__main__":
    app()

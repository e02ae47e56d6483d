"""``bovespa``: the command-line entry point for everything local. Output:
:mod:`services.tool.console`; a failure is one line on stderr and its exit code
(:mod:`services.tool.exits`)."""

from __future__ import annotations

import contextlib
import json
import logging
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime
from functools import partial
from pathlib import Path
from typing import Annotated, Any

import boto3
import typer
from rich.live import Live
from rich.logging import RichHandler
from rich.markup import escape

from services.pipeline import settings
from services.pipeline.b3 import calendar
from services.pipeline.b3.calendar import SAO_PAULO
from services.pipeline.b3.errors import B3Error
from services.pipeline.errors import EXIT_CODES, BadArgument, one_line
from services.pipeline.lake.layout import NotARawKey, parse_raw_key
from services.pipeline.lake.storage import Lake, S3Lake, open_lake
from services.pipeline.scraper.scrape import scrape as scrape_portfolio
from services.pipeline.validate.contract import validate
from services.pipeline.validate.errors import ContractViolation
from services.pipeline.validate.ingest import (
    checked_file,
    land_download,
    read_checked_download,
    read_file,
)
from services.tool.analysis.athena import catalogue
from services.tool.analysis.athena import run as run_athena
from services.tool.analysis.queries import bind, saved_queries
from services.tool.analysis.readonly import check_read_only
from services.tool.arguments import (
    BaseUrlOption,
    IndexOption,
    IndicesOption,
    LakeOption,
    ScrapedDataset,
    day,
    day_option,
    flags,
    index_code,
    index_codes,
    option,
)
from services.tool.console import (
    err,
    print_etl,
    print_result,
    print_rows,
    print_summary,
    steps_table,
    write_json,
)
from services.tool.exits import fail, or_exit
from services.tool.local.deploy import LOCAL, Deployed, deploy, deployed, served_at
from services.tool.local.emulator import Emulator, use_endpoint
from services.tool.local.replay import (
    DEMO_AHEAD_INDEX,
    DEMO_INDICES,
    ReplayServer,
    demo_ahead,
    demo_cases,
)
from services.tool.local.run import Progress, executions, follow, start, summary, wait_for_execution
from services.tool.local.run import finish as finish_execution

app = typer.Typer(
    help="B3 index portfolios to a partitioned, catalogued data lake.", no_args_is_help=True,
    add_completion=False, rich_markup_mode=None,
)  # fmt: skip
local_app = typer.Typer(
    help=f"The local AWS emulator (MiniStack on {settings.EMULATOR_HOST}:{settings.EMULATOR_PORT})."
)
app.add_typer(local_app, name="local")


Begin = Callable[[Deployed], str]  # starts the execution on the deployed stack: its ARN


def run_pipeline(
    begin: Begin,
    b3_base_url: str | None = None,
    *,
    redeploy: bool = True,
    as_of: datetime | None = None,
) -> dict[str, Any]:
    """Emulator up, deploy (unless ``redeploy`` is false: the stack as deployed, its B3
    address kept; the functions' clock at ``as_of`` if given), start (``begin``), follow
    live, summarise; exit 1 on failure."""
    clock = time.monotonic()
    endpoint = or_exit(lambda: use_endpoint(start=True))
    timings = {"emulator_start_s": round(time.monotonic() - clock, 2)}
    stack = deployed(LOCAL)
    if redeploy:
        clock = time.monotonic()
        stack = or_exit(lambda: deploy(LOCAL, b3_base_url=b3_base_url, now=as_of))
        timings["deploy_s"] = round(time.monotonic() - clock, 2)
        err.print(f"[bold]Deployed[/] to {endpoint} in {timings['deploy_s']} s")
    execution = or_exit(lambda: begin(stack))
    with Live(steps_table(Progress()), console=err, auto_refresh=False) as live:
        outcome = or_exit(
            lambda: follow(execution, lambda p: live.update(steps_table(p), refresh=True))
        )
    err.print()
    result = {**summary(stack, outcome), **timings}
    print_result(result, endpoint)
    write_json(result)
    if outcome.status != "SUCCEEDED":
        line = f"{result.get('error')}: {result.get('cause')} (in {result.get('failed_state')})"
        offline = result.get("error") == "B3Unavailable"
        fail(escape(line) + ("\nhint: make demo replays B3's recorded answers offline" * offline))
    return result


def dropped(key: str, data: bytes) -> Begin:
    def drop(stack: Deployed) -> str:
        known = executions(stack)
        boto3.client("s3").put_object(Bucket=stack.bucket, Key=key, Body=data)
        err.print(f"[bold]Dropped[/] s3://{stack.bucket}/{key}; waiting for the trigger")
        return wait_for_execution(stack, f"s3://{stack.bucket}/{key}", known)

    return drop


@app.callback()
def main(
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Tracebacks.")] = False,
) -> None:
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
    page_size: Annotated[int, option("ROWS", "Rows per B3 page.", min=1)] = settings.B3_PAGE_SIZE,
    dataset: Annotated[
        ScrapedDataset,
        typer.Option(
            help="day: the day's portfolio; theoretical: the four-month theoretical portfolio; "
            "preview: the preview of the next one, if B3 has a current one."
        ),
    ] = ScrapedDataset.day,
    as_of: Annotated[
        datetime | None,
        typer.Option(
            formats=["%Y-%m-%dT%H:%M"],
            metavar="YYYY-MM-DDTHH:MM",
            help="The São Paulo moment a replay pretends to run at (default: now): B3's "
            "answer must be of the session it served then.",
        ),
    ] = None,
) -> None:
    """Fetch a portfolio of INDEX from B3, check it and write its raw partition."""
    index = index_code(index)
    now = as_of and as_of.replace(tzinfo=SAO_PAULO)
    fetch = partial(scrape_portfolio, index, lake_uri=lake, base_url=base_url, now=now)
    print_summary(or_exit(lambda: fetch(dataset=dataset.value, page_size=page_size)))


@app.command()
def run(index: IndicesOption = settings.DEFAULT_INDEX) -> None:
    """The main job: today's portfolios from the live B3 site through the whole pipeline.

    Starts the local emulator if needed, deploys, starts the schedule-path execution (every
    index in one execution, the deployment's datasets ahead with them) and follows it.
    """
    indices = index_codes(index)
    run_pipeline(lambda stack: start(stack, LOCAL.schedule_input(indices)))


@app.command()
def demo() -> None:
    """The main job, offline: three indices from B3's recordings, each in an execution whose
    clock is the morning of its recorded session; then IBOV on 2022-12-08 with its portfolio
    ahead."""
    out = settings.STATE_DIR / "reports"
    # The reports are written one at a time, beside the executions (pyplot is not thread-safe).
    with ReplayServer(demo_cases()) as server, ThreadPoolExecutor(1) as reports:

        def replay(index: str, ahead: Sequence[str] | None = None) -> dict[str, Any]:
            begin = partial(start, execution_input=LOCAL.schedule_input(index, ahead=ahead))
            as_of = served_at(server.cases[index, settings.B3_SEGMENT])
            return run_pipeline(begin, server.base_url, as_of=as_of)

        err.print(f"[bold]Replaying B3's recorded answers at[/] {server.base_url}")
        days = [replay(index, ()) for index in DEMO_INDICES]
        written = [reports.submit(_write_report, *_first_day(days[0]), out)]
        server.serve(*demo_ahead())
        err.print(
            f"[bold]The portfolio ahead:[/] {DEMO_AHEAD_INDEX} on 2022-12-08, its theoretical "
            "portfolio (recorded) and a synthetic preview made from it"
        )
        ahead = replay(DEMO_AHEAD_INDEX)  # the deployment's datasets ahead
        written.append(reports.submit(_write_report, *_first_day(ahead), out))
        for report in written:
            report.result()


@app.command()
def finish(
    execution: Annotated[str, typer.Argument(metavar="ARN", help="A FAILED execution.")],
) -> None:
    """Finish what a failed execution left: redrive it, or (no redrive locally) start one.

    On AWS a redrive reruns only the failed indices, then refines them alone; the local
    emulator has no RedriveExecution, so a new execution for the failed indices follows.
    """
    run_pipeline(lambda stack: finish_execution(stack, execution), redeploy=False)


@app.command()
def ingest(
    file: Annotated[
        Path,
        typer.Argument(
            exists=True, dir_okay=False, metavar="FILE", help="Raw Parquet, or B3's CSV download."
        ),
    ],
    index: Annotated[str | None, option("CODE", "Index code (default: from the file).")] = None,
    dt: Annotated[str | None, day("Trading day (default: from the file).", callback=day_option)] = (
        None
    ),
) -> None:
    """Drop a raw Parquet file (or B3's CSV download of a day) into the local bucket's inbox
    and follow the S3-event path it starts.

    The file is checked against the data contract first: a file the contract refuses is
    never written, so it cannot replace the day's good raw object.
    """
    key, data = or_exit(lambda: checked_file(file, index, dt))  # refused before any AWS call
    run_pipeline(dropped(key, data))


@app.command()
def backfill(
    folder: Annotated[
        Path,
        typer.Argument(exists=True, file_okay=False, metavar="FOLDER", help="B3's CSV downloads."),
    ],
) -> None:
    """Land each of B3's CSV downloads in FOLDER (*.csv) -- a day's, or a four-month
    portfolio's -- as its raw object, then refine them all in one execution (one Glue run).

    A file the contract refuses, or a second file of a raw object, is listed with its reason
    and written nowhere; the others go on (exit 12 if any was refused). A raw object that is
    B3's API answer is kept (docs/raw-layer.md).
    """
    files = sorted(folder.glob("*.csv"), key=lambda f: f.name)
    if not 0 < len(files) <= settings.MAX_OBJECTS:
        fail(f"{folder} holds {len(files)} *.csv files: 1 to {settings.MAX_OBJECTS} a backfill", 2)
    refused: list[str] = []
    run_pipeline(landed(files, refused))
    if refused:
        fail(f"{len(refused)} of {len(files)} files refused (listed above)", 12)


def landed(files: Sequence[Path], refused: list[str]) -> Begin:
    """A ``begin`` landing each file as its raw object (refusals in ``refused``): one execution."""

    def land(stack: Deployed) -> str:
        lake, keys, now = S3Lake(stack.bucket), dict[str, str](), calendar.now()
        objects = []
        for file in files:
            try:
                data = read_file(file)
                key, _ = read_checked_download(data, file.name, now)
                if key in keys:
                    raise BadArgument(f"{key} is also {keys[key]}'s: one file an object")
                key, version, kept = land_download(lake, data, file.name, now, settings.WRITER_CLI)
            except (B3Error, ContractViolation, BadArgument) as error:
                refused.append(f"refused {file.name}: {one_line(error)}")
                err.print(escape(refused[-1]), soft_wrap=True)
                continue
            keys[key] = file.name
            objects.append({"uri": lake.uri_of(key), "version": version})
            if kept:
                err.print(f"kept {key}: {kept}")
        if not objects:
            raise NoRawData(f"no file of the {len(files)} passed the contract")
        err.print(f"[bold]Landed[/] {len(objects)} files; one execution refines them")
        return start(stack, {"source": "backfill", "objects": objects})

    return land


class NoRawData(Exception):
    """The days asked for have no raw object, or none that the data contract passes."""


def validated_objects(
    lake: Lake, start: date, end: date, indices: Sequence[str] = ()
) -> tuple[list[dict[str, Any]], list[str]]:
    """The job's ``--objects``: the span's raw days the contract passes; a line per refused day."""
    days = []
    for key in lake.list(settings.RAW_PREFIX + "/"):
        with contextlib.suppress(NotARawKey):  # only portfolio.parquet is a day's data
            day = parse_raw_key(key)
            if start <= day.dt <= end and (not indices or day.index in indices):
                days.append(day)
    which = f"{','.join(indices) or 'any index'} on {start}" + (f"..{end}" if end != start else "")
    if not days:
        raise NoRawData(f"no raw partition for {which} under {lake.uri_of(settings.RAW_PREFIX)}")
    objects, refused = [], []
    for day in sorted(days, key=lambda d: (d.dt, d.index)):
        try:
            objects.append(validate(lake.uri_of(day.key), lake=lake))
        except (ContractViolation, B3Error) as error:
            refused.append(f"skipped {day} ({day.dt:%A}): {one_line(error)}")
    if not objects:
        raise NoRawData(f"no raw partition of {which} passed the contract: {'; '.join(refused)}")
    return objects, refused


@app.command()
def etl(
    lake: LakeOption = str(settings.LOCAL_LAKE_DIR),
    dt: Annotated[str | None, day("One trading day.", "--dt")] = None,
    first: Annotated[str | None, day("From this day…", "--start")] = None,
    end: Annotated[str | None, day("…to this day (inclusive).")] = None,
    index: Annotated[
        str | None, option("CODES", "Index codes, comma-separated.", "--index", "-i")
    ] = None,
    table: Annotated[str, option("TABLE", "Table in the Glue catalogue.")] = settings.REFINED_TABLE,
    processing_date: Annotated[str | None, day("Processing date for the date features.")] = None,
    catalog: Annotated[
        bool, typer.Option(help="Register the partitions in the deployed Glue table.")
    ] = True,
) -> None:
    """Run the Glue job locally on the raw days the data contract passes (it says which it
    refuses): raw partitions to refined/ and the catalogue table."""
    from glue.job import day_argument, parse_args
    from glue.job import run as run_job

    if not (dt or (first and end)):
        fail("pass --dt, or --start and --end", EXIT_CODES["BadArgument"].code)
    start = or_exit(lambda: day_argument(first or dt, "--start:" if first else "--dt:"))
    stop = or_exit(lambda: day_argument(end or dt, "--end:" if end else "--dt:"))
    # A lake in a directory is catalogued only in an emulator; an s3:// one may go to AWS.
    if catalog and use_endpoint() is None and not lake.startswith("s3://"):
        fail(
            "the catalogue needs the local emulator: run `bovespa local up` "
            "(or set AWS_ENDPOINT_URL), or pass --no-catalog"
        )
    codes = index_codes(index) if index else ()
    objects, refused = or_exit(lambda: validated_objects(open_lake(lake), start, stop, codes))
    argv = ["--lake", lake, "--table", table, "--catalog", str(catalog).lower()]
    argv += flags(objects=json.dumps(objects), processing_date=processing_date)
    args = or_exit(lambda: parse_args(argv))
    print_etl({**or_exit(lambda: run_job(args)), "skipped": refused})


FormatOption = Annotated[str, typer.Option("--format", metavar="table|csv|json")]
SAVED = saved_queries()


@app.command(
    "query",
    help="Run a saved query or one read-only SQL statement (no file read or written) on the "
    "local stack's Athena.\n\n\b\nSaved (-p name=value for each parameter):\n"
    + "\n".join(f"  {q.name} ({', '.join(dict.fromkeys(q.parameters))})" for q in SAVED.values())
    + "\n\nSHOW TABLES and DESCRIBE answer on AWS only: `bovespa tables` lists the columns.",
)
def query_command(
    query: Annotated[str, typer.Argument(metavar="NAME|SQL", help="A saved query's name, or SQL.")],
    param: Annotated[
        list[str] | None, option("NAME=VALUE", "For a saved query.", "--param", "-p")
    ] = None,
    output: FormatOption = "table",
    timeout: Annotated[float, option("SECONDS", "Before the query is stopped.")] = 20,
) -> None:
    values = dict(p.split("=", 1) for p in param or [] if "=" in p)
    sql = or_exit(lambda: bind(SAVED[query], values)) if query in SAVED else query
    if query not in SAVED and not any(c.isspace() for c in query.strip()):
        fail(f"no saved query {query!r}; saved: {', '.join(SAVED)}", EXIT_CODES["BadArgument"].code)
    or_exit(lambda: check_read_only(sql))
    _use_local_aws()
    print_rows(or_exit(lambda: run_athena(sql, LOCAL.workgroup, timeout=timeout)), output)


@app.command()
def tables(output: FormatOption = "table") -> None:
    """Every table of the local stack's catalogue: its columns, then its partition keys."""
    _use_local_aws()
    print_rows(or_exit(lambda: catalogue(LOCAL.database)), output)


@app.command()
def report(
    dt: Annotated[str, day("The day.", "--dt", callback=day_option)],
    index: IndexOption = settings.DEFAULT_INDEX,
    out: Annotated[Path, option("DIR", "Where to write the HTML and PNGs.")] = (
        settings.STATE_DIR / "reports"
    ),
) -> None:
    """Write an HTML report with charts about one portfolio day (from the local stack)."""
    index = index_code(index)
    _use_local_aws()
    print(_write_report(dt, index, out))


def _write_report(dt: str, index: str, out: Path) -> Path:
    from services.tool.analysis.report import SECTION_TABLES, catalogued, days_before
    from services.tool.analysis.report import build as build_report  # matplotlib: load on use

    glue = boto3.client("glue")
    before = days_before(glue, LOCAL.database, LOCAL.table, index, dt)
    ahead = catalogued(glue, LOCAL.database, SECTION_TABLES)
    athena = partial(run_athena, workgroup=LOCAL.workgroup)
    written = or_exit(lambda: build_report(athena, dt, index, before, out, ahead))
    assert written.html_path is not None
    err.print(f"[bold]Report[/] {written.html_path}")
    return written.html_path


def _first_day(result: dict[str, Any]) -> tuple[str, str]:
    return result["indices"][0]["dt"], result["indices"][0]["index"]


def _use_local_aws() -> None:
    if use_endpoint() is None:
        fail("the local stack is not up: run `make demo` (or `make run`) first")


@app.command("cost")
def cost_command(
    stack: Annotated[str, option("STACK", "An example stack in infra/stacks/.")] = "dev",
    indices: Annotated[
        str | None, option("CODES", "B3 codes, comma-separated, or all (default: the stack's).")
    ] = None,
    flex: Annotated[bool, typer.Option(help="Price the Glue job as a Flex run.")] = False,
) -> None:
    """The modelled AWS cost of a day and of a month, in month 1 and month 12
    (services/deploy/cost.py)."""
    from services.deploy import cost

    settings_ = or_exit(lambda: cost.read_stack(stack))
    codes = index_codes(indices) if indices else settings_.indices
    estimates = cost.estimates(settings_, codes, flex=flex)
    err.print(cost.render(estimates, settings_))
    print(cost.as_json(estimates))


@local_app.command("up")
def local_up() -> None:
    """Start the emulator in the background (data under .state/ministack)."""
    emulator = Emulator()
    if emulator.is_up():
        err.print(f"already up at {emulator.endpoint}")
        return
    or_exit(emulator.start)
    err.print(f"[green]up[/] at {emulator.endpoint}; log: {emulator.log_file}")
    print(json.dumps({"endpoint": emulator.endpoint, "state_dir": str(emulator.state_dir)}))


@local_app.command("down")
def local_down() -> None:
    """Stop the emulator started by `bovespa local up` (found even with .state deleted)."""
    err.print("stopped" if Emulator().stop() else "nothing was running")


@local_app.command("status")
def local_status() -> None:
    """Say whether the emulator answers, and if not what holds its port."""
    emulator = Emulator()
    status = emulator.status()
    err.print(f"{emulator.endpoint}: {escape(status)}")
    raise typer.Exit(0 if status == "up" else 1)


if __name__ == "__main__":
    app()

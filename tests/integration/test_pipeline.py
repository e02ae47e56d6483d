"""The whole pipeline on the emulator: real S3 events, real executions, checked on the data.

A SUCCEEDED status proves nothing by itself here: every test reads what landed in S3,
the catalogue or Athena and compares it with the recorded B3 answer.
"""

from __future__ import annotations

import hashlib
import io
import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from services.pipeline import settings
from services.pipeline.lake.layout import RawDay, raw_key
from services.pipeline.lake.raw import to_parquet_bytes, to_table
from services.pipeline.lake.storage import S3Lake
from services.tool.local.deploy import LOCAL, Deployed, deploy
from services.tool.local.live import dropped
from services.tool.local.replay import Fault, ReplayServer
from services.tool.local.run import (
    Outcome,
    execution_names,
    fold,
    follow,
    refine_executions,
    start,
)
from tests.aws_clients import athena_rows, aws
from tests.lakes import on_day, quantity_off, recorded_portfolio, without
from tests.recordings import SEGMENT2_2025_07_10, load, pt_br

pytestmark = pytest.mark.spark

JULY_10 = "2025-07-10"
#: The steps of an execution that refines what it validated, failing nothing.
REFINED_STEPS = ["Scrape and validate", "Glue job", "Crawler", "Athena smoke query", "Check"]
#: The steps of one whose every item failed twice: nothing refined.
FAILED_STEPS = ["Scrape and validate", "Wait before retry", "Retry failed"]


@pytest.fixture(scope="module")
def replay_server() -> Iterator[ReplayServer]:
    with ReplayServer() as server:
        yield server


@pytest.fixture(scope="module")
def stack(aws_endpoint: str, replay_server: ReplayServer) -> Deployed:
    return deploy(LOCAL, b3_base_url=replay_server.base_url)


def refined_rows(stack: Deployed, dt: str) -> dict[str, dict[str, Any]]:
    """Every refined row of ``dt`` (IBOV) read back from S3, by ticker."""
    lake = S3Lake(stack.bucket)
    rows: dict[str, dict[str, Any]] = {}
    for key in lake.list(f"refined/dt={dt}/index_code=IBOV/"):
        ticker = key.split("ticker=")[1].split("/")[0]
        (row,) = pq.read_table(io.BytesIO(lake.read_bytes(key))).to_pylist()
        assert ticker not in rows, f"two files for {ticker}"
        rows[ticker] = row
    return rows


def drop(stack: Deployed, table: pa.Table, day: date) -> str:
    """Drop a raw file under inbox/ as a person would; the execution its event starts."""
    return dropped(RawDay("IBOV", day), to_parquet_bytes(table))(stack)


def float_weights(table: pa.Table) -> pa.Table:
    """The same rows with the weight as a float: a file the contract refuses."""
    part = table.schema.get_field_index("part")
    return table.set_column(part, "part", table["part"].cast(pa.float64()))


def history(execution_arn: str) -> list[dict[str, Any]]:
    sfn: Any = aws("stepfunctions")
    events: list[dict[str, Any]] = sfn.get_execution_history(
        executionArn=execution_arn, maxResults=1000
    )["events"]
    return events


def snapshot(stack: Deployed, prefix: str = "refined/") -> dict[str, str]:
    s3: Any = aws("s3")
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=stack.bucket, Prefix=prefix)
    return {o["Key"]: o["ETag"] for page in pages for o in page.get("Contents", [])}


def glue_runs(stack: Deployed) -> dict[str, dict[str, Any]]:
    """Every run of the stack's Glue job, by id (the emulator's list)."""
    glue: Any = aws("glue")
    pages = glue.get_paginator("get_job_runs").paginate(JobName=stack.deployment.glue_job)
    return {run["Id"]: run for page in pages for run in page["JobRuns"]}


def validated(outcome: Outcome) -> list[dict[str, Any]]:
    """The pins the execution's ScrapeIndices validated (what the Glue run is given)."""
    found: list[dict[str, Any]] = outcome.progress.outputs["ScrapeIndices"]["validated"]
    return found


def smoke_counts(outcome: Outcome) -> dict[str, int]:
    """What the refine execution's smoke query counted: ``index/dt`` -> refined rows."""
    counts: dict[str, int] = outcome.progress.outputs["Refine"]["refined"]["counts"]
    return counts


def step(outcome: Outcome, name: str) -> Any:
    return next(s for s in outcome.progress.steps if s.name == name)


@dataclass(frozen=True)
class Started:
    """What one run started, from the emulator's lists: pipeline executions (names),
    refine executions and Glue job runs."""

    executions: set[str]
    refines: list[str]
    runs: list[dict[str, Any]]


def run_counted(stack: Deployed, begin: Callable[[], str]) -> tuple[Outcome, Started]:
    """Follow the execution ``begin()`` starts; what it and anything else started meanwhile."""
    names, runs = execution_names(stack), glue_runs(stack)
    outcome = follow(begin())
    time.sleep(2)  # time for an execution a raw/ write might start, were anything to start one
    sfn: Any = aws("stepfunctions")
    started = Started(
        execution_names(stack) - names,
        refine_executions(sfn, outcome.execution_arn),
        [run for key, run in glue_runs(stack).items() if key not in runs],
    )
    return outcome, started


def objects_of(run: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(index, dt, raw object) of each pin a Glue job run was given."""
    pins = json.loads(run["Arguments"]["--objects"])
    return [(p["index"], p["dt"], p["uri"]) for p in pins]


# --- the schedule path -------------------------------------------------------------------


@pytest.fixture(scope="module")
def first_run(stack: Deployed) -> tuple[Outcome, Started, dict[str, dict[str, Any]]]:
    outcome, started = run_counted(
        stack, lambda: start(stack, LOCAL.schedule_input("IBOV", ahead=()))
    )
    return outcome, started, refined_rows(stack, JULY_10)


def test_schedule_path_end_to_end(
    stack: Deployed, first_run: tuple[Outcome, Started, dict[str, dict[str, Any]]]
) -> None:
    outcome, _, rows = first_run
    assert outcome.status == "SUCCEEDED", outcome.progress
    assert [s.name for s in outcome.progress.steps] == REFINED_STEPS
    assert [(o["index"], o["rows"]) for o in validated(outcome)] == [("IBOV", 84)]
    assert smoke_counts(outcome) == {f"IBOV/{JULY_10}": 84}
    recorded = {r["cod"]: r for r in load(SEGMENT2_2025_07_10)["results"]}
    assert rows.keys() == recorded.keys()
    for ticker, row in rows.items():
        assert row["weight_pct"] == pt_br(recorded[ticker]["part"])
        assert row["theoretical_qty"] == pt_br(recorded[ticker]["theoricalQty"])
        assert row["index_theoretical_qty"] == 91_922_324_640
    assert rows["PETR4"]["company_weight_pct"] == Decimal("11.404")
    # the raw object is the scraper's, marked as such
    s3: Any = aws("s3")
    head = s3.head_object(Bucket=stack.bucket, Key=f"raw/index=IBOV/dt={JULY_10}/portfolio.parquet")
    assert head["Metadata"] == {settings.WRITER_METADATA_KEY: settings.WRITER_SCRAPER}
    # and Athena reads the catalogued table: counts and sums reconcile with B3
    ((count, weight, qty),) = athena_rows(
        stack.deployment.workgroup,
        f"SELECT count(*), sum(weight_pct), sum(theoretical_qty) FROM "
        f"\"default\".\"{LOCAL.table}\" WHERE dt = '{JULY_10}' AND index_code = 'IBOV'",
    )
    assert (int(count), Decimal(weight), int(qty)) == (84, Decimal("100.000"), 91_922_324_640)


def test_a_scheduled_run_starts_one_execution_and_one_glue_run(
    stack: Deployed, first_run: tuple[Outcome, Started, dict[str, dict[str, Any]]]
) -> None:
    """The scraper's own raw/ write starts nothing: the only execution is the one started."""
    outcome, started, _ = first_run
    assert started.executions == {outcome.execution_arn.rsplit(":", 1)[1]}
    assert len(started.refines) == 1
    (run,) = started.runs
    assert run["Id"] == outcome.progress.outputs["Refine"]["refined"]["glue_run"]
    assert objects_of(run) == [
        ("IBOV", JULY_10, f"s3://{stack.bucket}/{raw_key('IBOV', date(2025, 7, 10))}")
    ]


@pytest.fixture(scope="module")
def flaky_rerun(
    stack: Deployed,
    replay_server: ReplayServer,
    first_run: tuple[Outcome, Started, dict[str, dict[str, Any]]],
) -> tuple[Outcome, dict[str, dict[str, Any]]]:
    """The same day again, with B3 answering 503 twice before it recovers."""
    replay_server.inject(Fault(status=503, body=b"busy"), Fault(status=503, body=b"busy"))
    outcome = follow(start(stack, LOCAL.schedule_input("IBOV", ahead=())))
    return outcome, refined_rows(stack, JULY_10)


def test_b3_failing_twice_is_retried_and_the_retries_show_in_the_history(
    flaky_rerun: tuple[Outcome, dict[str, dict[str, Any]]],
) -> None:
    outcome, rows = flaky_rerun
    assert outcome.status == "SUCCEEDED", outcome.progress
    assert step(outcome, "Scrape and validate").retries == 2
    assert outcome.progress.outputs["ScrapeIndices"]["failed"] == []
    assert len(rows) == 84


def test_the_same_day_twice_leaves_identical_refined_data(
    first_run: tuple[Outcome, Started, dict[str, dict[str, Any]]],
    flaky_rerun: tuple[Outcome, dict[str, dict[str, Any]]],
) -> None:
    (_, _, before), (_, after) = first_run, flaky_rerun
    assert after.keys() == before.keys()
    lineage = "source_fetched_at"  # the second scrape fetched B3 again, later
    for ticker, row in after.items():
        assert {k: v for k, v in row.items() if k != lineage} == {
            k: v for k, v in before[ticker].items() if k != lineage
        }


# --- the inbox path ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def inbox_run(stack: Deployed, replay_server: ReplayServer) -> tuple[Outcome, Started, bytes]:
    """A raw file for 2025-07-11 dropped under inbox/ by hand."""
    day = date(2025, 7, 11)
    data = to_parquet_bytes(to_table(on_day(recorded_portfolio(SEGMENT2_2025_07_10), day)))
    asked = len(replay_server.requests)
    outcome, started = run_counted(stack, lambda: dropped(RawDay("IBOV", day), data)(stack))
    assert len(replay_server.requests) == asked  # validated, never scraped
    return outcome, started, data


def test_inbox_path_end_to_end(stack: Deployed, inbox_run: tuple[Outcome, Started, bytes]) -> None:
    outcome, started, data = inbox_run
    assert outcome.status == "SUCCEEDED", outcome.progress
    assert [s.name for s in outcome.progress.steps] == REFINED_STEPS
    # the same Map, with the dropped object as its one item: validated and promoted to
    # raw/ (the same bytes, version pinned), and the Glue run refines the promoted copy
    key = raw_key("IBOV", date(2025, 7, 11))
    (pin,) = validated(outcome)
    assert pin["uri"] == f"s3://{stack.bucket}/{key}"
    promoted = S3Lake(stack.bucket).read_object(key)
    assert promoted.data == data
    assert (pin["version"], pin["sha256"]) == (promoted.version, hashlib.sha256(data).hexdigest())
    assert outcome.progress.outputs["ScrapeIndices"]["failed"] == []
    (run,) = started.runs
    assert objects_of(run) == [("IBOV", "2025-07-11", pin["uri"])]
    # the drop started one execution, and the promotion to raw/ none
    assert started.executions == {outcome.execution_arn.rsplit(":", 1)[1]}
    rows = refined_rows(stack, "2025-07-11")
    assert len(rows) == 84
    assert {r["trading_weekday"] for r in rows.values()} == {5}
    assert smoke_counts(outcome) == {"IBOV/2025-07-11": 84}


def test_an_object_replaced_between_validate_and_the_job_is_not_what_is_refined(
    stack: Deployed,
) -> None:
    """Finding 1: a valid day dropped, and once its execution has pinned the promoted copy,
    other bytes written straight to the raw key (which starts nothing): the job refines
    the pinned version."""
    day = date(2025, 7, 17)
    portfolio = recorded_portfolio(SEGMENT2_2025_07_10)
    good = to_parquet_bytes(to_table(on_day(portfolio, day)))
    other = to_parquet_bytes(float_weights(to_table(on_day(without(portfolio, "PETR3"), day))))
    names = execution_names(stack)
    first = dropped(RawDay("IBOV", day), good)(stack)
    for _ in range(1200):  # until Validate has pinned the promoted file; the job has not read it
        if "ScrapeIndices" in fold(history(first)).outputs:
            break
        time.sleep(0.05)
    aws("s3").put_object(Bucket=stack.bucket, Key=raw_key("IBOV", day), Body=other)
    refined = follow(first)
    assert refined.status == "SUCCEEDED", refined.progress
    (pin,) = validated(refined)
    assert pin["sha256"] == hashlib.sha256(good).hexdigest()
    rows = refined_rows(stack, day.isoformat())
    assert len(rows) == 84
    assert "PETR3" in rows
    assert sum(row["weight_pct"] for row in rows.values()) == Decimal("100.000")
    # raw/ holds the other bytes now, and writing them started no execution
    assert S3Lake(stack.bucket).read_bytes(raw_key("IBOV", day)) == other
    assert execution_names(stack) - names == {first.rsplit(":", 1)[1]}


def test_reverting_a_day_to_an_earlier_file_refines_it_again(stack: Deployed) -> None:
    """Finding 2: file A, then B, then A again (the same bytes): refined holds A."""
    day = date(2025, 7, 18)
    portfolio = recorded_portfolio(SEGMENT2_2025_07_10)
    a, b = to_table(on_day(portfolio, day)), to_table(on_day(without(portfolio, "PETR3"), day))
    outcomes = [follow(drop(stack, table, day)) for table in (a, b, a)]
    assert [o.status for o in outcomes] == ["SUCCEEDED"] * 3
    assert len({o.execution_arn for o in outcomes}) == 3
    assert [smoke_counts(o) for o in outcomes] == [{f"IBOV/{day}": n} for n in (84, 83, 84)]
    rows = refined_rows(stack, day.isoformat())
    assert len(rows) == 84
    assert "PETR3" in rows
    assert S3Lake(stack.bucket).read_bytes(raw_key("IBOV", day)) == to_parquet_bytes(a)


# --- failures ----------------------------------------------------------------------------


def test_totals_that_do_not_reconcile_fail_in_validate_and_leave_the_lake_untouched(
    stack: Deployed,
) -> None:
    day = date(2025, 7, 14)
    table = quantity_off(to_table(on_day(recorded_portfolio(SEGMENT2_2025_07_10), day)))
    before = snapshot(stack, "raw/"), snapshot(stack, "refined/")
    outcome, started = run_counted(stack, lambda: drop(stack, table, day))
    # the object's iteration records the failure, it is tried once more, and the execution
    # ends FAILED in that retry, naming the check's own error
    assert outcome.status == "FAILED"
    assert (outcome.progress.failed_state, outcome.progress.error) == (
        "RetryFailed",
        "QuantityTotalMismatch",
    )
    assert "off by 1000" in str(outcome.progress.cause)
    assert [s.name for s in outcome.progress.steps] == FAILED_STEPS
    (failure,) = outcome.progress.inputs["RetryFailed"]["failed"]
    assert (failure["target"], failure["error"]) == (
        f"s3://{stack.bucket}/inbox/index=IBOV/dt={day}/portfolio.parquet",
        "QuantityTotalMismatch",
    )
    # nothing promoted, nothing refined, no Glue run
    assert (snapshot(stack, "raw/"), snapshot(stack, "refined/")) == before
    assert (started.refines, started.runs) == ([], [])


def test_a_glue_job_failure_fails_the_refine_with_the_jobs_message(
    stack: Deployed, replay_server: ReplayServer
) -> None:
    glue: Any = aws("glue")
    job = glue.get_job(JobName=LOCAL.glue_job)["Job"]
    arguments = {**job["DefaultArguments"], "--lake": "s3://bovespa-no-such-bucket"}
    glue.update_job(
        JobName=LOCAL.glue_job,
        JobUpdate={
            "Role": job["Role"],
            "Command": job["Command"],
            "DefaultArguments": arguments,
            "Timeout": 600,
        },
    )
    day = date(2025, 7, 15)
    try:
        table = to_table(on_day(recorded_portfolio(SEGMENT2_2025_07_10), day))
        outcome, started = run_counted(stack, lambda: drop(stack, table, day))
    finally:
        deploy(LOCAL, b3_base_url=replay_server.base_url)
    # .sync fails the Task with States.TaskFailed and the run as its cause; the pipeline's
    # Refine (no Catch: a redrive reruns it) fails with the refine execution
    assert outcome.status == "FAILED"
    assert outcome.progress.error == "States.TaskFailed"
    assert "NoSuchBucket" in str(outcome.progress.cause)
    assert step(outcome, "Glue job").status == "failed"
    sfn: Any = aws("stepfunctions")
    (refine,) = started.refines
    failed = sfn.describe_execution(executionArn=refine)
    assert (failed["status"], failed["error"]) == ("FAILED", "States.TaskFailed")
    (run,) = started.runs
    assert run["JobRunState"] == "FAILED"
    assert run["Id"] in failed["cause"]
    assert refined_rows(stack, day.isoformat()) == {}

"""The whole pipeline on the emulator: real S3 events, real executions, checked on the data.

A SUCCEEDED status proves nothing by itself here: every test reads what landed in S3,
the catalogue or Athena and compares it with the recorded B3 answer.
"""

from __future__ import annotations

import io
import json
import time
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from services.pipeline import settings
from services.pipeline.lake.layout import raw_key
from services.pipeline.lake.raw import to_parquet_bytes, to_table
from services.pipeline.lake.storage import S3Lake
from services.tool.local.deploy import LOCAL, Deployed, deploy
from services.tool.local.replay import Fault, ReplayServer
from services.tool.local.run import (
    Outcome,
    athena_counts,
    execution_names,
    follow,
    start,
    wait_for_execution,
)
from tests.aws_clients import athena_rows, aws
from tests.lakes import on_day, quantity_off, recorded_portfolio, without
from tests.recordings import SEGMENT2_2025_07_10, load, pt_br

pytestmark = pytest.mark.spark

JULY_10 = "2025-07-10"


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


def drop_raw(stack: Deployed, table: pa.Table, day: date) -> str:
    """Put a raw object as a person would; return the execution its event starts."""
    key = raw_key("IBOV", day)
    s3: Any = aws("s3")
    known = execution_names(stack)
    etag = s3.put_object(Bucket=stack.bucket, Key=key, Body=to_parquet_bytes(table))["ETag"]
    return wait_for_execution(stack, key, etag.strip('"'), known)


def run_dropped(stack: Deployed, table: pa.Table, day: date) -> Outcome:
    return follow(drop_raw(stack, table, day))


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


def smoke_counts(outcome: Outcome) -> dict[tuple[str, str], int]:
    """What the state machine's smoke query counted: (index, dt) -> refined rows."""
    return athena_counts(outcome.output["refine"])


def step(outcome: Outcome, name: str) -> Any:
    return next(s for s in outcome.progress.steps if s.name == name)


# --- the schedule path -------------------------------------------------------------------


@pytest.fixture(scope="module")
def first_run(stack: Deployed) -> tuple[Outcome, dict[str, dict[str, Any]]]:
    outcome = follow(start(stack, LOCAL.schedule_input("IBOV", ahead=())))
    return outcome, refined_rows(stack, JULY_10)


def test_schedule_path_end_to_end(
    stack: Deployed, first_run: tuple[Outcome, dict[str, dict[str, Any]]]
) -> None:
    outcome, rows = first_run
    assert outcome.status == "SUCCEEDED", outcome.progress
    assert [s.name for s in outcome.progress.steps] == [
        "ScrapeIndices", "Glue job", "Crawler", "Athena smoke query", "Check",
    ]  # fmt: skip
    assert [(o["index"], o["rows"]) for o in outcome.output["refine"]["objects"]] == [("IBOV", 84)]
    assert smoke_counts(outcome) == {("IBOV", JULY_10): 84}
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


def test_the_scrapers_own_raw_write_starts_no_second_execution(
    stack: Deployed, first_run: tuple[Outcome, dict[str, dict[str, Any]]]
) -> None:
    sfn: Any = aws("stepfunctions")
    names = [
        e["name"]
        for e in sfn.list_executions(stateMachineArn=stack.state_machine_arn)["executions"]
    ]
    assert not [n for n in names if n.startswith(f"s3-IBOV-{JULY_10}")]


@pytest.fixture(scope="module")
def flaky_rerun(
    stack: Deployed,
    replay_server: ReplayServer,
    first_run: tuple[Outcome, dict[str, dict[str, Any]]],
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
    assert step(outcome, "ScrapeIndices").retries == 2
    assert len(rows) == 84


def test_the_same_day_twice_leaves_identical_refined_data(
    first_run: tuple[Outcome, dict[str, dict[str, Any]]],
    flaky_rerun: tuple[Outcome, dict[str, dict[str, Any]]],
) -> None:
    (_, before), (_, after) = first_run, flaky_rerun
    assert after.keys() == before.keys()
    lineage = "source_fetched_at"  # the second scrape fetched B3 again, later
    for ticker, row in after.items():
        assert {k: v for k, v in row.items() if k != lineage} == {
            k: v for k, v in before[ticker].items() if k != lineage
        }


# --- the S3-event path -------------------------------------------------------------------


@pytest.fixture(scope="module")
def s3_run(stack: Deployed) -> Outcome:
    """A raw file for 2025-07-11 dropped in the bucket by hand."""
    day = date(2025, 7, 11)
    table = to_table(on_day(recorded_portfolio(SEGMENT2_2025_07_10), day))
    return run_dropped(stack, table, day)


def test_s3_event_path_end_to_end(stack: Deployed, s3_run: Outcome) -> None:
    outcome, key = s3_run, raw_key("IBOV", date(2025, 7, 11))
    assert outcome.status == "SUCCEEDED", outcome.progress
    # the same Map, with the dropped object as its one item: validated, never scraped
    (validated,) = outcome.output["scraped"]["validated"]
    assert validated["uri"] == f"s3://{stack.bucket}/{key}"
    assert (outcome.output["counts"], outcome.output["scraped"]["ahead"]) == (
        {"targets": 1, "validated": 1, "failed": 0},
        [],
    )
    rows = refined_rows(stack, "2025-07-11")
    assert len(rows) == 84
    assert {r["trading_weekday"] for r in rows.values()} == {5}
    assert smoke_counts(outcome) == {("IBOV", "2025-07-11"): 84}


def test_a_duplicated_s3_event_starts_one_execution(stack: Deployed, s3_run: Outcome) -> None:
    sfn: Any = aws("stepfunctions")
    started = json.loads(sfn.describe_execution(executionArn=s3_run.execution_arn)["input"])
    event = {
        "version": "0",
        "id": "duplicate-delivery",
        "detail-type": "Object Created",
        "source": "aws.s3",
        "account": "000000000000",
        "time": "2025-07-11T21:30:00Z",
        "region": "us-east-1",
        "resources": [f"arn:aws:s3:::{stack.bucket}"],
        "detail": {
            "bucket": {"name": stack.bucket},
            "object": {
                "key": started["key"],
                "etag": started["etag"],
                "sequencer": started["sequencer"],
            },
        },
    }
    aws_lambda: Any = aws("lambda")
    answer = aws_lambda.invoke(FunctionName=LOCAL.trigger_function, Payload=json.dumps(event))
    assert json.loads(answer["Payload"].read())["action"] == "duplicate"
    names = [
        e["name"]
        for e in sfn.list_executions(stateMachineArn=stack.state_machine_arn)["executions"]
    ]
    assert names.count(s3_run.execution_arn.rsplit(":", 1)[1]) == 1


def test_an_object_replaced_between_validate_and_the_job_is_not_what_is_refined(
    stack: Deployed,
) -> None:
    """Finding 1: a valid day, and while its execution is past Validate, a refused file."""
    day = date(2025, 7, 17)
    portfolio = recorded_portfolio(SEGMENT2_2025_07_10)
    first = drop_raw(stack, to_table(on_day(portfolio, day)), day)
    for _ in range(600):  # until Validate has pinned the first file; the job has not read it
        if any(
            e.get("stateExitedEventDetails", {}).get("name") == "Validate" for e in history(first)
        ):
            break
        time.sleep(0.05)
    second = drop_raw(stack, float_weights(to_table(on_day(without(portfolio, "PETR3"), day))), day)
    refused, refined = follow(second), follow(first)
    assert (refused.status, refused.progress.error) == ("FAILED", "IndicesFailed")
    assert "SchemaMismatch" in str(refused.progress.cause)
    assert refined.status == "SUCCEEDED", refined.progress
    rows = refined_rows(stack, day.isoformat())
    assert len(rows) == 84
    assert "PETR3" in rows
    assert sum(row["weight_pct"] for row in rows.values()) == Decimal("100.000")
    s3: Any = aws("s3")
    current = s3.get_object(Bucket=stack.bucket, Key=raw_key("IBOV", day))["Body"].read()
    assert pq.read_table(io.BytesIO(current)).schema.field("part").type == pa.float64()


def test_reverting_a_day_to_an_earlier_file_refines_it_again(stack: Deployed) -> None:
    """Finding 2: file A, then B, then A again (the same bytes): refined holds A."""
    day = date(2025, 7, 18)
    portfolio = recorded_portfolio(SEGMENT2_2025_07_10)
    a, b = to_table(on_day(portfolio, day)), to_table(on_day(without(portfolio, "PETR3"), day))
    outcomes = [run_dropped(stack, table, day) for table in (a, b, a)]
    assert [o.status for o in outcomes] == ["SUCCEEDED"] * 3
    assert len({o.execution_arn for o in outcomes}) == 3
    rows = refined_rows(stack, day.isoformat())
    assert len(rows) == 84
    assert "PETR3" in rows


# --- failures ----------------------------------------------------------------------------


def test_totals_that_do_not_reconcile_fail_in_validate_and_leave_refined_untouched(
    stack: Deployed, first_run: tuple[Outcome, dict[str, dict[str, Any]]]
) -> None:
    day = date(2025, 7, 14)
    table = quantity_off(to_table(on_day(recorded_portfolio(SEGMENT2_2025_07_10), day)))
    before = snapshot(stack)
    outcome = run_dropped(stack, table, day)
    assert outcome.status == "FAILED"
    # the object's iteration records the failure; the execution ends FAILED naming it
    assert outcome.progress.error == "IndicesFailed"
    assert "QuantityTotalMismatch" in str(outcome.progress.cause)
    assert "off by 1000" in str(outcome.progress.cause)
    assert [s.name for s in outcome.progress.steps] == ["ScrapeIndices", "FinishFailedIndices"]
    assert snapshot(stack) == before


def test_a_glue_job_failure_ends_in_the_glue_step_with_the_jobs_message(
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
    try:
        day = date(2025, 7, 15)
        table = to_table(on_day(recorded_portfolio(SEGMENT2_2025_07_10), day))
        outcome = run_dropped(stack, table, day)
    finally:
        deploy(LOCAL, b3_base_url=replay_server.base_url)
    assert outcome.status == "FAILED"
    assert outcome.progress.failed_state == "GlueJobFailed"
    assert outcome.progress.error == "Glue.FAILED"
    assert "NoSuchBucket" in str(outcome.progress.cause)
    assert step(outcome, "Glue job").status == "failed"

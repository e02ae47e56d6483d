"""One execution for the day's indices on the emulator: one index down, the others refined.

A day of three indices replayed from B3's recordings (IBOV of 2025-07-10, IBRA of
2021-06-22 -- 179 assets, two pages --, IBXX of 2024-11-12), IBXX answering HTTP 503 to
every request: the execution refines IBOV and IBRA in one Glue run, tries IBXX once more
and ends FAILED in that try, naming it. Once the replay recovers, ``finish`` runs the states
a console redrive runs (``RetryFailed`` for IBXX, then ``RefineRetried``: a redrive where
the endpoint has one, an execution started at those states otherwise -- MiniStack has no
RedriveExecution), refines IBXX alone and leaves the others' files as they were, byte for byte.

The deployment is this module's own (its own bucket, functions, job and table), so what
other tests refine cannot stand in for what these executions did. Every check reads the
data back from S3 or asks Athena.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from dataclasses import replace
from decimal import Decimal
from typing import Any

import pyarrow.parquet as pq
import pytest

from services.pipeline.lake.storage import S3Lake
from services.tool.local.deploy import LOCAL, Deployed, deploy
from services.tool.local.replay import DEMO_INDICES, Fault, ReplayServer, demo_cases
from services.tool.local.run import Outcome, finish, follow, refine_executions, start, summary
from tests.ahead import configuration
from tests.aws_clients import athena_rows, aws
from tests.ibra import from_csv
from tests.recordings import load, pt_br

pytestmark = pytest.mark.spark

DAILY = replace(LOCAL, prefix="bovespa-daily", table="b3_daily_test")
DAYS = {"IBOV": "2025-07-10", "IBRA": "2021-06-22", "IBXX": "2024-11-12"}
DOWN = "IBXX"
#: B3 has no current preview (a test-made GetConfigurations body: none is recorded).
AHEAD = ["preview"]


@pytest.fixture(scope="module")
def replay_server() -> Iterator[ReplayServer]:
    answers = {("GetConfigurations", index): configuration(0) for index in DEMO_INDICES}
    with ReplayServer(demo_cases(), answers=answers) as server:
        yield server


@pytest.fixture(scope="module")
def stack(aws_endpoint: str, replay_server: ReplayServer) -> Deployed:
    return deploy(DAILY, b3_base_url=replay_server.base_url)


def glue_runs(stack: Deployed) -> list[dict[str, Any]]:
    glue: Any = aws("glue")
    runs: list[dict[str, Any]] = glue.get_job_runs(JobName=stack.deployment.glue_job)["JobRuns"]
    return runs


def objects_of(run: dict[str, Any]) -> list[tuple[str, str]]:
    """The (index, dt) objects a Glue job run was asked to refine."""
    return sorted((o["index"], o["dt"]) for o in json.loads(run["Arguments"]["--objects"]))


def crawls(outcome: Outcome) -> int:
    """Crawls the execution started: one per refine execution, each its own StartCrawler."""
    sfn: Any = aws("stepfunctions")
    found = 0
    for arn in refine_executions(sfn, outcome.execution_arn):
        events = sfn.get_execution_history(executionArn=arn, maxResults=1000)["events"]
        found += sum(
            1
            for e in events
            if e["type"] == "TaskSucceeded"
            and e["taskSucceededEventDetails"]["resource"].endswith("glue:startCrawler")
        )
    return found


def refined(stack: Deployed, index: str) -> dict[str, bytes]:
    """Every refined file of ``index`` on its day: key -> bytes."""
    lake = S3Lake(stack.bucket)
    return {
        key: lake.read_bytes(key)
        for key in lake.list(f"refined/dt={DAYS[index]}/index_code={index}/")
    }


def rows_of(files: dict[str, bytes]) -> dict[str, dict[str, Any]]:
    rows: dict[str, dict[str, Any]] = {}
    for key, body in files.items():
        (row,) = pq.read_table(io.BytesIO(body)).to_pylist()
        rows[key.split("ticker=")[1].split("/")[0]] = row
    return rows


def recorded(index: str) -> dict[str, tuple[Decimal, int]]:
    """Ticker -> (weight, quantity) as B3's recording of the day has them."""
    body = load(demo_cases((index,))[(index, "2")])
    return {r["cod"]: (pt_br(r["part"]), int(pt_br(r["theoricalQty"]))) for r in body["results"]}


def athena_counts(stack: Deployed) -> dict[str, int]:
    pairs = " OR ".join(f"(dt = '{dt}' AND index_code = '{i}')" for i, dt in DAYS.items())
    answer = athena_rows(
        stack.deployment.workgroup,
        f'SELECT index_code, count(*) FROM "default"."{stack.deployment.table}" '
        f"WHERE {pairs} GROUP BY index_code",
    )
    return {index: int(n) for index, n in answer}


@pytest.fixture(scope="module")
def one_down(stack: Deployed, replay_server: ReplayServer) -> tuple[Outcome, list[dict[str, Any]]]:
    """The day's execution with IBXX answering 503 to every request."""
    before = {run["Id"] for run in glue_runs(stack)}
    replay_server.outage(DOWN, Fault(status=503, body=b"busy"))
    try:
        outcome = follow(start(stack, DAILY.schedule_input(DEMO_INDICES, ahead=AHEAD)))
    finally:
        replay_server.outage(DOWN, None)
    return outcome, [run for run in glue_runs(stack) if run["Id"] not in before]


def test_one_index_down_ends_failed_in_its_retry_naming_it(
    one_down: tuple[Outcome, list[dict[str, Any]]],
) -> None:
    outcome, _ = one_down
    assert outcome.status == "FAILED"
    # failed in the retry's iteration, with the scraper's own error: what a redrive reruns
    assert (outcome.progress.failed_state, outcome.progress.error) == (
        "RetryFailed",
        "B3Unavailable",
    )
    (failure,) = outcome.progress.inputs["RetryFailed"]["failed"]
    assert (failure["target"], failure["dataset"], failure["error"]) == (
        DOWN,
        "day",
        "B3Unavailable",
    )
    assert "HTTP 503 (application/json)" in failure["cause"]
    assert len(failure["cause"]) <= 300
    assert "B3 unavailable after 1 attempts at " in str(outcome.progress.cause)
    listed = outcome.progress.outputs["WaitBeforeRetry"]["summary"]
    assert listed == f"1 failed, 2 validated and refined; trying again: {DOWN} day: B3Unavailable"


def test_the_others_are_refined_by_one_glue_run_and_queryable(
    stack: Deployed, one_down: tuple[Outcome, list[dict[str, Any]]]
) -> None:
    outcome, runs = one_down
    (run,) = runs
    assert objects_of(run) == [("IBOV", DAYS["IBOV"]), ("IBRA", DAYS["IBRA"])]
    assert crawls(outcome) == 1
    for index in ("IBOV", "IBRA"):
        rows = rows_of(refined(stack, index))
        expected = recorded(index)
        assert rows.keys() == expected.keys()
        assert {t: (r["weight_pct"], r["theoretical_qty"]) for t, r in rows.items()} == expected
    assert refined(stack, DOWN) == {}
    assert athena_counts(stack) == {"IBOV": 84, "IBRA": 179}
    # the smoke query counted the same, for exactly the two refined days
    counts = outcome.progress.outputs["Refine"]["refined"]["counts"]
    assert counts == {f"IBOV/{DAYS['IBOV']}": 84, f"IBRA/{DAYS['IBRA']}": 179}
    # IBRA's 179 rows equal B3's CSV of the day, as its totals
    csv = from_csv()
    ibra = rows_of(refined(stack, "IBRA"))
    assert sum(r["weight_pct"] for r in ibra.values()) == csv.total_weight
    assert sum(r["theoretical_qty"] for r in ibra.values()) == csv.total_qty


def test_the_summary_has_a_row_per_index_and_the_datasets_ahead(
    stack: Deployed, one_down: tuple[Outcome, list[dict[str, Any]]]
) -> None:
    outcome, _ = one_down
    result = summary(stack, outcome)
    by_index = {row["index"]: row for row in result["indices"]}
    assert {i: r["status"] for i, r in by_index.items()} == {
        "IBOV": "refined",
        "IBRA": "refined",
        "IBXX": "failed",
    }
    assert [(by_index[i]["raw_rows"], by_index[i]["athena_count"]) for i in ("IBOV", "IBRA")] == [
        (84, 84),
        (179, 179),
    ]
    assert (result["glue_runs"], result["crawls"]) == (1, 1)
    # "no preview now" is a result, never a failure; the down index got no dataset ahead
    assert sorted((a["index"], a["dataset"], a["status"]) for a in result["ahead"]) == [
        ("IBOV", "preview", "none"),
        ("IBRA", "preview", "none"),
    ]
    lake = S3Lake(stack.bucket)
    assert lake.list(f"raw-preview/index=IBOV/dt={DAYS['IBOV']}/") == [
        f"raw-preview/index=IBOV/dt={DAYS['IBOV']}/_b3-response-configuration.json",
        f"raw-preview/index=IBOV/dt={DAYS['IBOV']}/_b3-response-session.json",
        f"raw-preview/index=IBOV/dt={DAYS['IBOV']}/_no-preview.json",
    ]


@pytest.fixture(scope="module")
def finished(
    stack: Deployed, one_down: tuple[Outcome, list[dict[str, Any]]]
) -> tuple[str, Outcome, list[dict[str, Any]], dict[str, dict[str, bytes]]]:
    """B3 answers for IBXX again: finish the failed execution."""
    outcome, _ = one_down
    others = {index: refined(stack, index) for index in ("IBOV", "IBRA")}
    before = {run["Id"] for run in glue_runs(stack)}
    arn = finish(stack, outcome.execution_arn)
    done = follow(arn)
    runs = [run for run in glue_runs(stack) if run["Id"] not in before]
    return arn, done, runs, others


def test_finishing_runs_the_redriven_states_and_refines_only_the_failed_index(
    stack: Deployed,
    finished: tuple[str, Outcome, list[dict[str, Any]], dict[str, dict[str, bytes]]],
) -> None:
    _, outcome, runs, others = finished
    assert outcome.status == "SUCCEEDED", outcome.progress
    # the states a console redrive runs after RetryFailed's failed iteration, and no others
    # (the emulator records no states inside a Map's iterations)
    ran = set(outcome.progress.outputs)
    assert {"Route", "RetryFailed", "RefineRetried", "Done"} <= ran
    assert not ran & {"ScrapeIndices", "Refine", "WaitBeforeRetry"}
    (run,) = runs
    assert objects_of(run) == [(DOWN, DAYS[DOWN])]
    rows = rows_of(refined(stack, DOWN))
    assert {t: (r["weight_pct"], r["theoretical_qty"]) for t, r in rows.items()} == recorded(DOWN)
    assert athena_counts(stack) == {"IBOV": 84, "IBRA": 179, "IBXX": 100}
    assert outcome.progress.outputs["RefineRetried"]["refined"]["counts"] == {
        f"{DOWN}/{DAYS[DOWN]}": 100
    }
    # the indices refined before were not touched
    assert {index: refined(stack, index) for index in others} == others

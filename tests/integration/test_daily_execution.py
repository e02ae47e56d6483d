"""The day's execution on the emulator, its clock frozen: one index down, then finished.

Wednesday 2026-11-25, 20:30 in São Paulo: B3 already serves Thursday's portfolios, replayed
for IBOV, IBRA (two pages) and IBXX (``redate_body``), IBXX with HTTP 503. The execution
refines IBOV and IBRA in one Glue run and ends FAILED retrying IBXX; ``finish`` runs the
states a console redrive runs (MiniStack has none), refines IBXX alone, the rest untouched.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import pytest

from services.pipeline.lake.storage import S3Lake
from services.tool.local.deploy import LOCAL, Deployed, deploy
from services.tool.local.replay import DEMO_INDICES, Fault, ReplayServer, demo_cases
from services.tool.local.run import Outcome, finish, follow, start, summary
from services.tool.local.samples import redate_body
from tests.ahead import configuration
from tests.aws_clients import athena_rows, aws, crawls, refined_rows
from tests.recordings import load, pt_br

pytestmark = pytest.mark.spark

NOW = datetime.fromisoformat("2026-11-25T20:30:00-03:00")
THURSDAY = date(2026, 11, 26)
DOWN = "IBXX"
OneDown = tuple[Outcome, dict[str, list[tuple[str, str]]]]
#: Thursday's place in B3's calendar: its cycle began on Tuesday 2026-09-01, the next on
#: Monday 2027-01-04; processed on Wednesday, before its session.
THURSDAY_FEATURES = {
    "trading_date": THURSDAY, "trading_weekday": 4, "rebalance_cycle_start": date(2026, 9, 1),
    "next_rebalance_date": date(2027, 1, 4), "days_since_rebalance": 86,
    "days_to_next_rebalance": 39, "sessions_since_rebalance": 58, "sessions_to_next_rebalance": 23,
    "processing_date": date(2026, 11, 25), "days_since_trading": -1,
}  # fmt: skip


@pytest.fixture(scope="module")
def replay_server() -> Iterator[ReplayServer]:
    cases = {key: redate_body(path.read_bytes(), THURSDAY) for key, path in demo_cases().items()}
    # B3 has no current preview (a test-made GetConfigurations body: none is recorded)
    answers = {("GetConfigurations", index): configuration(0) for index in DEMO_INDICES}
    with ReplayServer(cases, answers=answers) as server:
        yield server


@pytest.fixture(scope="module")
def stack(aws_endpoint: str, replay_server: ReplayServer) -> Deployed:
    return deploy(LOCAL, b3_base_url=replay_server.base_url, now=NOW)


def glue_runs(stack: Deployed) -> dict[str, list[tuple[str, str]]]:
    glue: Any = aws("glue")
    runs = glue.get_job_runs(JobName=stack.deployment.glue_job)["JobRuns"]
    return {
        r["Id"]: sorted((o["index"], o["dt"]) for o in json.loads(r["Arguments"]["--objects"]))
        for r in runs
    }


def refined(stack: Deployed, index: str) -> dict[str, bytes]:
    lake, prefix = S3Lake(stack.bucket), f"refined/dt={THURSDAY}/index_code={index}/"
    return {key: lake.read_bytes(key) for key in lake.list(prefix)}


def assert_recorded(stack: Deployed, index: str) -> None:
    """The refined rows are B3's recording of the index, on Thursday's place in the calendar."""
    body = load(demo_cases((index,))[(index, "2")])
    recorded = {r["cod"]: (pt_br(r["part"]), pt_br(r["theoricalQty"])) for r in body["results"]}
    rows = refined_rows(stack.bucket, index, str(THURSDAY))
    assert {t: (r["weight_pct"], r["theoretical_qty"]) for t, r in rows.items()} == recorded
    for row in rows.values():
        assert {k: row[k] for k in THURSDAY_FEATURES} == THURSDAY_FEATURES
        # fetched by a scraper whose clock was frozen on Wednesday evening
        assert row["source_fetched_at"].date() == NOW.date()


def athena_counts(stack: Deployed) -> dict[str, int]:
    answer = athena_rows(
        stack.deployment.workgroup,
        f'SELECT index_code, count(*) FROM "default"."{stack.deployment.table}" '
        f"WHERE dt = '{THURSDAY}' GROUP BY index_code",
    )
    return {index: int(n) for index, n in answer}


@pytest.fixture(scope="module")
def one_down(stack: Deployed, replay_server: ReplayServer) -> OneDown:
    before = glue_runs(stack)
    replay_server.outage(DOWN, Fault(status=503, body=b"busy"))
    try:
        outcome = follow(start(stack, LOCAL.schedule_input(DEMO_INDICES, ahead=["preview"])))
    finally:
        replay_server.outage(DOWN, None)
    runs = {run: objects for run, objects in glue_runs(stack).items() if run not in before}
    return outcome, runs


def test_one_index_down_ends_failed_in_its_retry_and_the_others_are_refined(
    stack: Deployed, one_down: OneDown
) -> None:
    outcome, runs = one_down
    ended = ("FAILED", "RetryFailed", "B3Unavailable")
    assert (outcome.status, outcome.progress.failed_state, outcome.progress.error) == ended
    (failure,) = outcome.progress.inputs["RetryFailed"]["failed"]
    assert (failure["target"], failure["dataset"]) == (DOWN, "day")
    assert "HTTP 503 (application/json)" in failure["cause"]
    # one Glue run and one crawl for the two others, exactly B3's rows, queryable
    day = THURSDAY.isoformat()
    assert list(runs.values()) == [[("IBOV", day), ("IBRA", day)]]
    assert crawls(outcome.execution_arn) == 1
    for index in ("IBOV", "IBRA"):
        assert_recorded(stack, index)
    assert refined(stack, DOWN) == {}
    assert athena_counts(stack) == {"IBOV": 84, "IBRA": 179}
    ibov = refined_rows(stack.bucket, "IBOV", str(THURSDAY)).values()
    assert sum(r["weight_pct"] for r in ibov) == Decimal("100.000")
    # the summary: a row per index, "no preview now" as a result, the failure listed
    result = summary(stack, outcome)
    assert [(r["index"], r["status"], r.get("athena_count")) for r in result["indices"]] == [
        ("IBOV", "refined", 84),
        ("IBRA", "refined", 179),
        (DOWN, "failed", None),
    ]
    assert result["indices"][0]["session"] == "portfolio for the session of Thu 2026-11-26"
    assert sorted((a["index"], a["status"]) for a in result["ahead"]) == [
        ("IBOV", "none"),
        ("IBRA", "none"),
    ]
    assert result["cause"].startswith(
        f"1 failed, 2 validated and refined; trying again: {DOWN} day: B3Unavailable. "
        "B3 unavailable after 1 attempts at "
    )


def test_finishing_refines_only_the_failed_index(stack: Deployed, one_down: OneDown) -> None:
    outcome, _ = one_down
    others = {index: refined(stack, index) for index in ("IBOV", "IBRA")}
    before = glue_runs(stack)
    done = follow(finish(stack, outcome.execution_arn))
    assert done.status == "SUCCEEDED", done.progress
    # the states a console redrive runs after RetryFailed's failed iteration, and no others
    ran = set(done.progress.outputs)
    assert {"Route", "RetryFailed", "RefineRetried", "Done"} <= ran
    assert not ran & {"ScrapeIndices", "Refine", "WaitBeforeRetry"}
    runs = [objects for run, objects in glue_runs(stack).items() if run not in before]
    assert runs == [[(DOWN, THURSDAY.isoformat())]]
    assert_recorded(stack, DOWN)
    assert athena_counts(stack) == {"IBOV": 84, "IBRA": 179, DOWN: 100}
    assert {index: refined(stack, index) for index in others} == others


def test_finishing_a_failed_refine_refines_every_day_it_had_validated(
    stack: Deployed, replay_server: ReplayServer
) -> None:
    """Refine fails (the Glue job is gone) with IBOV validated and IBXX down: what a redrive
    reruns -- Refine with its input, then the retry -- refines both."""
    glue: Any = aws("glue")
    glue.delete_job(JobName=stack.deployment.glue_job)
    replay_server.outage(DOWN, Fault(status=503, body=b"busy"))
    try:
        failed = follow(start(stack, LOCAL.schedule_input(("IBOV", DOWN), ahead=[])))
    finally:
        replay_server.outage(DOWN, None)
        deploy(LOCAL, b3_base_url=replay_server.base_url, now=NOW)  # the job is back
    assert failed.status == "FAILED"
    assert "Refine" in failed.progress.inputs
    assert "Refine" not in failed.progress.outputs
    before = glue_runs(stack)
    done = follow(finish(stack, failed.execution_arn))
    assert done.status == "SUCCEEDED", done.progress
    runs = [objects for run, objects in glue_runs(stack).items() if run not in before]
    assert runs == [[("IBOV", THURSDAY.isoformat()), (DOWN, THURSDAY.isoformat())]]
    assert [(r["index"], r["status"]) for r in summary(stack, done)["indices"]] == [
        ("IBOV", "refined"),
        (DOWN, "refined"),
    ]

"""B3's calendar through the whole pipeline on the emulator, with the clock frozen.

The deployment's clock is frozen on Wednesday 2026-11-25 at 20:30 in São Paulo, after the
close, when B3 already serves Thursday's portfolio. The replay server answers with the
recorded 2025-07-10 body re-dated to that Thursday (``redate_body``; the recording itself
is untouched). Both entry paths take it to Athena; holiday-dated bodies stop with
``NotATradingDay`` naming the holiday and leave the lake as it was.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from services.pipeline.lake.layout import RawDay
from services.pipeline.lake.raw import to_parquet_bytes, to_table
from services.pipeline.lake.storage import S3Lake
from services.pipeline.scraper.scrape import scrape
from services.tool.local.deploy import LOCAL, Deployed, deploy
from services.tool.local.live import dropped
from services.tool.local.replay import ReplayServer
from services.tool.local.run import Outcome, follow, start, summary
from services.tool.local.samples import on_day, recorded_portfolio, redate_body
from tests.aws_clients import athena_rows, aws
from tests.recordings import FAST, SEGMENT2_2025_07_10

pytestmark = pytest.mark.spark

#: Wednesday evening in São Paulo, after the close.
NOW = datetime.fromisoformat("2026-11-25T20:30:00-03:00")
#: The next session after NOW: the portfolio B3 serves that evening.
THURSDAY = date(2026, 11, 26)
HOLIDAYS = {date(2025, 12, 25): "Natal", date(2025, 3, 3): "Carnaval Segunda"}
DAYS = [THURSDAY, *HOLIDAYS]
#: An execution whose one item failed, and failed again when tried once more.
FAILED_STEPS = ["Scrape and validate", "Wait before retry", "Retry failed"]


def body_of(day: date) -> bytes:
    return redate_body(SEGMENT2_2025_07_10.read_bytes(), day)


@pytest.fixture(scope="module")
def replay_server() -> Iterator[ReplayServer]:
    with ReplayServer({("IBOV", "2"): body_of(THURSDAY)}) as server:
        yield server


@pytest.fixture(scope="module")
def stack(aws_endpoint: str, replay_server: ReplayServer) -> Iterator[Deployed]:
    stack = deploy(LOCAL, b3_base_url=replay_server.base_url, now=NOW)
    yield stack
    deploy(LOCAL)  # the real clock back
    _remove_days(stack, DAYS)


def _remove_days(stack: Deployed, days: list[date]) -> None:
    """Delete what this module's runs left: objects and catalogue partitions of ``days``."""
    s3: Any = aws("s3")
    glue: Any = aws("glue")
    for day in days:
        for prefix in (f"inbox/index=IBOV/dt={day}/", f"raw/index=IBOV/dt={day}/",
                       f"refined/dt={day}/"):  # fmt: skip
            for key in snapshot(stack, prefix):
                s3.delete_object(Bucket=stack.bucket, Key=key)
        parts = glue.get_partitions(
            DatabaseName=LOCAL.database, TableName=LOCAL.table, Expression=f"dt = '{day}'"
        )["Partitions"]
        for part in parts:
            if part["Values"][0] == day.isoformat():
                glue.delete_partition(
                    DatabaseName=LOCAL.database,
                    TableName=LOCAL.table,
                    PartitionValues=part["Values"],
                )


def snapshot(stack: Deployed, prefix: str) -> dict[str, str]:
    s3: Any = aws("s3")
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=stack.bucket, Prefix=prefix)
    return {o["Key"]: o["ETag"] for page in pages for o in page.get("Contents", [])}


def refined_rows(stack: Deployed, day: date) -> dict[str, dict[str, Any]]:
    lake = S3Lake(stack.bucket)
    rows: dict[str, dict[str, Any]] = {}
    for key in lake.list(f"refined/dt={day}/index_code=IBOV/"):
        (row,) = pq.read_table(io.BytesIO(lake.read_bytes(key))).to_pylist()
        rows[key.split("ticker=")[1].split("/")[0]] = row
    return rows


def athena_count(day: date) -> int:
    sql = (
        f'SELECT count(*) FROM "{LOCAL.database}"."{LOCAL.table}" '
        f"WHERE dt = '{day.isoformat()}' AND index_code = 'IBOV'"
    )
    ((count,),) = athena_rows(LOCAL.workgroup, sql)
    return int(count)


def drop(stack: Deployed, day: date, body: bytes) -> Outcome:
    """Drop a raw file under inbox/ as a person would (``bovespa ingest``); follow its execution."""
    return follow(dropped(RawDay("IBOV", day), body)(stack))


#: What the refined rows of Thursday 2026-11-26 say about its place in B3's calendar:
#: the cycle began on the first session of September (Tuesday 2026-09-01) and the next
#: begins on Monday 2027-01-04 (January 1 is a holiday, then a weekend); processed on
#: Wednesday, before its session.
THURSDAY_FEATURES = {
    "trading_date": THURSDAY,
    "trading_weekday": 4,
    "rebalance_cycle_start": date(2026, 9, 1),
    "next_rebalance_date": date(2027, 1, 4),
    "days_since_rebalance": 86,
    "days_to_next_rebalance": 39,
    "sessions_since_rebalance": 58,
    "sessions_to_next_rebalance": 23,
    "processing_date": date(2026, 11, 25),
    "days_since_trading": -1,
}


def assert_thursday_refined(stack: Deployed, outcome: Outcome) -> None:
    assert outcome.status == "SUCCEEDED", outcome.progress
    (validated,) = outcome.progress.outputs["ScrapeIndices"]["validated"]
    assert (validated["dt"], validated["rows"]) == (THURSDAY.isoformat(), 84)
    counts = outcome.progress.outputs["Refine"]["refined"]["counts"]
    assert counts == {f"IBOV/{THURSDAY}": 84}
    rows = refined_rows(stack, THURSDAY)
    assert len(rows) == 84
    for row in rows.values():
        assert {k: row[k] for k in THURSDAY_FEATURES} == THURSDAY_FEATURES
    assert sum(r["theoretical_qty"] for r in rows.values()) == 91_922_324_640
    assert athena_count(THURSDAY) == 84
    (row,) = summary(stack, outcome)["indices"]
    assert row["session"] == "portfolio for the session of Thu 2026-11-26"


def test_s3_event_path_takes_tomorrows_portfolio_scraped_tonight_to_athena(
    stack: Deployed, replay_server: ReplayServer, tmp_path: Path
) -> None:
    # `bovespa scrape` into a directory on Wednesday evening, then `bovespa ingest` the file
    scraped = scrape(
        "IBOV", lake_uri=str(tmp_path), base_url=replay_server.base_url, policy=FAST, now=NOW
    )
    assert scraped["dt"] == THURSDAY.isoformat()
    asked = len(replay_server.requests)
    outcome = drop(stack, THURSDAY, Path(scraped["uri"]).read_bytes())
    assert len(replay_server.requests) == asked  # validated, never scraped
    assert_thursday_refined(stack, outcome)


def test_schedule_path_takes_tomorrows_portfolio_to_athena(stack: Deployed) -> None:
    outcome = follow(start(stack, LOCAL.schedule_input("IBOV", ahead=())))
    assert [s.name for s in outcome.progress.steps] == [
        "Scrape and validate", "Glue job", "Crawler", "Athena smoke query", "Check",
    ]  # fmt: skip
    assert_thursday_refined(stack, outcome)


@pytest.mark.parametrize(("day", "name"), HOLIDAYS.items(), ids=str)
def test_a_holiday_from_b3_stops_the_scrape_and_writes_nothing(
    stack: Deployed, replay_server: ReplayServer, day: date, name: str
) -> None:
    before = snapshot(stack, "raw/"), snapshot(stack, "refined/")
    replay_server.cases[("IBOV", "2")] = body_of(day)
    try:
        outcome = follow(start(stack, LOCAL.schedule_input("IBOV", ahead=())))
    finally:
        replay_server.cases[("IBOV", "2")] = body_of(THURSDAY)
    assert (outcome.status, outcome.progress.error) == ("FAILED", "NotATradingDay")
    assert f"dt={day} is not a B3 session: {name}" in str(outcome.progress.cause)
    assert [s.name for s in outcome.progress.steps] == FAILED_STEPS
    assert (snapshot(stack, "raw/"), snapshot(stack, "refined/")) == before


@pytest.mark.parametrize(("day", "name"), HOLIDAYS.items(), ids=str)
def test_a_dropped_holiday_file_fails_validation_and_refines_nothing(
    stack: Deployed, day: date, name: str
) -> None:
    before = snapshot(stack, "raw/"), snapshot(stack, "refined/")
    table = to_table(on_day(recorded_portfolio(SEGMENT2_2025_07_10), day))
    outcome = drop(stack, day, to_parquet_bytes(table))
    assert (outcome.status, outcome.progress.error) == ("FAILED", "NotATradingDay")
    assert f"dt={day} is not a B3 session: {name}" in str(outcome.progress.cause)
    assert [s.name for s in outcome.progress.steps] == FAILED_STEPS
    # the dropped file stays in inbox/, never promoted
    assert (snapshot(stack, "raw/"), snapshot(stack, "refined/")) == before
    assert f"inbox/index=IBOV/dt={day}/portfolio.parquet" in snapshot(stack, "inbox/")

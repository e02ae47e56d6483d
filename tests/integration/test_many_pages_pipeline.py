"""IBRA (179 assets, two B3 pages) through the whole pipeline on the emulator.

The schedule-path execution scrapes both pages from the replay server, validates, refines
with the Glue job, crawls and counts with Athena; the test reads the refined rows back
from S3 and asks Athena for the sums, and compares them with B3's CSV of the day.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pyarrow.parquet as pq
import pytest

from services.lake.storage import S3Lake
from services.local.deploy import LOCAL, LocalStack, deploy
from services.local.replay import ReplayServer
from services.local.run import Outcome, follow, start
from tests.ibra import CASES, from_csv
from tests.integration.test_pipeline import athena

pytestmark = [pytest.mark.integration, pytest.mark.spark]

DT = "2021-06-22"


@pytest.fixture(scope="module")
def replay_server() -> Iterator[ReplayServer]:
    with ReplayServer(CASES) as server:
        yield server


@pytest.fixture(scope="module")
def ibra_run(aws_endpoint: str, replay_server: ReplayServer) -> tuple[LocalStack, Outcome]:
    stack = deploy(LOCAL, b3_base_url=replay_server.base_url)
    return stack, follow(start(stack, LOCAL.schedule_input("IBRA")))


def test_a_two_page_index_is_refined_and_counted(
    ibra_run: tuple[LocalStack, Outcome], replay_server: ReplayServer
) -> None:
    stack, outcome = ibra_run
    assert outcome.status == "SUCCEEDED", outcome.progress
    assert [(r["index"], r["pageNumber"], r["pageSize"]) for r in replay_server.requests] == [
        ("IBRA", 1, 120),
        ("IBRA", 2, 120),
    ]
    assert (outcome.output["rows"], outcome.output["smoke"]["count"]) == (179, 179)
    csv = from_csv()
    lake = S3Lake(stack.bucket)
    keys = lake.list(f"raw/index=IBRA/dt={DT}/")
    assert sorted(k.rsplit("/", 1)[1] for k in keys) == [
        "_b3-response-page-001.json",
        "_b3-response-page-002.json",
        "portfolio.parquet",
    ]
    rows: dict[str, dict[str, Any]] = {}
    for key in lake.list(f"refined/dt={DT}/index_code=IBRA/"):
        (row,) = pq.read_table(io.BytesIO(lake.read_bytes(key))).to_pylist()
        rows[key.split("ticker=")[1].split("/")[0]] = row
    assert rows.keys() == csv.rows.keys()
    for ticker, row in rows.items():
        assert row["weight_pct"] == csv.rows[ticker].weight
        assert row["theoretical_qty"] == csv.rows[ticker].qty
    ((count, weight, qty),) = athena(
        stack,
        f"SELECT count(*), sum(weight_pct), sum(theoretical_qty) FROM "
        f"\"default\".\"{LOCAL.table}\" WHERE dt = '{DT}' AND index_code = 'IBRA'",
    )
    assert (int(count), Decimal(weight), int(qty)) == (179, csv.total_weight, csv.total_qty)

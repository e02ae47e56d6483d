"""A run killed at each step of publishing a day to S3 (the emulator), and the re-run.

On S3 each partition's file is replaced by one PUT: whatever the step a run dies at, every
partition of the day is one whole, readable file (old or new) and the catalogue never
points at a partition with no file; a run killed before it writes leaves the old day, and
re-running the day repairs whatever a killed run left.
"""

from __future__ import annotations

import io
import uuid
from datetime import date
from typing import Any

import pyarrow.parquet as pq
import pytest

from glue import catalog
from glue.job import JobArgs, run
from glue.lakeio import InjectedFault
from services.pipeline import settings
from services.pipeline.lake.storage import S3Lake
from tests.aws_clients import aws
from tests.lakes import recorded_portfolio, without, write_days
from tests.recordings import SEGMENT2_2025_07_10

pytestmark = pytest.mark.spark

JULY_10 = date(2025, 7, 10)
OLD_RUN, NEW_RUN = date(2025, 7, 14), date(2025, 7, 15)
DAY_PREFIX = "refined/dt=2025-07-10/index_code=IBOV/"


def day_files(lake: S3Lake) -> dict[str, date]:
    """Each ticker's file as a reader sees it: one whole file, and which run wrote it."""
    found: dict[str, date] = {}
    for key in lake.list(DAY_PREFIX):
        ticker = key.split("ticker=")[1].split("/")[0]
        assert ticker not in found, f"two files for {ticker}"
        (row,) = pq.read_table(io.BytesIO(lake.read_bytes(key))).to_pylist()
        found[ticker] = row["processing_date"]
    return found


def catalogued(table: str) -> set[str]:
    glue: Any = aws("glue")
    pages = glue.get_paginator("get_partitions").paginate(DatabaseName="default", TableName=table)
    return {p["Values"][2] for page in pages for p in page["Partitions"]}


@pytest.mark.parametrize("point", ["publish.staged", "publish.switching", "publish.switched"])
def test_a_run_killed_while_publishing_to_s3_leaves_whole_partitions_and_is_repaired(
    spark: Any, bucket: str, monkeypatch: pytest.MonkeyPatch, point: str
) -> None:
    lake = S3Lake(bucket)
    portfolio = recorded_portfolio(SEGMENT2_2025_07_10)
    write_days(lake, portfolio, [JULY_10])
    table = f"t_{uuid.uuid4().hex[:8]}"
    glue: Any = aws("glue")  # the table, declared as a deployment does
    catalog.ensure_database(glue, "default")
    catalog.upsert_table(glue, "default", table, f"s3://{bucket}/refined/")

    def job(processing_date: date) -> dict[str, Any]:
        return run(
            JobArgs(
                f"s3://{bucket}", JULY_10, JULY_10, table=table, processing_date=processing_date
            )
        )

    job(OLD_RUN)
    old = day_files(lake)
    assert len(old) == 84
    write_days(lake, without(portfolio, "PETR3"), [JULY_10])  # B3 corrected the day

    monkeypatch.setenv(settings.FAULT_ENV, point)
    with pytest.raises(InjectedFault):
        job(NEW_RUN)
    after_kill = day_files(lake)  # every partition one whole, readable file
    assert set(after_kill.values()) <= {OLD_RUN, NEW_RUN}
    assert set(after_kill) == set(old)  # no partition missing; PETR3 not yet removed
    if point == "publish.staged":
        assert after_kill == old  # nothing was written: the old day, whole
    if point == "publish.switched":
        assert {t: d for t, d in after_kill.items() if t != "PETR3"} == dict.fromkeys(
            set(old) - {"PETR3"}, NEW_RUN
        )
    assert catalogued(table) == set(old)  # the catalogue is switched after the files

    monkeypatch.delenv(settings.FAULT_ENV)
    summary = job(NEW_RUN)
    assert (summary["rows"], summary["files"]) == (83, 83)
    assert day_files(lake) == dict.fromkeys(set(old) - {"PETR3"}, NEW_RUN)
    assert catalogued(table) == set(old) - {"PETR3"}

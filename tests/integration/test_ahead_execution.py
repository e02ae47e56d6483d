"""The daily execution refines and catalogues the datasets ahead, on the emulator.

IBOV on session 2022-12-08 with the demo's answers (:func:`services.tool.local.replay.demo_ahead`):
the day and the theoretical portfolio are B3's recordings; the preview and the
``GetConfigurations`` answer are made from them (no answer of either is recorded), so
the preview is unverified. One execution scrapes the three, one Glue run refines them
into their three tables, and Athena returns exactly the recorded rows. The deployment is
this module's own (its own bucket, functions, job and day's table).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import replace
from decimal import Decimal
from typing import Any

import pytest

from services.pipeline import settings
from services.pipeline.lake.storage import S3Lake
from services.tool.local.deploy import LOCAL, Deployed, deploy
from services.tool.local.replay import DEMO_AHEAD_DATASETS, ReplayServer, demo_ahead
from services.tool.local.run import Outcome, follow, start, summary
from tests.ahead import THEORETICAL_2022
from tests.aws_clients import athena_rows, aws
from tests.recordings import load, pt_br

pytestmark = pytest.mark.spark

AHEAD = replace(LOCAL, prefix="bovespa-ahead", table="b3_ahead_day_test")
DT = "2022-12-08"


@pytest.fixture(scope="module")
def stack(aws_endpoint: str) -> Iterator[tuple[Deployed, Outcome]]:
    cases, answers = demo_ahead()
    with ReplayServer(cases, answers=answers) as server:
        deployed = deploy(AHEAD, b3_base_url=server.base_url)
        started = start(deployed, AHEAD.schedule_input("IBOV", ahead=DEMO_AHEAD_DATASETS))
        outcome = follow(started)
        yield deployed, outcome


def test_one_execution_scrapes_and_one_glue_run_refines_the_three(
    stack: tuple[Deployed, Outcome],
) -> None:
    deployed, outcome = stack
    assert outcome.status == "SUCCEEDED", outcome.progress
    glue: Any = aws("glue")
    (run,) = glue.get_job_runs(JobName=AHEAD.glue_job)["JobRuns"]
    ahead = json.loads(run["Arguments"]["--ahead"])
    lake = S3Lake(deployed.bucket)
    for entry in ahead:  # each pin is the Parquet object the scraper wrote, byte for byte
        stored = lake.read_object(
            f"raw-{entry['dataset']}/index=IBOV/dt={DT}/{entry['dataset']}.parquet"
        )
        assert entry["status"] == "stored"
        assert entry["version"] == stored.version
        assert entry["object_sha256"] == hashlib.sha256(stored.data).hexdigest()
    assert sorted(a["dataset"] for a in ahead) == ["preview", "theoretical"]
    result = summary(deployed, outcome)
    assert [(r["index"], r["dt"], r["athena_count"]) for r in result["indices"]] == [
        ("IBOV", DT, 92)
    ]
    assert sorted(
        (a["dataset"], a["status"], a["rows"], a["refined_rows"], a["refined_files"], a["table"])
        for a in result["ahead"]
    ) == [
        ("preview", "stored", 92, 92, 92, "default.b3_index_preview"),
        ("theoretical", "stored", 92, 92, 92, "default.b3_index_theoretical"),
    ]


def test_both_tables_are_catalogued_with_a_partition_per_ticker(
    stack: tuple[Deployed, Outcome],
) -> None:
    deployed, _ = stack
    glue: Any = aws("glue")
    tickers = sorted(r["cod"] for r in load(THEORETICAL_2022)["results"])
    for table, prefix in (
        (settings.REFINED_THEORETICAL_TABLE, settings.REFINED_THEORETICAL_PREFIX),
        (settings.REFINED_PREVIEW_TABLE, settings.REFINED_PREVIEW_PREFIX),
    ):
        described = glue.get_table(DatabaseName="default", Name=table)["Table"]
        location = f"s3://{deployed.bucket}/{prefix}/"
        assert described["StorageDescriptor"]["Location"] == location
        paginator = glue.get_paginator("get_partitions")
        partitions = [
            p
            for page in paginator.paginate(
                DatabaseName="default", TableName=table, Expression=f"dt = '{DT}'"
            )
            for p in page["Partitions"]
            if p["StorageDescriptor"]["Location"].startswith(location)
        ]
        assert sorted(p["Values"][2] for p in partitions) == tickers
        assert {tuple(p["Values"][:2]) for p in partitions} == {(DT, "IBOV")}


def test_athena_returns_exactly_the_recorded_rows(stack: tuple[Deployed, Outcome]) -> None:
    deployed, _ = stack
    recorded = load(THEORETICAL_2022)
    expected = sorted(
        (r["cod"], pt_br(r["part"]), int(pt_br(r["theoricalQty"])), r["cont"])
        for r in recorded["results"]
    )
    rows = athena_rows(
        deployed.deployment.workgroup,
        "SELECT ticker, weight_pct, theoretical_qty, company_rank, cycle, cycle_start "
        f"FROM \"default\".\"b3_index_theoretical\" WHERE dt = '{DT}' AND index_code = 'IBOV' "
        "ORDER BY ticker",
    )
    assert [(t, Decimal(w), int(q), int(c)) for t, w, q, c, *_ in rows] == expected
    assert {(cycle, start) for *_, cycle, start in rows} == {("2022-09", "2022-09-01")}
    preview = athena_rows(
        deployed.deployment.workgroup,
        "SELECT count(*), sum(weight_pct), sum(theoretical_qty), count(company_rank), "
        "min(target_cycle), min(contract) "
        f"FROM \"default\".\"b3_index_preview\" WHERE dt = '{DT}' AND index_code = 'IBOV'",
    )
    header = recorded["header"]
    (count, weight, qty, ranked, target, contract) = preview[0]
    assert (int(count), Decimal(weight), int(qty), int(ranked)) == (
        92,
        pt_br(header["part"]),
        int(pt_br(header["theoricalQty"])),
        0,  # the preview made from the recording has no cont
    )
    assert (target, contract) == ("2023-01", "unverified")

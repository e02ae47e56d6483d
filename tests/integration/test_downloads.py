"""B3's CSV downloads into the lake: one dropped under ``inbox/`` (the S3-event path), and a
folder backfilled in one execution and one Glue run, from re-dated copies of B3's downloads
(of 2025-07-10, and of Jan.-Apr. 2025's four-month portfolio): every number is B3's."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from services.pipeline import settings
from services.pipeline.lake.storage import S3Lake
from services.tool.cli import landed
from services.tool.local.deploy import LOCAL, Deployed, deploy
from services.tool.local.run import Outcome, executions, follow, summary, wait_for_execution
from services.tool.local.samples import business_days
from tests.aws_clients import aws, refined_rows
from tests.recordings import FIXTURES, pt_br

pytestmark = pytest.mark.spark
THEORETICAL = settings.REFINED_THEORETICAL_PREFIX

RECORDED = (FIXTURES / "IBOVDia_10-07-25.csv").read_bytes()
QUAD = (FIXTURES / "IBOVQuad_1-2025.csv").read_bytes()


def expected(data: bytes) -> dict[str, tuple[Decimal, Decimal]]:
    lines = data.decode("latin-1").splitlines()[2:-2]
    fields = (line.split(";") for line in lines)
    return {cod: (pt_br(part), pt_br(qty)) for cod, _, _, qty, part, _ in fields}


def weights(bucket: str, dt: date, table: str = "refined") -> dict[str, tuple[Any, Any]]:
    rows = refined_rows(bucket, "IBOV", str(dt), table)
    return {ticker: (r["weight_pct"], r["theoretical_qty"]) for ticker, r in rows.items()}


def download(day: date, data: bytes = RECORDED) -> tuple[str, bytes]:
    """B3's download of 2025-07-10 re-dated to ``day``: its name and bytes."""
    return f"IBOVDia_{day:%d-%m-%y}.csv", data.replace(
        b"Dia 10/07/25", f"Dia {day:%d/%m/%y}".encode()
    )


@pytest.fixture(scope="module")
def stack(aws_endpoint: str) -> Deployed:
    return deploy(LOCAL)


def drop(stack: Deployed, name: str, data: bytes) -> Outcome:
    known = executions(stack)
    aws("s3").put_object(Bucket=stack.bucket, Key=f"inbox/{name}", Body=data)
    return follow(wait_for_execution(stack, f"s3://{stack.bucket}/inbox/{name}", known))


def versions(stack: Deployed) -> set[tuple[str, str]]:
    """Every version of every object under raw/ and refined/."""
    s3: Any = aws("s3")
    pages = s3.get_paginator("list_object_versions").paginate(Bucket=stack.bucket)
    return {
        (v["Key"], v["VersionId"])
        for page in pages
        for v in page.get("Versions", []) + page.get("DeleteMarkers", [])
        if v["Key"].startswith(("raw/", "refined/"))
    }


def test_a_download_dropped_in_the_inbox_is_refined_exactly_and_once(stack: Deployed) -> None:
    day, lake = date(2024, 12, 2), S3Lake(stack.bucket)
    name, data = download(day)
    assert drop(stack, name, data).status == "SUCCEEDED"
    assert weights(stack.bucket, day) == expected(RECORDED)
    rows = refined_rows(stack.bucket, "IBOV", str(day))
    assert {r["sector"] for r in rows.values()} == {None}  # the download has none
    files = {key: lake.read_bytes(key) for key in lake.list(f"refined/dt={day}/")}
    again = drop(stack, name, data)  # the same file once more: the same lake
    (row,) = summary(stack, again)["indices"]
    assert (row["status"], row["kept"]) == (
        "refined",
        f"raw/ holds this download of {row['index']} {day} already",
    )
    assert {key: lake.read_bytes(key) for key in lake.list(f"refined/dt={day}/")} == files
    # a download the contract refuses: nothing under raw/ or refined/ changes
    before = versions(stack)
    name, broken = download(date(2024, 12, 3), RECORDED.replace(b"Redutor;;;", b"Redutor;;"))
    failed = drop(stack, name, broken)
    assert failed.status == "FAILED"
    assert f"{name}: line 88 (Redutor)" in str(summary(stack, failed)["cause"])
    assert versions(stack) == before


def test_a_four_month_download_dropped_in_the_inbox_is_its_cycles_theoretical_portfolio(
    stack: Deployed,
) -> None:
    outcome = drop(stack, "IBOVQuad_1-2025.csv", QUAD)
    assert outcome.status == "SUCCEEDED", summary(stack, outcome).get("cause")
    assert weights(stack.bucket, date(2025, 1, 2), THEORETICAL) == expected(QUAD)
    rows = refined_rows(stack.bucket, "IBOV", "2025-01-02", THEORETICAL)
    assert {(r["cycle"], r["company_rank"]) for r in rows.values()} == {("2025-01", None)}


def test_a_folder_is_backfilled_in_one_execution_and_one_glue_run(
    stack: Deployed, tmp_path: Path
) -> None:
    days = business_days(date(2024, 10, 31), 20)
    for day in days:
        name, data = download(day)
        (tmp_path / name).write_bytes(data)
    (tmp_path / "carteira (1).csv").write_bytes(download(days[0])[1])  # a day twice
    (tmp_path / "IBOVQuad_3-2024.csv").write_bytes(
        QUAD.replace(b"Jan. a Abr. 2025", b"Set. a Dez. 2024")
    )
    name, broken = download(date(2024, 11, 1), RECORDED.replace(b"476.976.044", b"476.976.045"))
    (tmp_path / name).write_bytes(broken)
    glue: Any = aws("glue")
    runs = {r["Id"] for r in glue.get_job_runs(JobName=LOCAL.glue_job)["JobRuns"]}
    refused: list[str] = []
    outcome = follow(landed(sorted(tmp_path.glob("*.csv")), refused)(stack))
    assert outcome.status == "SUCCEEDED", summary(stack, outcome).get("cause")
    assert [line.split(":")[0] for line in refused] == [
        f"refused {name}",
        "refused carteira (1).csv",
    ]
    new = [r for r in glue.get_job_runs(JobName=LOCAL.glue_job)["JobRuns"] if r["Id"] not in runs]
    assert len(new) == 1
    result = summary(stack, outcome)
    assert sorted((r["dt"], r["status"], r["athena_count"]) for r in result["indices"]) == [
        (str(day), "refined", 84) for day in days
    ]
    for day in (days[0], days[-1]):
        assert weights(stack.bucket, day) == expected(RECORDED)
    (ahead,) = result["ahead"]  # the four-month portfolio, in the same run
    assert (ahead["dt"], ahead["refined_rows"]) == ("2024-09-02", 87)
    assert weights(stack.bucket, date(2024, 9, 2), THEORETICAL) == expected(QUAD)

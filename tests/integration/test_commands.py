"""``bovespa demo`` and ``bovespa ingest``, as a user runs them (processes, real output)."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from services.pipeline.lake.raw import to_parquet_bytes, to_table
from services.pipeline.lake.storage import S3Lake
from services.tool.local.deploy import LOCAL
from services.tool.local.replay import demo_cases
from services.tool.local.run import refine_executions
from tests.aws_clients import aws
from tests.ibra import from_csv
from tests.lakes import on_day, recorded_portfolio
from tests.recordings import SEGMENT2_2025_07_10, load, pt_br

pytestmark = pytest.mark.spark

INGESTED = date(2025, 7, 16)


def bovespa(*args: str, state: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "BOVESPA_STATE_DIR": str(state)}
    return subprocess.run(
        [sys.executable, "-m", "services.tool.cli", *args],
        capture_output=True, text=True, timeout=900, env=env, check=False,
    )  # fmt: skip


def test_demo_runs_three_indices_in_one_execution_and_writes_the_report(
    aws_endpoint: str, tmp_path: Path
) -> None:
    glue: Any = aws("glue")
    runs_before = {r["Id"] for r in glue.get_job_runs(JobName=LOCAL.glue_job)["JobRuns"]}
    done = bovespa("demo", state=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    # a summary line per execution: the day of three indices, then the portfolio ahead
    *_, line, ahead_line = done.stdout.strip().splitlines()
    summary: dict[str, Any] = json.loads(line)
    assert summary["status"] == "SUCCEEDED"
    assert [s["step"] for s in summary["steps"]] == [
        "Scrape and validate", "Glue job", "Crawler", "Athena smoke query", "Check",
    ]  # fmt: skip
    rows = {(r["index"], r["dt"]): r for r in summary["indices"]}
    expected = {("IBOV", "2025-07-10"): 84, ("IBRA", "2021-06-22"): 179,
                ("IBXX", "2024-11-12"): 100}  # fmt: skip
    assert set(rows) == set(expected)
    for key, n in expected.items():
        row = rows[key]
        assert (row["status"], row["raw_rows"], row["refined_rows"]) == ("refined", n, n), key
        assert (row["refined_files"], row["athena_count"]) == (n, n), key
    # one refine execution, one Glue job run and one crawl for the three indices
    runs = [r for r in glue.get_job_runs(JobName=LOCAL.glue_job)["JobRuns"]
            if r["Id"] not in runs_before]  # fmt: skip
    asked = sorted(
        sorted((o["index"], o["dt"]) for o in json.loads(run["Arguments"]["--objects"]))
        for run in runs
    )
    assert asked == [[("IBOV", "2022-12-08")], sorted(expected)]
    sfn: Any = aws("stepfunctions")
    (refine,) = refine_executions(sfn, summary["execution"])
    history = sfn.get_execution_history(executionArn=refine, maxResults=1000)
    crawls = [
        e for e in history["events"]
        if e["type"] == "TaskSucceeded"
        and e["taskSucceededEventDetails"]["resource"].endswith("glue:startCrawler")
    ]  # fmt: skip
    assert (len(crawls), summary["glue_runs"], summary["crawls"]) == (1, 1, 1)
    # the refined rows are the recordings', the two-page IBRA's those of B3's CSV of the day
    lake = S3Lake(LOCAL.lake_bucket)
    for index, dt in expected:
        body = load(demo_cases((index,))[(index, "2")])
        recorded = {
            r["cod"]: (pt_br(r["part"]), int(pt_br(r["theoricalQty"]))) for r in body["results"]
        }
        assert refined_of(lake, index, dt) == recorded, index
    csv = from_csv()
    ibra = {t: (r.weight, r.qty) for t, r in csv.rows.items()}
    assert refined_of(lake, "IBRA", "2021-06-22") == ibra
    assert "IBXX" in done.stderr  # the indices table
    report = tmp_path / "reports" / "report-IBOV-2025-07-10.html"
    assert report.is_file()
    assert str(report) in done.stderr
    assert "Pipeline execution" in done.stderr
    # the portfolio ahead: IBOV on 2022-12-08, its recorded theoretical portfolio and a
    # preview made from it, refined into their own tables in the same Glue run as the day
    ahead: dict[str, Any] = json.loads(ahead_line)
    assert ahead["status"] == "SUCCEEDED"
    assert [(r["index"], r["dt"], r["athena_count"]) for r in ahead["indices"]] == [
        ("IBOV", "2022-12-08", 92)
    ]
    assert sorted((a["dataset"], a["status"], a["refined_rows"]) for a in ahead["ahead"]) == [
        ("preview", "stored", 92),
        ("theoretical", "stored", 92),
    ]
    assert "refined 92 rows in default.b3_index_theoretical" in done.stderr
    # and its report compares the day with its cycle's theoretical portfolio (IRBR3 moved)
    report = tmp_path / "reports" / "report-IBOV-2022-12-08.html"
    page = report.read_text(encoding="utf-8")
    assert "Quantities moved since the rebalance" in page
    assert "IRBR3" in page


def refined_of(lake: S3Lake, index: str, dt: str) -> dict[str, tuple[Decimal, int]]:
    found = {}
    for key in lake.list(f"refined/dt={dt}/index_code={index}/"):
        (row,) = pq.read_table(io.BytesIO(lake.read_bytes(key))).to_pylist()
        ticker = key.split("ticker=")[1].split("/")[0]  # a partition: in the path only
        found[ticker] = (row["weight_pct"], row["theoretical_qty"])
    return found


@pytest.fixture(scope="module")
def ingested(aws_endpoint: str, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Any]:
    """A good raw file for 2025-07-16 ingested: dropped under inbox/, promoted to raw/."""
    state = tmp_path_factory.mktemp("ingest")
    file = state / "portfolio.parquet"
    file.write_bytes(
        to_parquet_bytes(to_table(on_day(recorded_portfolio(SEGMENT2_2025_07_10), INGESTED)))
    )
    done = bovespa("ingest", str(file), state=state)
    assert done.returncode == 0, done.stderr[-3000:]
    return file, json.loads(done.stdout.strip().splitlines()[-1])


def test_ingest_drops_a_file_and_follows_the_inbox_path(ingested: tuple[Path, Any]) -> None:
    file, summary = ingested
    (row,) = summary["indices"]
    assert (summary["status"], row["dt"], row["refined_rows"]) == ("SUCCEEDED", "2025-07-16", 84)
    assert row["athena_count"] == 84
    assert summary["steps"][0]["step"] == "Scrape and validate"
    assert summary["execution"].split(":")[-1].startswith("inbox-IBOV-2025-07-16-")
    # the file was dropped under inbox/, and the raw object refined is its promoted copy
    s3: Any = aws("s3")
    for prefix in ("inbox", "raw"):
        key = f"{prefix}/index=IBOV/dt={INGESTED}/portfolio.parquet"
        assert s3.get_object(Bucket=LOCAL.lake_bucket, Key=key)["Body"].read() == file.read_bytes()
    assert row["raw"] == f"s3://{LOCAL.lake_bucket}/raw/index=IBOV/dt={INGESTED}/portfolio.parquet"


def test_a_file_the_contract_refuses_never_replaces_the_good_day(
    ingested: tuple[Path, Any], tmp_path: Path
) -> None:
    """Finding 3: a good day, then a float-weight file for the same day."""
    good, _ = ingested
    table = to_table(on_day(recorded_portfolio(SEGMENT2_2025_07_10), INGESTED))
    part = table.schema.get_field_index("part")
    bad = tmp_path / "portfolio.parquet"
    bad.write_bytes(
        to_parquet_bytes(table.set_column(part, "part", table["part"].cast(pa.float64())))
    )
    done = bovespa("ingest", str(bad), state=tmp_path)
    assert done.returncode == 12  # ContractViolation
    (line,) = [line for line in done.stderr.splitlines() if line.strip()]
    assert line.startswith("error SchemaMismatch: raw schema check failed: part is double")
    s3: Any = aws("s3")
    key = f"raw/index=IBOV/dt={INGESTED}/portfolio.parquet"
    raw = s3.get_object(Bucket=LOCAL.lake_bucket, Key=key)["Body"].read()
    assert raw == good.read_bytes()  # byte for byte the good file

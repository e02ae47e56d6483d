"""``bovespa demo`` and ``bovespa ingest``, as a user runs them (processes, real output)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import date
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from services.lake.raw import to_parquet_bytes, to_table
from services.local.deploy import LOCAL, lake_bucket
from tests.conftest import SEGMENT2_2025_07_10
from tests.integration.conftest import aws
from tests.lakes import on_day, recorded_portfolio

pytestmark = [pytest.mark.integration, pytest.mark.spark]

INGESTED = date(2025, 7, 16)


def bovespa(*args: str, state: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "BOVESPA_STATE_DIR": str(state)}
    return subprocess.run(
        [sys.executable, "-m", "services.cli", *args],
        capture_output=True, text=True, timeout=600, env=env, check=False,
    )  # fmt: skip


def test_demo_runs_the_pipeline_offline_and_writes_the_report(
    aws_endpoint: str, tmp_path: Path
) -> None:
    done = bovespa("demo", state=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    summary: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    assert summary["status"] == "SUCCEEDED"
    assert (summary["dt"], summary["raw_rows"], summary["refined_rows"]) == ("2025-07-10", 84, 84)
    assert (summary["refined_files"], summary["athena_count"]) == (84, 84)
    assert [s["step"] for s in summary["steps"]] == [
        "Scrape", "Validate", "Glue job", "Crawler", "Athena smoke query", "Check",
    ]  # fmt: skip
    report = tmp_path / "reports" / "report-IBOV-2025-07-10.html"
    assert report.is_file()
    assert str(report) in done.stderr
    assert "Pipeline execution" in done.stderr


@pytest.fixture(scope="module")
def ingested(aws_endpoint: str, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Any]:
    """A good raw file for 2025-07-16 ingested through the S3-event path."""
    state = tmp_path_factory.mktemp("ingest")
    file = state / "portfolio.parquet"
    file.write_bytes(
        to_parquet_bytes(to_table(on_day(recorded_portfolio(SEGMENT2_2025_07_10), INGESTED)))
    )
    done = bovespa("ingest", str(file), state=state)
    assert done.returncode == 0, done.stderr[-3000:]
    return file, json.loads(done.stdout.strip().splitlines()[-1])


def test_ingest_drops_a_file_and_follows_the_s3_event_path(ingested: tuple[Path, Any]) -> None:
    _, summary = ingested
    assert (summary["status"], summary["dt"], summary["refined_rows"]) == (
        "SUCCEEDED",
        "2025-07-16",
        84,
    )
    assert summary["steps"][0]["step"] == "Validate"
    assert summary["execution"].split(":")[-1].startswith("s3-IBOV-2025-07-16-")


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
    assert done.returncode == 1
    (line,) = [line for line in done.stderr.splitlines() if line.strip()]
    assert line.startswith("error SchemaMismatch: raw schema check failed: part is double")
    s3: Any = aws("s3")
    key = f"raw/index=IBOV/dt={INGESTED}/portfolio.parquet"
    raw = s3.get_object(Bucket=lake_bucket(LOCAL), Key=key)["Body"].read()
    assert raw == good.read_bytes()  # byte for byte the good file

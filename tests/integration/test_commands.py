"""``bovespa demo`` and ``bovespa ingest``, as a user runs them (processes, real output)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from services.lake.raw import to_parquet_bytes, to_table
from tests.conftest import SEGMENT2_2025_07_10
from tests.lakes import on_day, recorded_portfolio

pytestmark = [pytest.mark.integration, pytest.mark.spark]


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


def test_ingest_drops_a_file_and_follows_the_s3_event_path(
    aws_endpoint: str, tmp_path: Path
) -> None:
    day = date(2025, 7, 16)
    file = tmp_path / "portfolio.parquet"
    file.write_bytes(
        to_parquet_bytes(to_table(on_day(recorded_portfolio(SEGMENT2_2025_07_10), day)))
    )
    done = bovespa("ingest", str(file), state=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    assert (summary["status"], summary["dt"], summary["refined_rows"]) == (
        "SUCCEEDED",
        "2025-07-16",
        84,
    )
    assert summary["steps"][0]["step"] == "Validate"
    assert summary["execution"].split(":")[-1].startswith("s3-IBOV-2025-07-16-")

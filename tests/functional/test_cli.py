"""``bovespa scrape``: the contract other tools rely on (last stdout line is JSON, exit codes)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from services.pipeline.lake.raw import raw_key
from services.pipeline.lake.storage import LocalLake
from services.tool.local.replay import Fault, ReplayServer
from services.tool.local.run import fold
from services.tool.local.samples import redate_body
from tests.lakes import recorded_portfolio, write_days
from tests.recordings import CLOUDFLARE_520, SEGMENT2_2025_07_10, load

JULY_10 = date(2025, 7, 10)

BOVESPA = [sys.executable, "-m", "services.tool.cli"]


def bovespa(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*BOVESPA, *args], capture_output=True, text=True, timeout=120, env=env, check=False
    )


def test_scrape_prints_the_summary_as_the_last_stdout_line(
    replay: ReplayServer, tmp_path: Path
) -> None:
    done = bovespa(
        "scrape", "--index", "IBOV", "--lake", str(tmp_path), "--base-url", replay.base_url,
        "--as-of", "2025-07-10T08:00",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    assert {k: summary[k] for k in ("index", "dt", "rows")} == {
        "index": "IBOV",
        "dt": "2025-07-10",
        "rows": 84,
    }
    assert Path(summary["uri"]).is_file()
    assert len(summary["sha256"]) == 64


def test_failure_is_one_stderr_line_and_a_non_zero_exit(
    replay: ReplayServer, tmp_path: Path
) -> None:
    page = CLOUDFLARE_520.read_bytes()
    replay.inject(*[Fault(status=520, body=page, content_type="text/html")] * 5)
    done = bovespa("scrape", "--lake", str(tmp_path), "--base-url", replay.base_url)
    assert done.returncode == 3
    assert done.stdout == ""
    lines = [line for line in done.stderr.splitlines() if line.startswith("error ")]
    assert len(lines) == 1
    assert lines[0].startswith("error B3Unavailable: B3 unavailable after 5 attempts")
    assert list(tmp_path.rglob("*")) == []


def error_lines(done: subprocess.CompletedProcess[str]) -> list[str]:
    return [line for line in done.stderr.splitlines() if line.strip()]


def test_a_weight_too_large_for_its_column_is_schema_drift_exit_4(tmp_path: Path) -> None:
    document = load(SEGMENT2_2025_07_10)
    document["results"][2]["partAcum"] = "12.345,678"
    with ReplayServer({("IBOV", "2"): json.dumps(document).encode()}) as server:
        done = bovespa("scrape", "--lake", str(tmp_path), "--base-url", server.base_url)
    assert done.returncode == 4, done.stderr
    assert error_lines(done) == [
        "error SchemaDrift: field 'results[VAMO3].partAcum': '12.345,678' is larger than "
        "decimal(7,3) holds (9999.999)"
    ]
    assert list(tmp_path.rglob("*")) == []


@pytest.mark.parametrize(
    ("index", "dt", "refusal"),
    [
        ("IB/OV", "2025-07-10", "error BadArgument: index code 'IB/OV' is not"),
        ("IBOV", "20250710", "error BadArgument: --dt '20250710' is not a YYYY-MM-DD day"),
        ("IBOV", "2025-W28-4", "error BadArgument: --dt '2025-W28-4' is not a YYYY-MM-DD day"),
    ],
)
def test_ingest_refuses_a_bad_index_or_date_at_once(
    tmp_path: Path, index: str, dt: str, refusal: str
) -> None:
    """Bad codes are unit-tested (test_codes.py); here: refused before any AWS call."""
    raw = tmp_path / "portfolio.parquet"
    write_days(LocalLake(tmp_path / "lake"), recorded_portfolio(SEGMENT2_2025_07_10), [JULY_10])
    raw.write_bytes((tmp_path / "lake" / raw_key("IBOV", JULY_10)).read_bytes())
    env = {**os.environ, "AWS_ENDPOINT_URL": "http://127.0.0.1:9"}  # nothing listens there
    done = bovespa("ingest", str(raw), "--index", index, "--dt", dt, env=env)
    assert done.returncode == 2, done.stderr
    (line,) = error_lines(done)
    assert line.startswith(refusal)


@pytest.mark.parametrize(
    ("sql", "why"),
    [
        ('DROP TABLE "default"."b3_index_portfolio"', "not DROP"),
        ("SELECT * FROM read_text('/etc/passwd')", "table must be a plain name"),
        ("COPY (SELECT 1) TO '/tmp/x.csv'", "not COPY"),
        ("SELECT 1; SELECT 2", "one statement at a time"),
        ("DROP\tTABLE\tx", "not DROP"),  # SQL, not a saved query's name
    ],
)
def test_query_refuses_anything_but_one_read_only_statement(sql: str, why: str) -> None:
    env = {**os.environ, "AWS_ENDPOINT_URL": "http://127.0.0.1:9"}  # never reached
    done = bovespa("query", sql, env=env)
    assert done.returncode == 16, done.stderr
    lines = error_lines(done)
    assert len(lines) == 1
    assert lines[0].startswith("error QueryRefused: ")
    assert why in lines[0]
    assert done.stdout == ""


@pytest.mark.parametrize(
    "args",
    [["report", "--dt", "notadate"], ["report", "--dt", "2025-13-01"],
     ["scrape", "--base-url", "file:///etc/passwd"], ["scrape", "--base-url", "ftp://b3.example/x"]],
)  # fmt: skip
def test_a_bad_day_or_url_exits_2_in_one_line_before_anything_runs(
    tmp_path: Path, args: list[str]
) -> None:
    env = {**os.environ, "AWS_ENDPOINT_URL": "http://127.0.0.1:9"}  # never reached
    done = bovespa(*args, *(["--lake", str(tmp_path)] if args[0] == "scrape" else []), env=env)
    assert done.returncode == 2, done.stderr
    (line,) = error_lines(done)
    assert line.startswith(f"error BadArgument: {args[1]} {args[2]!r} is not ")
    assert list(tmp_path.rglob("*")) == []


def test_a_holiday_portfolio_exits_8_naming_the_holiday(tmp_path: Path) -> None:
    body = redate_body(SEGMENT2_2025_07_10.read_bytes(), date(2025, 12, 25))
    with ReplayServer({("IBOV", "2"): body}) as server:
        done = bovespa("scrape", "--lake", str(tmp_path), "--base-url", server.base_url)
    assert done.returncode == 8
    assert done.stdout == ""
    lines = [line for line in done.stderr.splitlines() if line.startswith("error ")]
    assert lines == ["error NotATradingDay: dt=2025-12-25 is not a B3 session: Natal"]
    assert list(tmp_path.rglob("*")) == []


@pytest.mark.parametrize(
    ("validated", "status", "retries"), [([], "failed", 3), ([{}], "succeeded", 4)]
)
def test_a_map_whose_every_iteration_failed_shows_failed(
    validated: list[dict[str, str]], status: str, retries: int
) -> None:
    """``make run`` without B3 showed ``Scrape and validate`` succeeded, its one index failed."""
    at = datetime(2026, 1, 1, tzinfo=UTC)

    def event(kind: str, **details: str) -> dict[str, Any]:
        return {"type": kind, "timestamp": at, "stateEnteredEventDetails": details}

    output = json.dumps({"validated": validated, "failed": [{"target": "IBOV"}], "ahead": []})
    events = [event("MapStateEntered", name="ScrapeIndices"), *[event("TaskFailed")] * 4,
              event("MapStateExited", name="ScrapeIndices", output=output),
              event("WaitStateEntered", name="WaitBeforeRetry", input=output),
              event("WaitStateExited", name="WaitBeforeRetry", output=output)]  # fmt: skip
    steps = [(s.name, s.status, s.retries) for s in fold(events).steps]
    assert steps == [
        ("Scrape and validate", status, retries),
        ("Wait before retry", "succeeded", 0),
    ]

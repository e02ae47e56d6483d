"""``bovespa scrape``: the contract other tools rely on (last stdout line is JSON, exit codes)."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import date
from pathlib import Path

from services import settings
from services.local.replay import Fault, ReplayServer
from services.local.samples import redate_body
from tests.conftest import CLOUDFLARE_520, SEGMENT2_2025_07_10

BOVESPA = [sys.executable, "-m", "services.cli"]


def bovespa(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*BOVESPA, *args], capture_output=True, text=True, timeout=120, env=env, check=False
    )


def test_scrape_prints_the_summary_as_the_last_stdout_line(
    replay: ReplayServer, tmp_path: Path
) -> None:
    done = bovespa(
        "scrape", "--index", "IBOV", "--lake", str(tmp_path), "--base-url", replay.base_url
    )
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    assert {k: summary[k] for k in ("index", "dt", "rows")} == {
        "index": "IBOV",
        "dt": "2025-07-10",
        "rows": 84,
    }
    assert Path(summary["uri"]).is_file()
    assert len(summary["sha256"]) == 64


def test_base_url_from_the_environment(replay: ReplayServer, tmp_path: Path) -> None:
    import os

    env = {**os.environ, "B3_BASE_URL": replay.base_url, "LAKE_URI": str(tmp_path)}
    done = bovespa("scrape", env=env)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.splitlines()[-1])["uri"].startswith(str(tmp_path))


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


def test_a_holiday_portfolio_exits_8_naming_the_holiday(tmp_path: Path) -> None:
    import os

    body = redate_body(SEGMENT2_2025_07_10.read_bytes(), date(2025, 12, 25))
    env = {**os.environ, settings.CLOCK_ENV: "2025-12-24T20:00:00-03:00"}
    with ReplayServer({("IBOV", "2"): body}) as server:
        done = bovespa("scrape", "--lake", str(tmp_path), "--base-url", server.base_url, env=env)
    assert done.returncode == 8
    assert done.stdout == ""
    lines = [line for line in done.stderr.splitlines() if line.startswith("error ")]
    assert lines == ["error NotATradingDay: dt=2025-12-25 is not a B3 session: Natal"]
    assert list(tmp_path.rglob("*")) == []

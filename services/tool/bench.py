"""``make bench``: performance figures for this machine, printed as tables and recorded.

* ``make demo`` cold: a fresh emulator with empty state, deployment, every step of the
  first execution (the demo's three indices: the Map, the one Glue run, crawl and smoke
  query) and each index's rows; the wall time and the peak memory of all the processes
  together cover the whole command, the second execution (IBOV's portfolio ahead) and
  both reports included.
* The scraper's and Validate's own work, in this process (warm): a B3 page scraped from
  the replay server, a raw object validated -- what a Lambda invocation bills.
* The Glue job alone: each run a fresh process (``python -m glue.job``), so its figure
  includes Spark's cold start: one day of IBOV, 20 and 250 days of it (generated from B3's
  recorded 2025-07-10 answer), and one day of every index B3 publishes, in one run, as
  the daily execution refines them (test-made days of each index's size from the three
  recordings' assets: :func:`services.tool.local.samples.sized_like`).

What it measured is written to ``services/tool/measured.json``, the one record the cost model
(``services/deploy/cost.py``) reads; the README's "Measured" section quotes it.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from services.deploy.cost import MEASURED_FILE
from services.pipeline import settings
from services.pipeline.b3.client import RetryPolicy
from services.pipeline.b3.indices import INDICES
from services.pipeline.lake.storage import LocalLake
from services.pipeline.scraper.scrape import scrape
from services.pipeline.validate.contract import validate
from services.tool.local.emulator import Emulator, port_taken
from services.tool.local.replay import DEMO_RECORDINGS, ReplayServer, demo_cases
from services.tool.local.samples import business_days, recorded_portfolio, sized_like, write_days

LAST_DAY = "2025-07-10"
SIZES = (1, 20, 250)
#: Where the measurements go (read by services/deploy/cost.py).
#: The index scraped for the per-page figure: two B3 pages.
PAGED = "IBRA"


def machine() -> str:
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return (
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"{memory:.0f} GiB, Python {platform.python_version()}"
    )


def run_job(lake: str, *args: str) -> tuple[float, dict[str, Any]]:
    """The Glue job in a fresh process, no catalogue: wall seconds and its summary."""
    began = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "glue.job", "--lake", lake, "--catalog", "false", *args],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    wall = time.monotonic() - began
    summary: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return wall, summary


def bench_etl(days: int) -> dict[str, float | int]:
    """Wall time of the Glue job (local engine, no catalogue) over ``days`` days of IBOV."""
    portfolio = recorded_portfolio()
    with tempfile.TemporaryDirectory(prefix="bovespa-bench-") as lake:
        dates = business_days(portfolio.trading_date, days)
        write_days(LocalLake(lake), portfolio, dates)
        wall, summary = run_job(
            lake, "--start", dates[0].isoformat(), "--end", dates[-1].isoformat()
        )
    return _figures(f"{days} day(s) of IBOV", days, wall, summary)


def bench_every_index() -> dict[str, float | int]:
    """Wall time of the Glue job over one day of every index B3 publishes, in one run."""
    day = date.fromisoformat(LAST_DAY)
    recordings = [
        recorded_portfolio(path, index)
        for (index, segment), path in demo_cases().items()
        if segment == "2"
    ]
    with tempfile.TemporaryDirectory(prefix="bovespa-bench-") as lake:
        for code, index in INDICES.items():
            write_days(LocalLake(lake), sized_like(code, index.members, recordings, day), [day])
        wall, summary = run_job(lake, "--dt", LAST_DAY)
    return _figures(f"1 day of all {len(INDICES)} indices", 1, wall, summary)


def _figures(label: str, days: int, wall: float, summary: dict[str, Any]) -> dict[str, Any]:
    return {
        "run": label,
        "days": days,
        "wall_s": round(wall, 1),
        "rows": summary["rows"],
        "files": summary["files"],
        "rows_per_s": round(summary["rows"] / wall),
    }


def bench_lambdas(repeat: int = 5) -> dict[str, float]:
    """The scraper's work per B3 page and Validate's per object, warm, in this process."""
    fast = RetryPolicy(attempts=1, initial_wait=0.01, max_wait=0.01)
    scraped: list[float] = []
    validated: list[float] = []
    with ReplayServer(demo_cases((PAGED,))) as server, tempfile.TemporaryDirectory() as lake:
        for attempt in range(repeat + 1):
            began = time.monotonic()
            summary = scrape(PAGED, lake_uri=lake, base_url=server.base_url, policy=fast)
            middle = time.monotonic()
            validate(summary["uri"], lake=LocalLake(lake))
            if attempt:  # the first is the warm-up (imports, connections)
                scraped.append((middle - began) / summary["pages"])
                validated.append(time.monotonic() - middle)
    return {
        "scrape_page_s": round(sorted(scraped)[len(scraped) // 2], 2),
        "validate_s": round(sorted(validated)[len(validated) // 2], 2),
    }


def tree_rss(root: int) -> int:
    """Resident memory (bytes) of ``root`` and all its descendants, from /proc."""
    parent: dict[int, int] = {}
    rss: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            status = Path(f"/proc/{entry}/status").read_text()
        except OSError:
            continue
        fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        parent[int(entry)] = int(fields.get("PPid", "0").strip())
        rss[int(entry)] = int(fields.get("VmRSS", "0 kB").split()[0]) * 1024
    family, frontier = {root}, [root]
    while frontier:
        pid = frontier.pop()
        children = [child for child, ppid in parent.items() if ppid == pid]
        family.update(children)
        frontier.extend(children)
    return sum(rss.get(pid, 0) for pid in family)


def bench_demo() -> dict[str, Any]:
    """``bovespa demo`` on a cold emulator with empty state; timings and peak memory."""
    if port_taken(settings.EMULATOR_HOST, settings.EMULATOR_PORT):
        raise SystemExit(
            f"port {settings.EMULATOR_PORT} is in use: stop the emulator (make local-down) first"
        )
    with tempfile.TemporaryDirectory(prefix="bovespa-bench-state-") as state:
        env = {**os.environ, "BOVESPA_STATE_DIR": state}
        began = time.monotonic()
        process = subprocess.Popen(
            [sys.executable, "-m", "services.tool.cli", "demo"],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        )  # fmt: skip
        peak = 0
        while process.poll() is None:
            peak = max(peak, tree_rss(process.pid))
            time.sleep(0.2)
        wall = time.monotonic() - began
        stdout = process.stdout.read() if process.stdout else ""
        Emulator(state_dir=Path(state) / "ministack").stop()
    if process.returncode != 0:
        raise SystemExit(f"bovespa demo failed (exit {process.returncode})")
    # a summary line per execution: the day's three indices first, then the portfolio ahead
    # (IBOV 2022-12-08, services/tool/local/replay.py demo_ahead), which the wall time includes
    result: dict[str, Any] = json.loads(stdout.strip().splitlines()[0])
    result.update(wall_s=round(wall, 1), peak_memory_mib=round(peak / 2**20))
    return result


def record(
    demo: dict[str, Any], lambdas: dict[str, float], glue: list[dict[str, Any]]
) -> dict[str, Any]:
    """What the cost model reads, from this run (written to :data:`cost.MEASURED_FILE`)."""
    steps = {step["step"]: step["seconds"] for step in demo["steps"]}
    return {
        "source": f"make bench, {date.today().isoformat()}, {machine()}",
        "glue_runs": sorted([run["files"], run["wall_s"]] for run in glue),
        **lambdas,
        "athena_s": round(steps["Athena smoke query"], 1),
        "map": {
            "indices": len(demo["indices"]),
            "assets": sum(row["raw_rows"] for row in demo["indices"]),
            "seconds": round(steps["ScrapeIndices"], 1),
        },
        "refined_file_bytes": 8_640,
        "raw_asset_bytes": 280,
    }


def main() -> None:
    console = Console()
    console.print(f"[bold]Machine:[/] {machine()}")
    demo = bench_demo()
    table = Table(
        title=f"make demo, cold: {', '.join(DEMO_RECORDINGS)} in one execution "
        f"(the wall: the portfolio ahead's execution and both reports too)"
    )
    table.add_column("phase")
    table.add_column("seconds", justify="right")
    table.add_row("emulator start", str(demo["emulator_start_s"]))
    table.add_row("deployment", str(demo["deploy_s"]))
    for step in demo["steps"]:
        table.add_row(f"state: {step['step']}", f"{step['seconds']:.1f}")
    table.add_row("[bold]whole command (wall)[/]", f"[bold]{demo['wall_s']}[/]")
    table.add_row(
        "[bold]peak memory, all processes (MiB)[/]", f"[bold]{demo['peak_memory_mib']}[/]"
    )
    console.print(table)
    lambdas = bench_lambdas()
    console.print(
        f"scraper: {lambdas['scrape_page_s']} s a B3 page; validate: {lambdas['validate_s']} s"
    )
    table = Table(title="Glue job, local Spark (fresh process each: Spark start included)")
    for column in ("run", "wall (s)", "rows", "files written", "rows/s"):
        table.add_column(column, justify="right")
    glue = []
    for figures in (*(bench_etl(days) for days in SIZES), bench_every_index()):
        glue.append(figures)
        table.add_row(*(str(figures[k]) for k in ("run", "wall_s", "rows", "files", "rows_per_s")))
        console.print(f"  {figures['run']}: {figures['wall_s']} s")
    console.print(table)
    measured = record(demo, lambdas, glue)
    MEASURED_FILE.write_text(json.dumps(measured, indent=2) + "\n", encoding="utf-8")
    console.print(f"[bold]Recorded[/] {MEASURED_FILE.relative_to(settings.REPO_ROOT)}")


if __name__ == "__main__":
    main()

"""``make bench``: performance figures for this machine, printed as tables.

* ``make demo`` cold: a fresh emulator with empty state, deployment, every step of the
  execution, and the peak memory of all the processes together (sampled from /proc).
* The Glue job alone: each run a fresh process (``python -m glue.job``), so the 1-day
  figure includes Spark's cold start. Raw lakes are generated from B3's recorded
  2025-07-10 answer.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from services import settings
from services.lake.storage import LocalLake
from services.local.emulator import Emulator, port_taken
from services.local.samples import business_days, recorded_portfolio, write_days

LAST_DAY = "2025-07-10"
SIZES = (1, 20, 250)


def machine() -> str:
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return (
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"{memory:.0f} GiB, Python {platform.python_version()}"
    )


def bench_etl(days: int) -> dict[str, float | int]:
    """Wall time of the Glue job (local engine, no catalogue) over ``days`` days."""
    portfolio = recorded_portfolio()
    with tempfile.TemporaryDirectory(prefix="bovespa-bench-") as lake:
        dates = business_days(portfolio.trading_date, days)
        write_days(LocalLake(lake), portfolio, dates)
        began = time.monotonic()
        done = subprocess.run(
            [sys.executable, "-m", "glue.job", "--lake", lake, "--start", dates[0].isoformat(),
             "--end", dates[-1].isoformat(), "--catalog", "false"],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
        wall = time.monotonic() - began
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    return {
        "days": days,
        "wall_s": round(wall, 1),
        "rows": summary["rows"],
        "files": summary["files"],
        "rows_per_s": round(summary["rows"] / wall),
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


def bench_demo() -> dict[str, object]:
    """``bovespa demo`` on a cold emulator with empty state; timings and peak memory."""
    if port_taken(settings.EMULATOR_HOST, settings.EMULATOR_PORT):
        raise SystemExit("port 4566 is in use: stop the emulator (make local-down) first")
    with tempfile.TemporaryDirectory(prefix="bovespa-bench-state-") as state:
        env = {**os.environ, "BOVESPA_STATE_DIR": state}
        began = time.monotonic()
        process = subprocess.Popen(
            [sys.executable, "-m", "services.cli", "demo"],
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
    result: dict[str, object] = json.loads(stdout.strip().splitlines()[-1])
    result.update(wall_s=round(wall, 1), peak_memory_mib=round(peak / 2**20))
    return result


def main() -> None:
    console = Console()
    console.print(f"[bold]Machine:[/] {machine()}")
    demo = bench_demo()
    table = Table(title="make demo, cold (fresh emulator, empty state)")
    table.add_column("phase")
    table.add_column("seconds", justify="right")
    table.add_row("emulator start", str(demo["emulator_start_s"]))
    table.add_row("deployment", str(demo["deploy_s"]))
    for step in demo["steps"]:  # type: ignore[attr-defined]
        table.add_row(f"state: {step['step']}", f"{step['seconds']:.1f}")
    table.add_row("[bold]whole command (wall)[/]", f"[bold]{demo['wall_s']}[/]")
    table.add_row(
        "[bold]peak memory, all processes (MiB)[/]", f"[bold]{demo['peak_memory_mib']}[/]"
    )
    console.print(table)
    table = Table(title="Glue job, local Spark (fresh process each: Spark start included)")
    for column in ("days", "wall (s)", "rows", "files written", "rows/s"):
        table.add_column(column, justify="right")
    for days in SIZES:
        figures = bench_etl(days)
        table.add_row(*(str(figures[k]) for k in ("days", "wall_s", "rows", "files", "rows_per_s")))
        console.print(f"  {days} day(s): {figures['wall_s']} s")
    console.print(table)


if __name__ == "__main__":
    main()

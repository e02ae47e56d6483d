"""``make bench``: performance figures for this machine, printed as a table.

Each ETL run is a fresh process (``python -m glue.job``), so the 1-day figure includes
Spark's cold start. Raw lakes are generated from B3's recorded 2025-07-10 answer.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import tempfile
import time

from rich.console import Console
from rich.table import Table

from services.lake.storage import LocalLake
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


def main() -> None:
    console = Console()
    console.print(f"[bold]Machine:[/] {machine()}")
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

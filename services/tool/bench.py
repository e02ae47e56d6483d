"""``make bench``: this machine's figures (``make demo`` and a 60-day ``bovespa backfill``
cold, the Lambdas' work warm, the Glue job on re-dated days of IBOV in a warm Spark
runtime), printed and recorded in ``services/tool/measured.json``, which the cost model reads."""

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
from services.pipeline.lake.layout import raw_key
from services.pipeline.lake.storage import LocalLake
from services.pipeline.scraper.scrape import scrape
from services.pipeline.validate.contract import validate
from services.tool.local.deploy import served_at
from services.tool.local.emulator import Emulator, free_port, port_taken
from services.tool.local.glue_runtime import run_job
from services.tool.local.replay import ReplayServer, demo_cases
from services.tool.local.samples import business_days, recorded_portfolio, write_days

SIZES = (1, 20, 250)
#: The index scraped for the per-page figure: two B3 pages.
PAGED = "IBRA"
#: B3's download of a day, re-dated for the backfill figure (every number B3's).
DOWNLOAD = settings.FIXTURES_DIR / "IBOVDia_10-07-25.csv"


def machine() -> str:
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    cpu = platform.processor() or platform.machine()
    return f"{cpu}, {os.cpu_count()} cores, {memory:.0f} GiB, Python {platform.python_version()}"


def bench_glue(sizes: tuple[int, ...] = SIZES) -> list[dict[str, Any]]:
    """The Glue job over each number of days of IBOV, in one warm Spark runtime (warmed on
    one day first, as the runtime warms itself)."""
    portfolio, figures = recorded_portfolio(), []
    for days in (1, *sizes):
        with tempfile.TemporaryDirectory(prefix="bovespa-bench-") as scratch:
            lake, dates = LocalLake(scratch), business_days(portfolio.trading_date, days)
            write_days(lake, portfolio, dates)
            pins = [validate(lake.uri_of(raw_key("IBOV", day)), lake=lake) for day in dates]
            began = time.monotonic()
            argv = ["--lake", scratch, "--objects", json.dumps(pins), "--catalog", "false"]
            done = run_job(argv, {})
            wall = time.monotonic() - began
        if done["code"]:
            raise SystemExit(f"the Glue job failed on {days} day(s): {done['error']}")
        summary = json.loads(done["stdout"].strip().splitlines()[-1])
        figures.append({
            "run": f"{days} day(s) of IBOV", "wall_s": round(wall, 1), "rows": summary["rows"],
            "files": summary["files"], "rows_per_s": round(summary["rows"] / wall),
        })  # fmt: skip
    return figures[1:]  # not the warm-up


def bench_lambdas(repeat: int = 5) -> dict[str, float]:
    """The scraper's work per B3 page and Validate's per object, warm (medians)."""
    fast = RetryPolicy(attempts=1, initial_wait=0.01, max_wait=0.01)
    seconds: dict[str, list[float]] = {"scrape_page_s": [], "validate_s": []}
    with ReplayServer(demo_cases((PAGED,))) as server, tempfile.TemporaryDirectory() as lake:
        for attempt in range(repeat + 1):
            began = time.monotonic()
            now = served_at(server.cases[PAGED, settings.B3_SEGMENT])
            summary = scrape(PAGED, lake_uri=lake, base_url=server.base_url, policy=fast, now=now)
            middle = time.monotonic()
            validate(summary["uri"], lake=LocalLake(lake))
            if attempt:  # the first is the warm-up (imports, connections)
                seconds["scrape_page_s"].append((middle - began) / summary["pages"])
                seconds["validate_s"].append(time.monotonic() - middle)
    return {key: round(sorted(times)[repeat // 2], 2) for key, times in seconds.items()}


def tree_rss(root: int) -> int:
    """Resident memory (bytes) of ``root`` and all its descendants, from /proc."""
    parent, rss = {}, {}
    for entry in filter(str.isdigit, os.listdir("/proc")):
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


def download_on(day: date) -> tuple[str, bytes]:
    """B3's download of 2025-07-10 re-dated to ``day`` (its title line): its name and bytes."""
    data = DOWNLOAD.read_bytes().replace(b"Dia 10/07/25", f"Dia {day:%d/%m/%y}".encode())
    return f"IBOVDia_{day:%d-%m-%y}.csv", data


def bench_command(*args: str, emulator: Emulator | None = None) -> dict[str, Any]:
    """``bovespa <args>`` with empty state on a cold emulator it starts (or on ``emulator``,
    up already): its first summary, the wall time and peak memory of the whole command."""
    if emulator is None and port_taken(settings.EMULATOR_HOST, settings.EMULATOR_PORT):
        raise SystemExit(f"port {settings.EMULATOR_PORT} is in use: `make local-down` first")
    with tempfile.TemporaryDirectory(prefix="bovespa-bench-state-") as state:
        env = {**(emulator.environment() if emulator else os.environ), "BOVESPA_STATE_DIR": state}
        built = settings.STATE_DIR / "build"  # the functions' packages: built once, not cold
        if built.is_dir():
            (Path(state) / "build").symlink_to(built)
        began, peak = time.monotonic(), 0
        process = subprocess.Popen(
            [sys.executable, "-m", "services.tool.cli", *args],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        )  # fmt: skip
        while process.poll() is None:
            peak = max(peak, tree_rss(process.pid))
            time.sleep(0.2)
        wall = time.monotonic() - began
        stdout = process.stdout.read() if process.stdout else ""
        (emulator or Emulator(state_dir=Path(state) / "ministack")).stop()
    if process.returncode != 0:
        raise SystemExit(f"bovespa {args[0]} failed (exit {process.returncode})")
    result: dict[str, Any] = json.loads(stdout.strip().splitlines()[0])
    return {**result, "wall_s": round(wall, 1), "peak_memory_mib": round(peak / 2**20)}


def bench_backfill(days: int = 60) -> dict[str, Any]:
    """``bovespa backfill`` of ``days`` re-dated downloads (one execution, one Glue run) on
    a fresh emulator on a port of its own: a stack may hold the default one."""
    with tempfile.TemporaryDirectory(prefix="bovespa-bench-backfill-") as scratch:
        folder = Path(scratch) / "downloads"
        folder.mkdir()
        for day in business_days(date(2024, 10, 31), days):
            name, data = download_on(day)
            (folder / name).write_bytes(data)
        emulator = Emulator(port=free_port(), state_dir=Path(scratch) / "ministack")
        emulator.start()
        done = bench_command("backfill", str(folder), emulator=emulator)
    return {"files": days, **{key: done[key] for key in ("glue_runs", "seconds", "wall_s")}}


def record(
    demo: dict[str, Any], lambdas: dict[str, float], glue: list[dict[str, Any]]
) -> dict[str, Any]:
    """What the cost model reads (:data:`services.deploy.cost.MEASURED_FILE`)."""
    steps = {step["step"]: step["seconds"] for step in demo["steps"]}
    return {
        "source": f"make bench, {date.today().isoformat()}, {machine()}",
        "glue_runs": sorted([run["files"], run["wall_s"]] for run in glue),
        **lambdas,
        "athena_s": round(steps["Athena smoke query"], 1),
        "map": {
            "indices": len(demo["indices"]),
            "assets": sum(row["raw_rows"] for row in demo["indices"]),
            "seconds": round(steps["Scrape and validate"], 1),
        },
        "refined_file_bytes": 8_640,
        "raw_asset_bytes": 280,
    }


def table(title: str, rows: list[dict[str, Any]]) -> Table:
    shown = Table(*rows[0], title=title)
    for row in rows:
        shown.add_row(*map(str, row.values()))
    return shown


def main() -> None:
    console = Console()
    console.print(f"[bold]Machine:[/] {machine()}")
    demo = bench_command("demo")
    phases = {"emulator start (s)": demo["emulator_start_s"], "deployment (s)": demo["deploy_s"]}
    phases |= {f"state: {s['step']} (s)": round(s["seconds"], 1) for s in demo["steps"]}
    phases |= {"whole command (wall, s)": demo["wall_s"], "peak MiB": demo["peak_memory_mib"]}
    rows = [{"phase": phase, "value": value} for phase, value in phases.items()]
    console.print(table("make demo, cold (the wall: both executions)", rows))
    lambdas = bench_lambdas()
    console.print(table("Lambda work, warm (median)", [lambdas]))
    glue = bench_glue()
    console.print(table("Glue job, local Spark, warm runtime", glue))
    backfill = bench_backfill()
    console.print(table("bovespa backfill, cold", [backfill]))
    measured = record(demo, lambdas, glue) | {"backfill": backfill}
    MEASURED_FILE.write_text(json.dumps(measured, indent=2) + "\n")
    console.print(f"[bold]Recorded[/] {MEASURED_FILE.relative_to(settings.REPO_ROOT)}")


if __name__ == "__main__":
    main()

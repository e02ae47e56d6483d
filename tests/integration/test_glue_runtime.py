"""The local Glue job runs in one warm Spark session, beside the emulator and stopped with it."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path

import pytest

from glue.arguments import CATALOG, DT, LAKE, PROCESSING_DATE, flag
from services.pipeline.lake.storage import LocalLake
from services.tool.local.emulator import Emulator, free_port
from services.tool.local.glue_runtime import submit
from tests.lakes import recorded_portfolio, write_days
from tests.recordings import SEGMENT2_2025_07_10

pytestmark = pytest.mark.spark

LAUNCHER = Path(__file__).parents[2] / "glue" / "local_launcher.py"


@pytest.fixture(scope="module")
def emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Emulator]:
    emulator = Emulator(port=free_port(), state_dir=tmp_path_factory.mktemp("warm"))
    emulator.start()
    yield emulator
    emulator.stop()


def live_processes() -> dict[int, int]:
    """Each live (not zombie) process and its parent."""
    found = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # ended while we looked
        if fields[0] != "Z":
            found[int(stat.parent.name)] = int(fields[1])
    return found


def family(pid: int) -> set[int]:
    """``pid`` and its live descendants (the runtime, its JVM and the JVM's Python workers)."""
    parents, found = live_processes(), {pid}
    while grown := {child for child, parent in parents.items() if parent in found} - found:
        found |= grown
    return found & (set(parents) | {pid})


def test_a_second_run_reuses_the_warm_session(emulator: Emulator, tmp_path: Path) -> None:
    write_days(LocalLake(tmp_path), recorded_portfolio(SEGMENT2_2025_07_10), [date(2025, 7, 10)])
    argv = [flag(LAKE), str(tmp_path), flag(DT), "2025-07-10", flag(CATALOG), "false"]
    argv += [flag(PROCESSING_DATE), "2025-07-14"]
    first = submit(str(emulator.glue_runtime), argv, emulator.environment())
    second = submit(str(emulator.glue_runtime), argv, emulator.environment())
    assert first is not None
    assert second is not None
    assert [json.loads(run["stdout"])["rows"] for run in (first, second)] == [84, 84]
    assert first["spark"] == second["spark"]  # the same process, the same Spark application


def test_a_failing_run_leaves_the_one_line_a_new_process_would(emulator: Emulator) -> None:
    """As MiniStack runs the launcher: its environment, the job's arguments without dashes."""
    environment = {**emulator.environment(), LAKE: "/nowhere", DT: "2025-13-10"}
    warm = subprocess.run(
        [sys.executable, str(LAUNCHER)], env=environment, capture_output=True, text=True
    )
    cold = subprocess.run(
        [sys.executable, "-m", "glue.job", flag(LAKE), "/nowhere", flag(DT), "2025-13-10"],
        capture_output=True,
        text=True,
    )
    assert warm.returncode == cold.returncode == 1
    assert warm.stderr.splitlines() == [cold.stderr.splitlines()[-1]]
    assert "BadArgument: --dt: '2025-13-10' is not a YYYY-MM-DD day" in warm.stderr


def test_stopping_the_emulator_stops_the_runtime_and_all_it_started(tmp_path: Path) -> None:
    emulator = Emulator(port=free_port(), state_dir=tmp_path)
    emulator.start()
    runtime = int(emulator.glue_runtime.with_suffix(".pid").read_text())
    log = emulator.glue_runtime.with_suffix(".log")
    assert within(120, lambda: "warm: ready" in log.read_text())  # Spark ran a job
    started = family(runtime)
    assert len(started) >= 3  # the runtime, its JVM, the JVM's Python worker daemon
    assert emulator.stop()
    assert within(10, lambda: not started & set(live_processes()))


def within(seconds: float, condition: Callable[[], bool]) -> bool:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True

"""The local Glue job's warm Spark runtime: a failure leaves the one line a new process
would, and the emulator stops it with all it started."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from services.tool.local.emulator import Emulator, free_port

pytestmark = pytest.mark.spark

LAUNCHER = Path(__file__).parents[2] / "glue" / "local_launcher.py"


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


def test_the_warm_runtime_fails_in_one_line_and_stops_with_the_emulator(tmp_path: Path) -> None:
    emulator = Emulator(port=free_port(), state_dir=tmp_path)
    emulator.start()
    log = emulator.glue_runtime.with_suffix(".log")
    assert within(120, lambda: "warm: ready" in log.read_text())  # Spark ran a job
    # As MiniStack runs the launcher: its environment, the job's arguments without dashes.
    environment = {**emulator.environment(), "lake": "/nowhere", "objects": "[{"}
    warm = subprocess.run(
        [sys.executable, str(LAUNCHER)], env=environment, capture_output=True, text=True
    )
    cold = subprocess.run(
        [sys.executable, "-m", "glue.job", "--lake", "/nowhere", "--objects", "[{"],
        capture_output=True,
        text=True,
    )
    assert warm.returncode == cold.returncode == 1
    assert warm.stderr.splitlines() == [cold.stderr.splitlines()[-1]]
    assert "BadArgument: --objects is not JSON: " in warm.stderr
    assert "glue.job exit 1" in log.read_text()  # the warm runtime ran it, not a new process
    started = set().union(*map(family, emulator.pids()))
    assert len(started) >= 4  # the emulator, the runtime, its JVM, the JVM's Python workers
    assert emulator.stop()
    assert within(10, lambda: not started & set(live_processes()))


def within(seconds: float, condition: Callable[[], bool]) -> bool:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True

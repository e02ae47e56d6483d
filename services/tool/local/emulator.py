"""The local AWS emulator: MiniStack, a LocalStack-compatible process, on 127.0.0.1:4566.

``bovespa local up`` starts it in the background with its data under ``.state/ministack``,
beside the warm Spark runtime of the local Glue job (:mod:`services.tool.local.glue_runtime`);
the test suite starts its own. With ``AWS_ENDPOINT_URL`` set, that endpoint is used instead.
Its processes are found by their command lines, not by a file under ``.state`` (deleted, maybe).
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, overload

import requests

from services.pipeline import settings
from services.tool.local.glue_runtime import ADDRESS_ENV
from services.tool.local.recorder import CALL_LOG_ENV

_APP, _RUNTIME = "services.tool.local.ministack_app:app", "services.tool.local.glue_runtime"


@dataclass(frozen=True)
class Emulator:
    """One emulator process: where it listens and where it keeps its files."""

    host: str = settings.EMULATOR_HOST
    port: int = settings.EMULATOR_PORT
    state_dir: Path = settings.STATE_DIR / "ministack"
    #: Record the components' AWS calls in this file (``services.tool.local.recorder``).
    call_log: Path | None = None

    @property
    def endpoint(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def log_file(self) -> Path:
        return self.state_dir / "ministack.log"

    @property
    def glue_runtime(self) -> Path:
        return self.state_dir / "glue-runtime.sock"

    def pids(self) -> list[int]:
        """Its two processes (each its process group's leader)."""
        marks = ({_APP, f"{self.host}:{self.port}"}, {_RUNTIME, str(self.glue_runtime)})
        found = []
        for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
            with contextlib.suppress(OSError):
                argv = set(cmdline.read_bytes().decode(errors="replace").split("\0"))
                found += [int(cmdline.parent.name)] if any(m <= argv for m in marks) else []
        return found

    def is_up(self) -> bool:
        """It answers, and is not ours with its .state deleted (it would fail every Lambda call)."""
        try:
            answers = requests.get(f"{self.endpoint}/_localstack/health", timeout=1).ok
        except requests.RequestException:
            return False
        return answers and ((self.state_dir / "tmp").is_dir() or not self.pids())

    def status(self) -> str:
        if self.is_up():
            return "up"
        if self.pids():
            return "running without its .state: `local up` restarts it, `local down` stops it"
        if port_taken(self.host, self.port):
            return (
                f"{self.host}:{self.port} is taken by another process: free it, or point "
                "AWS_ENDPOINT_URL at the emulator that listens there"
            )
        return "down"

    def path_of(self, uri: str) -> Path:
        """Where this emulator keeps an S3 object or prefix on disk (MiniStack's account)."""
        return self.state_dir / "s3" / "000000000000" / uri.removeprefix("s3://")

    def environment(self) -> dict[str, str]:
        """The processes' environment: loopback only, files in :attr:`state_dir`, ``python3``
        this interpreter (MiniStack runs Glue ``pythonshell`` scripts with it)."""
        return {
            **os.environ,
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_ACCESS_KEY_ID": os.environ.get("AWS_ACCESS_KEY_ID", "test"),
            "AWS_SECRET_ACCESS_KEY": os.environ.get("AWS_SECRET_ACCESS_KEY", "test"),
            "AWS_DEFAULT_REGION": settings.EMULATOR_REGION,
            "BIND_HOST": self.host,
            "GATEWAY_PORT": str(self.port),
            "MINISTACK_REGION": settings.EMULATOR_REGION,
            "S3_PERSIST": "1",
            "S3_DATA_DIR": str(self.state_dir / "s3"),
            # The catalogue and the workgroup outlive a restart, as the lake does.
            "PERSIST_STATE": "1",
            "STATE_DIR": str(self.state_dir / "state"),
            "TMPDIR": str(self.state_dir / "tmp"),
            "LOG_LEVEL": "WARNING",
            # A function's extra warm workers go after a minute idle (MiniStack: 5 minutes).
            "LAMBDA_WARM_TTL_SECONDS": "60",
            # Every Wait and retry interval at 1/200: a 300 s wait takes 1.5 s.
            "SFN_WAIT_SCALE": "0.005",
            ADDRESS_ENV: str(self.glue_runtime),  # where the Glue job's launcher finds it
            **({CALL_LOG_ENV: str(self.call_log)} if self.call_log else {}),
        }

    def start(self, timeout: float = 30.0) -> subprocess.Popen[bytes]:
        """Start the emulator and the Glue runtime in the background; wait for the emulator."""
        self.stop()  # one of ours left running (its .state deleted, or hung): start afresh
        if port_taken(self.host, self.port):
            raise RuntimeError(self.status())  # taken by another process
        for sub in ("s3", "state", "tmp"):
            (self.state_dir / sub).mkdir(parents=True, exist_ok=True)
        # No worker process: SIGTERM reaches the app, which saves its state (PERSIST_STATE).
        hypercorn = ["hypercorn", _APP, "--log-level", "WARNING", "--workers", "0"]
        commands = {
            self.log_file: [*hypercorn, "--bind", f"{self.host}:{self.port}"],
            self.glue_runtime.with_suffix(".log"): [_RUNTIME, str(self.glue_runtime)],
        }
        processes = []
        for log_file, command in commands.items():
            with log_file.open("ab") as log:
                processes.append(subprocess.Popen(
                    [sys.executable, "-m", *command], env=self.environment(), stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,  # a process group: the JVM goes with it
                ))  # fmt: skip
        deadline = time.monotonic() + timeout
        while not self.is_up():
            if processes[0].poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"the emulator did not start; see {self.log_file}")
            time.sleep(0.05)
        return processes[0]

    def stop(self) -> bool:
        """Stop the emulator and the Glue runtime (process groups); False if none ran."""
        stopped = alive = [pid for pid in self.pids() if _signal(pid, signal.SIGTERM)]
        deadline = time.monotonic() + 5
        while alive and time.monotonic() < deadline:
            time.sleep(0.05)
            alive = [pid for pid in alive if pid in self.pids()]  # a zombie has no command line
        for pid in alive:
            _signal(pid, signal.SIGKILL)
        return bool(stopped)


def _signal(pid: int, number: int) -> bool:
    """Signal the process group of ``pid``; False if there is none."""
    try:
        os.killpg(pid, number)
    except ProcessLookupError:
        return False
    return True


@overload
def use_endpoint(*, start: Literal[True]) -> str: ...
@overload
def use_endpoint(*, start: bool = False) -> str | None: ...
def use_endpoint(*, start: bool = False) -> str | None:
    """The AWS endpoint this process talks to, boto3 pointed at it: ``AWS_ENDPOINT_URL``,
    else the local emulator (started if down and ``start``); ``None``: AWS itself."""
    chosen = os.environ.get("AWS_ENDPOINT_URL")
    if chosen:
        return chosen
    emulator = Emulator()
    if not emulator.is_up():
        if not start:
            return None
        emulator.start()
    os.environ.update({k: v for k, v in emulator.environment().items() if k.startswith("AWS_")})
    return emulator.endpoint


def free_port(host: str = settings.EMULATOR_HOST) -> int:
    with socket.socket() as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


def port_taken(host: str, port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex((host, port)) == 0

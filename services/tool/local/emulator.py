"""The local AWS emulator: MiniStack, a LocalStack-compatible process, on 127.0.0.1:4566.

``bovespa local up`` starts it in the background with its data under ``.state/ministack``,
beside the warm Spark runtime of the local Glue job (:mod:`services.tool.local.glue_runtime`);
the test suite starts its own. With ``AWS_ENDPOINT_URL`` set, that endpoint is used instead.
"""

from __future__ import annotations

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
        """The socket of the warm Glue runtime."""
        return self.state_dir / "glue-runtime.sock"

    def pid_files(self) -> tuple[Path, Path]:
        return self.state_dir / "ministack.pid", self.glue_runtime.with_suffix(".pid")

    def is_up(self) -> bool:
        try:
            return requests.get(f"{self.endpoint}/_localstack/health", timeout=1).ok
        except requests.RequestException:
            return False

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
            "STATE_DIR": str(self.state_dir / "state"),
            "TMPDIR": str(self.state_dir / "tmp"),
            "LOG_LEVEL": "WARNING",
            # Every Wait and retry interval at 1/200: a 300 s wait takes 1.5 s.
            "SFN_WAIT_SCALE": "0.005",
            ADDRESS_ENV: str(self.glue_runtime),  # where the Glue job's launcher finds it
            **({CALL_LOG_ENV: str(self.call_log)} if self.call_log else {}),
        }

    def start(self, timeout: float = 30.0) -> subprocess.Popen[bytes]:
        """Start the emulator and the Glue runtime in the background; wait for the emulator."""
        if port_taken(self.host, self.port):
            raise RuntimeError(f"{self.host}:{self.port} is already in use")
        for sub in ("s3", "state", "tmp"):
            (self.state_dir / sub).mkdir(parents=True, exist_ok=True)
        hypercorn = ["hypercorn", "services.tool.local.ministack_app:app", "--log-level", "WARNING"]
        commands = (
            ["-m", *hypercorn, "--bind", f"{self.host}:{self.port}"],
            ["-m", "services.tool.local.glue_runtime", str(self.glue_runtime)],
        )
        processes = []
        for command, pid_file in zip(commands, self.pid_files(), strict=True):
            with pid_file.with_suffix(".log").open("ab") as log:
                processes.append(subprocess.Popen(
                    [sys.executable, *command], env=self.environment(), stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,  # a process group: the JVM goes with it
                ))  # fmt: skip
            pid_file.write_text(str(processes[-1].pid))
        deadline = time.monotonic() + timeout
        while not self.is_up():
            if processes[0].poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"the emulator did not start; see {self.log_file}")
            time.sleep(0.05)
        return processes[0]

    def stop(self) -> bool:
        """Stop the emulator and the Glue runtime (process groups); False if none ran."""
        pids = [int(file.read_text()) for file in self.pid_files() if file.exists()]
        for file in self.pid_files():
            file.unlink(missing_ok=True)
        stopped = alive = [pid for pid in pids if _signal(pid, signal.SIGTERM)]
        deadline = time.monotonic() + 5
        while alive and time.monotonic() < deadline:
            time.sleep(0.05)
            alive = [pid for pid in alive if _signal(pid, 0)]
        for pid in alive:
            _signal(pid, signal.SIGKILL)
        return bool(stopped)


def _signal(pid: int, number: int) -> bool:
    """Signal the process group of ``pid`` (0: probe it, reaping our own child); False if none."""
    try:
        if number == 0 and os.waitpid(pid, os.WNOHANG)[0] == pid:
            return False
    except ChildProcessError:
        pass  # not our child
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
    """A TCP port nothing listens on now."""
    with socket.socket() as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


def port_taken(host: str, port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex((host, port)) == 0

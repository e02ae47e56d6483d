"""The local AWS emulator: MiniStack, a LocalStack-compatible process, on 127.0.0.1:4566.

``bovespa local up`` starts it in the background with its data under ``.state/ministack``;
the test suite starts its own for the session. Any LocalStack-compatible endpoint works the
same way: set ``AWS_ENDPOINT_URL`` and nothing is started.

Beside it runs the warm Spark runtime of the local Glue job
(:mod:`services.tool.local.glue_runtime`): it starts and stops with the emulator.
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

HEALTH_PATH = "/_localstack/health"


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
    def pid_file(self) -> Path:
        return self.state_dir / "ministack.pid"

    @property
    def log_file(self) -> Path:
        return self.state_dir / "ministack.log"

    @property
    def glue_runtime(self) -> Path:
        """The socket of the warm Glue runtime (its pid and log beside it)."""
        return self.state_dir / "glue-runtime.sock"

    def is_up(self) -> bool:
        """True when something answers the LocalStack health route at :attr:`endpoint`."""
        try:
            return requests.get(self.endpoint + HEALTH_PATH, timeout=1).status_code == 200
        except requests.RequestException:
            return False

    def environment(self) -> dict[str, str]:
        """The process environment: bind to loopback only, keep files in :attr:`state_dir`.

        ``python3`` resolves to this virtual environment's interpreter (MiniStack runs
        Glue ``pythonshell`` scripts with it), and the processes it starts talk back to it.
        """
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
            # Wait states and retry intervals at 1/100: 30 s polls, 60 s retries take 0.3, 0.6 s.
            "SFN_WAIT_SCALE": "0.01",
            ADDRESS_ENV: str(self.glue_runtime),  # where the Glue job's launcher finds it
            **({CALL_LOG_ENV: str(self.call_log)} if self.call_log else {}),
        }

    def start(self, timeout: float = 30.0) -> subprocess.Popen[bytes]:
        """Start the emulator in the background and wait until it answers."""
        if port_taken(self.host, self.port):
            raise RuntimeError(f"{self.host}:{self.port} is already in use")
        for sub in ("s3", "state", "tmp"):
            (self.state_dir / sub).mkdir(parents=True, exist_ok=True)
        app = (
            "services.tool.local.recording_app:app"
            if self.call_log
            else "services.tool.local.ministack_app:app"
        )
        command = [
            sys.executable,
            *("-m", "hypercorn", app),
            *("--bind", f"{self.host}:{self.port}", "--log-level", "WARNING"),
        ]
        with self.log_file.open("ab") as log:
            process = subprocess.Popen(
                command,
                env=self.environment(),
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.pid_file.write_text(str(process.pid))
        with self.glue_runtime.with_suffix(".log").open("ab") as log:
            runtime = subprocess.Popen(
                [sys.executable, "-m", "services.tool.local.glue_runtime", str(self.glue_runtime)],
                env=self.environment(),
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # a process group: itself and its JVM
            )
        self.glue_runtime.with_suffix(".pid").write_text(str(runtime.pid))
        deadline = time.monotonic() + timeout
        while not self.is_up():
            if process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"the emulator did not start; see {self.log_file}")
            time.sleep(0.1)
        return process

    def stop(self) -> bool:
        """Stop the process named in the pid file, and the Glue runtime with its JVM; False
        if none was running."""
        if not self.pid_file.exists():
            return False
        runtime = self.glue_runtime.with_suffix(".pid")
        pids = [int(file.read_text()) for file in (self.pid_file, runtime) if file.exists()]
        self.pid_file.unlink()
        runtime.unlink(missing_ok=True)
        alive = [pid for pid in pids if _signal_group(pid, signal.SIGTERM)]
        if pids[0] not in alive:
            return False
        for _ in range(50):
            if not any(_alive(pid) for pid in alive):
                return True
            time.sleep(0.1)
        for pid in alive:
            _signal_group(pid, signal.SIGKILL)
        return True


def point_boto3_at(endpoint: str) -> None:
    """Make every boto3 client of this process talk to ``endpoint`` (an emulator).

    Sets ``AWS_ENDPOINT_URL`` and, when none are configured, the dummy credentials and
    region that emulators accept.
    """
    os.environ["AWS_ENDPOINT_URL"] = endpoint
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "test")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "test")
    os.environ.setdefault("AWS_DEFAULT_REGION", settings.EMULATOR_REGION)


@overload
def use_endpoint(*, start: Literal[True]) -> str: ...


@overload
def use_endpoint(*, start: bool = False) -> str | None: ...


def use_endpoint(*, start: bool = False) -> str | None:
    """Find the AWS endpoint this process talks to, point boto3 at it and return it.

    ``AWS_ENDPOINT_URL`` when it is set (an emulator the user chose: LocalStack...); else
    the local MiniStack (:class:`Emulator`), started first if it is down and ``start`` is
    true. ``None`` when neither is there: boto3 then goes to AWS with its own credentials,
    and each command says whether that will do.
    """
    chosen = os.environ.get("AWS_ENDPOINT_URL")
    if chosen:
        return chosen
    emulator = Emulator()
    if not emulator.is_up():
        if not start:
            return None
        emulator.start()
    point_boto3_at(emulator.endpoint)
    return emulator.endpoint


def free_port(host: str = settings.EMULATOR_HOST) -> int:
    """A TCP port nothing listens on now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        port: int = probe.getsockname()[1]
        return port


def port_taken(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        return probe.connect_ex((host, port)) == 0


def _signal_group(pid: int, signal_number: int) -> bool:
    """Send the process group of ``pid`` a signal; False if there is none."""
    try:
        os.killpg(pid, signal_number)
    except ProcessLookupError:
        return False
    return True


def _alive(pid: int) -> bool:
    try:
        if os.waitpid(pid, os.WNOHANG)[0] == pid:
            return False  # our own child, now reaped
    except ChildProcessError:
        pass  # not our child: fall back to a signal probe
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True

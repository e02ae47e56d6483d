"""A warm Spark runtime for the local Glue job, so a run does not start a new JVM.

``Emulator.start`` starts this server beside MiniStack, in a process group of its own
that ``Emulator.stop`` ends. It runs ``glue.job`` as ``python -m glue.job`` would (the
run's arguments and environment, the project's modules loaded afresh), one run at a time,
and answers with the exit code, the stdout and the one line a failure leaves on stderr.

``python -m services.tool.local.glue_runtime ADDRESS`` serves on the Unix socket ADDRESS.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import runpy
import sys
import tempfile
import threading
import time
import traceback
from collections.abc import Mapping, Sequence
from datetime import date
from multiprocessing.connection import Client, Connection, Listener
from pathlib import Path
from typing import Any

#: The environment variable naming the runtime's socket (set by ``Emulator``).
ADDRESS_ENV = "BOVESPA_GLUE_RUNTIME"
_one_run_at_a_time = threading.Lock()


def submit(address: str, argv: Sequence[str], env: Mapping[str, str]) -> dict[str, Any] | None:
    """Run the job in the runtime at ``address``: ``{"code", "stdout", "error"}``, or
    ``None`` when no runtime answers there (the caller starts the job itself)."""
    try:
        connection = Client(address, family="AF_UNIX")
    except OSError:
        return None
    with connection:
        connection.send_bytes(json.dumps({"argv": list(argv), "env": dict(env)}).encode())
        try:
            reply: dict[str, Any] = json.loads(connection.recv_bytes())
        except (EOFError, OSError):
            return {"code": 1, "stdout": "", "error": "the warm Glue runtime ended during the run"}
    return reply


def run_job(argv: Sequence[str], env: Mapping[str, str]) -> dict[str, Any]:
    """Run ``python -m glue.job *argv`` in this process, in the environment ``env``."""
    for name in [m for m in sys.modules if m.partition(".")[0] in {"glue", "services"}]:
        del sys.modules[name]  # the code as it is now, as a new process would load it
    saved_environ, saved_argv = dict(os.environ), sys.argv
    os.environ.update(env)
    sys.argv = ["glue.job", *argv]
    out, err = io.StringIO(), io.StringIO()
    code = 0
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            runpy.run_module("glue.job", run_name="__main__", alter_sys=True)
    except BaseException as failure:  # the run ends as the interpreter would report it
        code = 1
        traceback.print_exception(failure, file=err)
    finally:
        os.environ.clear()
        os.environ.update(saved_environ)
        sys.argv = saved_argv
    lines = [line for line in err.getvalue().splitlines() if line.strip()]
    error = (lines[-1] if lines else f"glue.job exited {code}") if code else ""
    return {"code": code, "stdout": out.getvalue(), "error": error}


def _answer(connection: Connection) -> None:
    with connection, contextlib.suppress(EOFError, OSError):  # a launcher that went away
        request = json.loads(connection.recv_bytes())
        with _one_run_at_a_time:
            began = time.monotonic()
            reply = run_job(request["argv"], request["env"])
        print(f"glue.job exit {reply['code']} in {time.monotonic() - began:.2f} s", file=sys.stderr)
        connection.send_bytes(json.dumps(reply).encode())


def _warm() -> None:
    """Start Spark, then refine a recorded day in a scratch lake: the first real run then
    finds Spark's code loaded and compiled (in a new JVM it takes several times longer)."""
    with _one_run_at_a_time, tempfile.TemporaryDirectory() as scratch:
        from glue.spark import local_session
        from services.pipeline.lake.layout import raw_key
        from services.pipeline.lake.storage import LocalLake
        from services.pipeline.validate.contract import validate
        from services.tool.local.samples import recorded_portfolio, write_days

        local_session()
        lake, day = LocalLake(Path(scratch)), date(2025, 7, 10)
        write_days(lake, recorded_portfolio(), [day])
        objects = json.dumps([validate(lake.uri_of(raw_key("IBOV", day)), lake=lake)])
        warm = run_job(["--lake", scratch, "--objects", objects, "--catalog", "false"], {})
        print(f"warm: {warm['error'] or 'ready'}", file=sys.stderr)


def serve(address: str) -> None:
    """Answer runs on the Unix socket ``address`` until stopped; start Spark meanwhile."""
    with contextlib.suppress(FileNotFoundError):
        os.unlink(address)  # left by a runtime that was killed
    with Listener(address, family="AF_UNIX") as listener:
        os.chmod(address, 0o600)
        threading.Thread(target=_warm, daemon=True).start()
        while True:
            threading.Thread(target=_answer, args=(listener.accept(),), daemon=True).start()


if __name__ == "__main__":
    serve(sys.argv[1])

"""The local stand-in for AWS Glue's Spark runtime.

MiniStack cannot run ``glueetl`` (Spark) jobs without Docker: it marks them SUCCEEDED
without running anything. The local deployment therefore registers the Glue job as a
``pythonshell`` job with this script. MiniStack runs it with ``python3`` (this repository's
virtual environment) and passes the job arguments as environment variables (``--dt`` as
``dt``); it runs the real PySpark job, ``glue/job.py``, in local mode, with the same
arguments: in the emulator's warm Spark runtime (``services.tool.local.glue_runtime``, named
by ``BOVESPA_GLUE_RUNTIME``) when one answers, else as ``python -m glue.job`` (a new JVM).

A failure leaves exactly one line on stderr (the job's exception), which MiniStack
reports as the run's ``ErrorMessage`` and the state machine as the Glue step's cause.
"""

import os
import subprocess
import sys
from collections.abc import Mapping

from glue.arguments import JOB_ARGUMENTS, flag
from services.tool.local.glue_runtime import ADDRESS_ENV, submit


def job_argv(environ: Mapping[str, str]) -> list[str]:
    """The job's ``--name value`` arguments from MiniStack's environment, which names each
    argument without its dashes (``--processing-date`` as ``processing-date``)."""
    argv = []
    for name in JOB_ARGUMENTS:
        value = environ.get(name)
        if value:
            argv += [flag(name), value]
    return argv


def main() -> int:
    argv = job_argv(os.environ)
    warm = submit(os.environ[ADDRESS_ENV], argv, os.environ) if ADDRESS_ENV in os.environ else None
    if warm is not None:
        sys.stdout.write(warm["stdout"])
        if warm["code"] != 0:
            sys.stderr.write(warm["error"] + "\n")
        return int(warm["code"])
    done = subprocess.run(
        [sys.executable, "-m", "glue.job", *argv], capture_output=True, text=True, check=False
    )
    sys.stdout.write(done.stdout)
    if done.returncode != 0:
        lines = [line for line in done.stderr.strip().splitlines() if line.strip()]
        sys.stderr.write((lines[-1] if lines else f"glue.job exited {done.returncode}") + "\n")
    return done.returncode


if __name__ == "__main__":
    sys.exit(main())

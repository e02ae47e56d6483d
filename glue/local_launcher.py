"""The local stand-in for AWS Glue's Spark runtime.

MiniStack cannot run ``glueetl`` (Spark) jobs without Docker, so the local deployment
registers the job as ``pythonshell`` with this script, which MiniStack runs with this
repository's ``python3``, the job arguments as environment variables (``--lake`` as
``lake``). It runs ``glue/job.py`` in the emulator's warm Spark runtime
(:mod:`services.tool.local.glue_runtime`) when one answers, else as ``python -m glue.job``
(a new JVM).
A failure leaves one line on stderr, the run's ``ErrorMessage``.
"""

import os
import subprocess
import sys

from glue.arguments import JOB_ARGUMENTS, flag
from services.tool.local.glue_runtime import ADDRESS_ENV, submit


def main() -> int:
    given = [(name, os.environ.get(name)) for name in JOB_ARGUMENTS]
    argv = [text for name, value in given if value for text in (flag(name), value)]
    address = os.environ.get(ADDRESS_ENV)
    done = submit(address, argv, os.environ) if address else None
    if done is None:  # no warm runtime answers: a new process, its stderr's last line kept
        cold = subprocess.run(
            [sys.executable, "-m", "glue.job", *argv], capture_output=True, text=True, check=False
        )
        lines = cold.stderr.strip().splitlines() or [f"glue.job exited {cold.returncode}"]
        done = {"code": cold.returncode, "stdout": cold.stdout, "error": lines[-1]}
    sys.stdout.write(done["stdout"])
    if done["code"]:
        sys.stderr.write(done["error"] + "\n")
    return int(done["code"])


if __name__ == "__main__":
    sys.exit(main())

"""The Glue job's arguments: the one list of the names :func:`glue.job.parse_args` reads.

Each is passed as ``--<name> value`` (AWS Glue's ``DefaultArguments`` and a run's
``Arguments``; ``bovespa etl``). The local launcher (``glue/local_launcher.py``), which
gets them from MiniStack as environment variables named without the dashes, forwards
exactly these. Standard library only: the job imports it too, and its imports must stay
within what Glue 5.0 provides (``tests/unit/test_glue_imports.py``).
"""

from __future__ import annotations

from typing import Final

LAKE: Final = "lake"
DT: Final = "dt"
START: Final = "start"
END: Final = "end"
INDEX: Final = "index"
OBJECTS: Final = "objects"
AHEAD: Final = "ahead"
DATABASE: Final = "database"
TABLE: Final = "table"
PROCESSING_DATE: Final = "processing-date"
ENGINE: Final = "engine"
CATALOG: Final = "catalog"

#: Every argument the job reads; any other key (Glue's own ``--JOB_NAME``, ``--TempDir``…)
#: is ignored.
JOB_ARGUMENTS: Final = (
    LAKE, DT, START, END, INDEX, OBJECTS, AHEAD, DATABASE, TABLE, PROCESSING_DATE, ENGINE,
    CATALOG,
)  # fmt: skip


def flag(name: str) -> str:
    """``--<name>``, the key of the job argument ``name`` (one of :data:`JOB_ARGUMENTS`)."""
    if name not in JOB_ARGUMENTS:
        raise ValueError(f"--{name} is not an argument of the Glue job")
    return f"--{name}"

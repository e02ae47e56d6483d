"""The Glue job's argument names, passed as ``--<name> value``: standard library only, so
the deployment can name them without importing Spark."""

from __future__ import annotations

from typing import Final

LAKE: Final = "lake"
OBJECTS: Final = "objects"
AHEAD: Final = "ahead"
DATABASE: Final = "database"
TABLE: Final = "table"
PROCESSING_DATE: Final = "processing-date"
ENGINE: Final = "engine"
CATALOG: Final = "catalog"

#: Every argument the job reads; others (Glue's own ``--JOB_NAME``…) are ignored.
JOB_ARGUMENTS: Final = (LAKE, OBJECTS, AHEAD, DATABASE, TABLE, PROCESSING_DATE, ENGINE, CATALOG)


def flag(name: str) -> str:
    if name not in JOB_ARGUMENTS:
        raise ValueError(f"--{name} is not an argument of the Glue job")
    return f"--{name}"

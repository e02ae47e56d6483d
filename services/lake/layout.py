"""Where the raw layer's objects live: the keys, and nothing else.

Standard library only, so that the Glue job can find raw partitions without importing
the raw layer's writer (pyarrow) or the B3 client behind it (requests, tenacity): the
job's imports must stay within what Glue 5.0 provides (``tests/unit/test_glue_imports.py``).
"""

from __future__ import annotations

from datetime import date

from services import settings


def partition(index: str, dt: date) -> str:
    """``raw/index=<INDEX>/dt=<YYYY-MM-DD>``: the day's raw partition."""
    return f"{settings.RAW_PREFIX}/index={index}/dt={dt.isoformat()}"


def raw_key(index: str, dt: date) -> str:
    """Key of the day's raw Parquet object."""
    return f"{partition(index, dt)}/{settings.RAW_OBJECT_NAME}"


def response_key(index: str, dt: date, page: int) -> str:
    """Key of the archived B3 body of ``page``."""
    return f"{partition(index, dt)}/{settings.RAW_RESPONSE_PREFIX}-page-{page:03d}.json"

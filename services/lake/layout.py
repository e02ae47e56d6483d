"""Where the raw layer's objects live: the keys, and nothing else.

Standard library only (with the code rules of :mod:`services.b3.codes`, stdlib too), so
that the Glue job can find raw partitions without importing
the raw layer's writer (pyarrow) or the B3 client behind it (requests, tenacity): the
job's imports must stay within what Glue 5.0 provides (``tests/unit/test_glue_imports.py``).
"""

from __future__ import annotations

from datetime import date

from services import settings
from services.b3.codes import index_argument, is_index_code
from services.errors import BadArgument


def partition(index: str, dt: date) -> str:
    """``raw/index=<INDEX>/dt=<YYYY-MM-DD>``: the day's raw partition.

    ``index`` must be an index code as B3 writes it (:class:`BadArgument` otherwise), so
    no caller can build a key that leaves the partition (``../x``) or escapes oddly.
    """
    if not is_index_code(index):
        index_argument(index)  # raises, saying why
        raise BadArgument(f"index code {index!r} is not upper-case")
    return f"{settings.RAW_PREFIX}/index={index}/dt={dt.isoformat()}"


def raw_key(index: str, dt: date) -> str:
    """Key of the day's raw Parquet object."""
    return f"{partition(index, dt)}/{settings.RAW_OBJECT_NAME}"


def response_key(index: str, dt: date, page: int) -> str:
    """Key of the archived B3 body of ``page``."""
    return f"{partition(index, dt)}/{settings.RAW_RESPONSE_PREFIX}-page-{page:03d}.json"

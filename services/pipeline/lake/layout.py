"""The raw layer's key layout: the one place that builds and parses raw keys.

Only one object in a raw partition is data: the canonical
``raw/index=<INDEX>/dt=<YYYY-MM-DD>/portfolio.parquet``. Everything else there (archived
bodies, temp files, an ``extra.parquet`` or ``notes.txt`` someone dropped beside it) is
not data, and every step — the trigger, Validate, the Glue job, ``bovespa etl`` — asks
this module, so they all agree on what is.

Standard library only (with the code rules of :mod:`services.pipeline.b3.codes`, stdlib too), so
that the Glue job can use it without the raw layer's writer (pyarrow) or the B3 client
behind it (requests, tenacity): the job's imports must stay within what Glue 5.0 provides
(``tests/unit/test_glue_imports.py``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Final

from services.pipeline import settings
from services.pipeline.b3.codes import index_argument, is_index_code
from services.pipeline.errors import BadArgument

#: The shape of a partition's ``dt``: ``YYYY-MM-DD`` in ASCII digits (read alike by Python's
#: ``re``, RE2 and Java). A value of this shape may still be no date (``2025-02-30``).
DATE: Final = "[0-9]{4}-[0-9]{2}-[0-9]{2}"


def partition_regex(prefix: str, index: str = "[^/]*", dt: str = "[^/]*") -> str:
    """The regex of ``<prefix>/index=<INDEX>/dt=<YYYY-MM-DD>``, with groups ``index`` and
    ``dt`` matching ``index`` and ``dt``: the one spelling of a raw partition, for the day's
    layer and the datasets ahead (:mod:`services.pipeline.lake.datasets`)."""
    return rf"{prefix}/index=(?P<index>{index})/dt=(?P<dt>{dt})"


_RAW_KEY = re.compile(
    partition_regex(re.escape(settings.RAW_PREFIX)) + rf"/{re.escape(settings.RAW_OBJECT_NAME)}"
)
_RAW_URI = re.compile(rf"(?:(?P<root>.*?)/)?(?P<key>{_RAW_KEY.pattern})")


class NotARawKey(BadArgument):
    """A key or URI that is not a day's canonical raw object."""


@dataclass(frozen=True, order=True)
class RawDay:
    """One raw partition: an index on a trading day."""

    index: str
    dt: date

    @property
    def partition(self) -> str:
        return partition(self.index, self.dt)

    @property
    def key(self) -> str:
        return raw_key(self.index, self.dt)

    def __str__(self) -> str:
        return f"{self.index} {self.dt.isoformat()}"


def partition(index: str, dt: date, prefix: str = settings.RAW_PREFIX) -> str:
    """``raw/index=<INDEX>/dt=<YYYY-MM-DD>``: the day's raw partition (a dataset ahead's
    under its own ``prefix``).

    ``index`` must be an index code as B3 writes it (:class:`BadArgument` otherwise), so
    no caller can build a key that leaves the partition (``../x``) or escapes oddly.
    """
    if not is_index_code(index):
        index_argument(index)  # raises, saying why
        raise BadArgument(f"index code {index!r} is not upper-case")
    return f"{prefix}/index={index}/dt={dt.isoformat()}"


def raw_key(index: str, dt: date) -> str:
    """Key of the day's raw Parquet object, the only data object of the partition."""
    return f"{partition(index, dt)}/{settings.RAW_OBJECT_NAME}"


def archived_key(partition_path: str, name: str) -> str:
    """``<partition>/_b3-response-<name>.json``: an archived B3 body in the raw partition
    ``partition_path`` (the day's or a dataset ahead's), hidden from readers by its ``_``."""
    return f"{partition_path}/{settings.RAW_RESPONSE_PREFIX}-{name}.json"


def page_key(partition_path: str, page: int) -> str:
    """``<partition>/_b3-response-page-<NNN>.json``: the archived body of ``page`` of B3's
    answer in the raw partition ``partition_path`` (the day's or a dataset ahead's)."""
    return archived_key(partition_path, f"page-{page:03d}")


def response_key(index: str, dt: date, page: int) -> str:
    """Key of the archived B3 body of ``page`` of the day's answer."""
    return page_key(partition(index, dt), page)


def parse_raw_key(key: str) -> RawDay:
    """The day of a canonical raw key; :class:`NotARawKey` for anything else."""
    match = _RAW_KEY.fullmatch(key)
    if match is None:
        raise NotARawKey(
            f"{key!r} is not a raw object: only {settings.RAW_PREFIX}/index=<INDEX>/"
            f"dt=<YYYY-MM-DD>/{settings.RAW_OBJECT_NAME} is data"
        )
    return _day(match["index"], match["dt"], key)


def is_raw_key(key: str) -> bool:
    """Whether ``key`` is a day's canonical raw object (no exception, for filtering)."""
    try:
        parse_raw_key(key)
    except NotARawKey:
        return False
    return True


def split_raw_uri(uri: str) -> tuple[str, str, RawDay]:
    """``(lake root, key, day)`` of a raw object's URI or path; :class:`NotARawKey` otherwise."""
    match = _RAW_URI.fullmatch(uri)
    if match is None:
        raise NotARawKey(
            f"{uri} is not a raw object: expected …/{settings.RAW_PREFIX}/index=<INDEX>/"
            f"dt=<YYYY-MM-DD>/{settings.RAW_OBJECT_NAME}"
        )
    root = match["root"]
    if root is None:
        root = "."
    elif root == "" and uri.startswith("/"):
        root = "/"
    return root, match["key"], _day(match["index"], match["dt"], uri)


def _day(index: str, dt: str, where: str) -> RawDay:
    if not is_index_code(index):
        raise NotARawKey(f"{where}: index={index!r} is not a B3 index code")
    try:
        day = date.fromisoformat(dt)
    except ValueError:
        raise NotARawKey(f"{where}: dt={dt!r} is not a date (YYYY-MM-DD)") from None
    if day.isoformat() != dt:
        raise NotARawKey(f"{where}: dt={dt!r} is not written YYYY-MM-DD")
    return RawDay(index, day)

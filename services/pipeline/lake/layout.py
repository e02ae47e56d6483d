"""The raw layer's keys, built and parsed here only: every step asks this module whether a
key is a day's data (``raw/index=<INDEX>/dt=<YYYY-MM-DD>/portfolio.parquet``; archived
bodies and anything dropped beside it are not). Standard library only: the Glue job imports it.
"""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass
from datetime import date
from typing import Final

from services.pipeline import settings
from services.pipeline.b3.codes import is_index_code
from services.pipeline.errors import BadArgument

#: The shape of a partition's ``dt``: ``YYYY-MM-DD`` in ASCII digits (read alike by Python's
#: ``re``, RE2 and Java). A value of this shape may still be no date (``2025-02-30``).
DATE: Final = "[0-9]{4}-[0-9]{2}-[0-9]{2}"


def partition_regex(prefix: str, index: str = "[^/]*", dt: str = "[^/]*") -> str:
    """The regex of ``<prefix>/index=<INDEX>/dt=<YYYY-MM-DD>`` (groups ``index``, ``dt``)."""
    return rf"{prefix}/index=(?P<index>{index})/dt=(?P<dt>{dt})"


_RAW_KEY = re.compile(
    partition_regex(re.escape(settings.RAW_PREFIX), dt=DATE)
    + rf"/{re.escape(settings.RAW_OBJECT_NAME)}"
)


class NotARawKey(BadArgument):
    """A key or URI that is not a day's raw object (``raw/index=…/dt=…/portfolio.parquet``)."""


@dataclass(frozen=True, order=True)
class RawDay:
    """One raw partition: an index on a trading day."""

    index: str
    dt: date

    @property
    def key(self) -> str:
        return raw_key(self.index, self.dt)

    def __str__(self) -> str:
        return f"{self.index} {self.dt.isoformat()}"


def partition(index: str, dt: date, prefix: str = settings.RAW_PREFIX) -> str:
    """``<prefix>/index=<INDEX>/dt=<YYYY-MM-DD>``; an index that is not a B3 code is
    :class:`BadArgument`, so no key can leave its partition (``../x``)."""
    if not is_index_code(index):
        raise BadArgument(f"index code {index[:40]!r} is not a B3 index code (e.g. IBOV)")
    return f"{prefix}/index={index}/dt={dt.isoformat()}"


def raw_key(index: str, dt: date) -> str:
    return f"{partition(index, dt)}/{settings.RAW_OBJECT_NAME}"


def archived_key(partition_path: str, name: str) -> str:
    """``<partition>/_b3-response-<name>``: an archived B3 body (``_`` hides it)."""
    return f"{partition_path}/{settings.RAW_RESPONSE_PREFIX}-{name}"


def parse_raw_key(key: str) -> RawDay:
    """The day of a raw object's key; :class:`NotARawKey` for anything else."""
    match = _RAW_KEY.fullmatch(key)
    with contextlib.suppress(ValueError):  # a dt of the shape of a date that is none
        if match and is_index_code(match["index"]):
            return RawDay(match["index"], date.fromisoformat(match["dt"]))
    raise NotARawKey(
        f"{key!r} is not a raw object: only {settings.RAW_PREFIX}/index=<INDEX>/"
        f"dt=<YYYY-MM-DD>/{settings.RAW_OBJECT_NAME} is data (a B3 code, a date)"
    )


def split_raw_uri(uri: str) -> tuple[str, str, RawDay]:
    """``(lake root, key, day)`` of a raw object's URI or path; :class:`NotARawKey` otherwise."""
    head, start, rest = uri.rpartition(f"{settings.RAW_PREFIX}/index=")
    if not start or head[-1:] not in {"", "/"}:
        raise NotARawKey(
            f"{uri} is not a raw object: expected …/{settings.RAW_PREFIX}/index=<INDEX>/"
            f"dt=<YYYY-MM-DD>/{settings.RAW_OBJECT_NAME}"
        )
    key = start + rest
    return head.rstrip("/") or ("/" if head else "."), key, parse_raw_key(key)

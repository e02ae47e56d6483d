"""A raw Parquet file handed in by a person (``bovespa ingest``): its day, and the contract,
both before the file goes anywhere (a refused file cannot replace a day's good raw object).
"""

from __future__ import annotations

import tempfile
from collections.abc import Mapping
from datetime import date
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from services.pipeline.b3.codes import index_argument
from services.pipeline.errors import BadArgument
from services.pipeline.lake.layout import RawDay
from services.pipeline.lake.storage import LocalLake
from services.pipeline.validate.contract import validate


def raw_day(index: str | None, dt: str | None, metadata: Mapping[bytes, bytes]) -> RawDay:
    """Index and trading day of a raw file: the options, else its footer's ``metadata``
    (:func:`services.pipeline.lake.raw.to_table`); both become the object's key."""
    code = index or metadata.get(b"bovespa.index", b"").decode()
    day = dt or metadata.get(b"bovespa.dt", b"").decode()
    if not code or not day:
        raise BadArgument("the file does not say its index and dt: pass --index and --dt")
    try:
        trading_day = date.fromisoformat(day)
    except ValueError:
        raise BadArgument(f"dt {day[:40]!r} is not a YYYY-MM-DD date") from None
    if len(day) != len("YYYY-MM-DD"):
        raise BadArgument(f"dt {day[:40]!r} is not a YYYY-MM-DD date")
    return RawDay(index_argument(code), trading_day)


def file_day(file: Path, index: str | None, dt: str | None) -> RawDay:
    """:func:`raw_day` of ``file``, whose footer is read only when an option is missing."""
    metadata = {} if index and dt else (pq.read_schema(file).metadata or {})
    return raw_day(index, dt, metadata)


def validate_before_writing(data: bytes, day: RawDay) -> dict[str, Any]:
    """The data contract on ``data`` as the raw object of ``day``, before it goes anywhere."""
    with tempfile.TemporaryDirectory(prefix="bovespa-ingest-") as scratch:
        lake = LocalLake(scratch)
        lake.write_bytes(day.key, data)
        return validate(lake.uri_of(day.key), lake=lake)

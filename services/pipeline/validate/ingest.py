"""A raw Parquet file handed in by a person (``bovespa ingest``): its day, and the contract,
both before the file goes anywhere (a refused file cannot replace a day's good raw object).
"""

from __future__ import annotations

import os
import stat
import tempfile
from collections.abc import Mapping
from datetime import date
from pathlib import Path

from services.pipeline.b3.codes import index_argument
from services.pipeline.b3.indices import UnknownIndex, canonical
from services.pipeline.errors import BadArgument
from services.pipeline.lake.layout import RawDay
from services.pipeline.lake.storage import LocalLake
from services.pipeline.validate.contract import read_checked, validate

MAX_FILE_BYTES = 16 * 1024 * 1024  # what ``bovespa ingest`` reads at most (a day: ~10 KB)


def b3_code(code: str) -> str:
    """B3's own code of a published index, else :class:`UnknownIndex` (an alias names it)."""
    found, alias = canonical(index_argument(code))
    if alias:
        raise UnknownIndex(f"{alias}: pass --index {found}")
    return found


def raw_day(index: str | None, dt: str | None, metadata: Mapping[bytes, bytes]) -> RawDay:
    """Index (B3's code, the one the file's footer names) and trading day of a raw file: the
    options, else its footer's ``metadata`` (:func:`~services.pipeline.lake.raw.to_table`)."""
    own = metadata.get(b"bovespa.index", b"").decode(errors="replace")
    code, day = index or own, dt or metadata.get(b"bovespa.dt", b"").decode(errors="replace")
    if not code or not day:
        raise BadArgument("the file does not say its index and dt: pass --index and --dt")
    try:
        trading_day = date.fromisoformat(day if len(day) == len("YYYY-MM-DD") else "")
    except ValueError:
        raise BadArgument(f"dt {day[:40]!r} is not a YYYY-MM-DD date") from None
    found = b3_code(code)
    if own and own != found:
        raise BadArgument(f"index {found}, but the file's own data says {own[:40]!r}")
    return RawDay(found, trading_day)


def checked_file(file: Path, index: str | None, dt: str | None) -> tuple[RawDay, bytes]:
    """The day and bytes of ``file`` once the data contract passes them as that day's raw
    object: only a regular file (a FIFO is opened without waiting) of ``MAX_FILE_BYTES``."""
    index = b3_code(index) if index else None  # refused before the file is read
    with open(os.open(file, os.O_RDONLY | os.O_NONBLOCK), "rb") as stream:
        status = os.fstat(stream.fileno())
        if not stat.S_ISREG(status.st_mode):
            raise BadArgument(f"{file} is not a regular file")
        if status.st_size > MAX_FILE_BYTES:
            raise BadArgument(f"{file} holds {status.st_size} bytes, over {MAX_FILE_BYTES}")
        data = stream.read(MAX_FILE_BYTES)  # a file grown since is cut: the contract refuses it
    day = raw_day(index, dt, read_checked(data, str(file)).schema.metadata or {})
    with tempfile.TemporaryDirectory(prefix="bovespa-ingest-") as scratch:
        (lake := LocalLake(scratch)).write_bytes(day.key, data)
        validate(lake.uri_of(day.key), lake=lake)
    return day, data

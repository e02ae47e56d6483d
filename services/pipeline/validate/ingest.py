"""A file handed in by a person -- a raw Parquet file (``bovespa ingest``) or B3's CSV
download (``ingest``, ``backfill``, or dropped under ``inbox/``): its day and the contract,
both before it goes anywhere (a refused file cannot replace a day's good raw object).
"""

from __future__ import annotations

import hashlib
import io
import os
import stat
from collections.abc import Mapping
from datetime import date, datetime
from pathlib import Path

import pyarrow.parquet as pq

from services.pipeline import settings
from services.pipeline.b3 import calendar
from services.pipeline.b3.codes import index_argument
from services.pipeline.b3.download import PROVENANCE, read_download
from services.pipeline.b3.indices import UnknownIndex, canonical
from services.pipeline.b3.portfolio import Portfolio
from services.pipeline.errors import BadArgument
from services.pipeline.lake import datasets
from services.pipeline.lake.datasets import DAILY
from services.pipeline.lake.layout import RawDay
from services.pipeline.lake.raw import to_parquet_bytes, to_table, write_raw
from services.pipeline.lake.storage import NO_VERSION, Lake, open_lake
from services.pipeline.validate.contract import check_raw, check_trading_day, read_checked

MAX_FILE_BYTES = 16 * 1024 * 1024  # what is read of a handed-in file at most (a day: ~10 KB)


def b3_code(code: str) -> str:
    """B3's own code of a published index, else :class:`UnknownIndex` (an alias names it)."""
    found, alias = canonical(index_argument(code))
    if alias:
        raise UnknownIndex(f"{alias}: pass --index {found}")
    return found


def is_download(uri: str) -> bool:
    """A file dropped under ``inbox/`` as B3's CSV download (any name ending ``.csv``)."""
    return f"/{settings.INBOX_PREFIX}/" in uri and uri.lower().endswith(".csv")


def read_checked_download(data: bytes, name: str, now: datetime) -> tuple[str, Portfolio]:
    """B3's CSV download (the file ``name``) once the contract passes it, and its raw
    object's key: a day's under ``raw/``, a four-month portfolio's as its cycle's
    theoretical portfolio, dated to the cycle's first session (docs/raw-layer.md)."""
    portfolio = read_download(data, name, fetched_at=now)
    index, dt = b3_code(portfolio.index), portfolio.trading_date
    if portfolio.dataset is DAILY:
        check_raw(to_parquet_bytes(to_table(portfolio)), name, dt, now)
    else:
        check_trading_day(dt, now)
    return datasets.object_key(portfolio.dataset, index, dt), portfolio


def land_download(
    lake: Lake, data: bytes, name: str, now: datetime, writer: str
) -> tuple[str, str, str | None]:
    """Write B3's CSV download ``data`` (the file ``name``) as its raw object once the
    contract passes it; return the object's key, version and, where it stays as it was,
    why: B3's API answer wins over a download (it has the sectors and ranks), and the same
    download again writes nothing (docs/raw-layer.md)."""
    key, portfolio = read_checked_download(data, name, now)
    held = f"{portfolio.dataset.prefix}/ holds"
    what = f"{portfolio.index} {portfolio.trading_date}"
    if lake.list(key) == [key]:
        current = lake.read_object(key)
        source = pq.ParquetFile(io.BytesIO(current.data)).read_row_group(0).slice(0, 1)
        if not source["source_url"][0].as_py().startswith(PROVENANCE):
            return key, current.version, f"{held} B3's API answer for {what}: it stays"
        if source["body_sha256"][0].as_py() == hashlib.sha256(data).hexdigest():
            return key, current.version, f"{held} this download of {what} already"
    return key, write_raw(lake, portfolio, writer=writer).version, None


def land_inbox_download(uri: str, version: str | None) -> tuple[str, str, str | None]:
    """:func:`land_download` for the download at ``uri`` under ``inbox/`` (Validate)."""
    root, _, name = uri.rpartition(f"/{settings.INBOX_PREFIX}/")
    lake = open_lake(root)
    stored = lake.read_object(f"{settings.INBOX_PREFIX}/{name}", version or NO_VERSION)
    key, landed, kept = land_download(
        lake, stored.data, name, calendar.now(), settings.WRITER_VALIDATE
    )
    return lake.uri_of(key), landed, kept


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


def read_file(file: Path) -> bytes:
    """The bytes of ``file``: only a regular file (a FIFO is opened without waiting) of at
    most ``MAX_FILE_BYTES``."""
    with open(os.open(file, os.O_RDONLY | os.O_NONBLOCK), "rb") as stream:
        status = os.fstat(stream.fileno())
        if not stat.S_ISREG(status.st_mode):
            raise BadArgument(f"{file} is not a regular file")
        if status.st_size > MAX_FILE_BYTES:
            raise BadArgument(f"{file} holds {status.st_size} bytes, over {MAX_FILE_BYTES}")
        return stream.read(MAX_FILE_BYTES)  # a file grown since is cut: the contract refuses it


def checked_file(file: Path, index: str | None, dt: str | None) -> tuple[str, bytes]:
    """The inbox key and bytes of ``file`` once the data contract passes it: a raw Parquet
    file as its day's raw object, a CSV download (``*.csv``) as B3's portfolio it holds."""
    index = b3_code(index) if index else None  # refused before the file is read
    data, now = read_file(file), calendar.now()
    if file.suffix.lower() == ".csv":
        _, portfolio = read_checked_download(data, file.name, now)
        own = (portfolio.index, portfolio.trading_date.isoformat())
        if (index or own[0], dt or own[1]) != own:
            raise BadArgument(f"--index/--dt say {index} {dt}; the file's title line says {own}")
        return f"{settings.INBOX_PREFIX}/{file.name}", data
    day = raw_day(index, dt, read_checked(data, str(file)).schema.metadata or {})
    check_raw(data, str(file), day.dt, now)
    return f"{settings.INBOX_PREFIX}/{day.key.partition('/')[2]}", data

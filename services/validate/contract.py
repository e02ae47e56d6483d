"""The raw layer's data contract, checked on a raw Parquet object before anything downstream.

The object may have been written by the scraper or dropped by hand, so nothing is taken
on trust: its key must follow the raw layout, its schema must be :data:`RAW_SCHEMA`
exactly, and its rows must pass the same reconciliation checks the scraper runs (they are
the same functions). Every failure is its own exception type, named for the check.
"""

from __future__ import annotations

import io
import re
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from services import settings
from services.b3 import calendar
from services.b3.portfolio import Asset, Header, check_totals
from services.lake.raw import RAW_SCHEMA
from services.lake.storage import Lake, open_lake

RAW_KEY = re.compile(
    rf"(?P<root>.*?)/?(?P<key>{settings.RAW_PREFIX}/index=(?P<index>[A-Z0-9]{{2,8}})/"
    r"dt=(?P<dt>\d{4}-\d{2}-\d{2})/[^/]+\.parquet)"
)
HEADER_COLUMNS = (
    "header_date",
    "header_part",
    "header_theoricalQty",
    "header_reductor",
    "page_totalRecords",
)


class ContractViolation(Exception):
    """Base class: the raw object breaks the data contract; nothing downstream may run."""


class NotARawObject(ContractViolation):
    """The key does not follow ``raw/index=<INDEX>/dt=<YYYY-MM-DD>/<name>.parquet``."""


class UnreadableParquet(ContractViolation):
    """The object is not a readable Parquet file."""


class SchemaMismatch(ContractViolation):
    """Columns are missing, extra, or of another type than the raw schema's."""


class MissingValues(ContractViolation):
    """A required column has nulls."""


class HeaderMismatch(ContractViolation):
    """The B3 header columns differ between rows, or disagree with the path's date."""


class NotATradingDay(ContractViolation):
    """The trading date is not a B3 session (weekend, holiday), or lies beyond the next
    session after now, which B3 cannot have published yet."""

    #: Exit code of ``bovespa scrape`` when B3's header date breaks this rule.
    exit_code = 8


def split_uri(uri: str) -> tuple[str, str, str, date]:
    """``(lake URI, key, index, dt)`` of a raw object's URI or path."""
    match = RAW_KEY.fullmatch(uri)
    if match is None:
        raise NotARawObject(
            f"{uri} is not a raw object: expected .../raw/index=<INDEX>/dt=<YYYY-MM-DD>/*.parquet"
        )
    try:
        dt = date.fromisoformat(match["dt"])
    except ValueError:
        raise NotARawObject(f"{uri}: dt={match['dt']} is not a date") from None
    return match["root"] or ".", match["key"], match["index"], dt


def validate(uri: str, *, lake: Lake | None = None, now: datetime | None = None) -> dict[str, Any]:
    """Check the raw object at ``uri``; return ``{dt, index, rows, uri}`` or raise.

    ``now`` is the instant the date rule is judged at (default: :func:`calendar.now`).
    """
    root, key, index, dt = split_uri(uri)
    lake = lake or open_lake(root)
    try:
        table = pq.read_table(io.BytesIO(lake.read_bytes(key)))
    except pa.ArrowInvalid as error:
        raise UnreadableParquet(f"{uri} is not a readable Parquet file: {error}") from None
    check_schema(table.schema)
    rows = table.to_pylist()
    check_values(rows)
    header = check_header(rows, dt)
    check_trading_day(dt, now or calendar.now())
    assets = [
        Asset(
            segment=row["segment"],
            cod=row["cod"],
            asset=row["asset"],
            type_raw=row["type"],
            type_normalized=row["type_normalized"],
            part=row["part"],
            part_acum=row["partAcum"],
            theoretical_qty=row["theoricalQty"],
            page_number=1,
        )
        for row in rows
    ]
    check_totals(header, rows[0]["page_totalRecords"], assets)
    return {"dt": dt.isoformat(), "index": index, "rows": len(rows), "uri": lake.uri_of(key)}


def check_schema(schema: pa.Schema) -> None:
    """Same column names, in any order, with exactly the raw schema's types."""
    expected = {field.name: field.type for field in RAW_SCHEMA}
    actual = {field.name: field.type for field in schema}
    problems = [f"missing {name}" for name in expected if name not in actual]
    problems += [f"unexpected {name}" for name in actual if name not in expected]
    problems += [
        f"{name} is {actual[name]}, not {kind}"
        for name, kind in expected.items()
        if name in actual and actual[name] != kind
    ]
    if problems:
        raise SchemaMismatch(f"raw schema check failed: {'; '.join(problems)}")


def check_values(rows: list[dict[str, Any]]) -> None:
    """At least one row, and no nulls in a column the contract requires."""
    if not rows:
        raise MissingValues("the raw object has no rows")
    required = [f.name for f in RAW_SCHEMA if not f.nullable] + ["segment"]
    for name in required:
        empty = sum(1 for row in rows if row[name] is None)
        if empty:
            raise MissingValues(f"column {name} is null in {empty} of {len(rows)} rows")


def check_header(rows: list[dict[str, Any]], dt: date) -> Header:
    """One B3 header for the whole object, dated as the path says."""
    distinct = {tuple(row[name] for name in HEADER_COLUMNS) for row in rows}
    if len(distinct) != 1:
        raise HeaderMismatch(f"the header columns take {len(distinct)} different values")
    date_raw, part, qty, reductor, _ = distinct.pop()
    try:
        header_date = datetime.strptime(date_raw, "%d/%m/%y").date()
    except ValueError:
        raise HeaderMismatch(f"header_date {date_raw!r} is not dd/mm/yy") from None
    if header_date != dt:
        raise HeaderMismatch(f"header_date {date_raw} is {header_date}, the path says dt={dt}")
    return Header(
        trading_date=dt,
        date_raw=date_raw,
        part=Decimal(part),
        theoretical_qty=qty,
        reductor=Decimal(reductor),
    )


def check_trading_day(dt: date, now: datetime) -> None:
    """``dt`` must be a B3 session no later than the next session after ``now``.

    B3 serves the next session's portfolio as soon as a session has closed (and on
    weekends and holidays), so tonight's scrape of tomorrow's portfolio passes; a weekend
    day, a holiday (named), or a day further ahead does not.
    """
    if not calendar.is_session(dt):
        weekday = calendar.WEEKDAY_NAMES[dt.weekday()]
        holiday = calendar.holiday_name(dt)
        if dt.weekday() >= 5:
            why = f"{weekday}" + (f" ({holiday})" if holiday else "")
        else:
            why = holiday or "B3 holds no session that day"
        raise NotATradingDay(f"dt={dt} is not a B3 session: {why}")
    latest = calendar.latest_publishable_session(now)
    if dt > latest:
        local = calendar.to_sao_paulo(now)
        raise NotATradingDay(
            f"dt={dt} is after {calendar.session_label(latest)}, the next B3 session after "
            f"now ({local:%Y-%m-%d %H:%M} in São Paulo): B3 cannot have published it yet"
        )

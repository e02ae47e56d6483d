"""The raw layer's data contract, checked on a raw Parquet object before anything downstream.

The object may be dropped by hand under ``inbox/`` (promoted to ``raw/`` once it passes), so
nothing is taken on trust: its key, its schema (:data:`RAW_SCHEMA` exactly) and the
scraper's own reconciliation checks. The rows never become Python objects: the footer
bounds the row count and what the strings decode to, and every check is an Arrow kernel.
"""

from __future__ import annotations

import hashlib
import io
import re
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from services.pipeline import settings
from services.pipeline.b3 import calendar, portfolio
from services.pipeline.b3.codes import TICKER_FULL
from services.pipeline.b3.download import PROVENANCE
from services.pipeline.b3.errors import SchemaDrift
from services.pipeline.b3.portfolio import RowTotals, Totals, check_totals
from services.pipeline.lake.datasets import THEORETICAL
from services.pipeline.lake.layout import DATE, NotARawKey, partition_regex, split_raw_uri
from services.pipeline.lake.raw import RAW_SCHEMA, SCHEMAS
from services.pipeline.lake.storage import NO_VERSION, Lake, open_lake
from services.pipeline.validate.errors import (
    HeaderMismatch,
    MissingValues,
    NotARawObject,
    NotATradingDay,
    SchemaMismatch,
    TooLarge,
    TooManyRows,
    UnreadableParquet,
)

#: B3's header and page totals, repeated on every row.
HEADER_COLUMNS = tuple(name for name in RAW_SCHEMA.names if name.startswith(("header_", "page_")))
#: Columns that hold a B3 number: none may be negative.
NUMBER_COLUMNS = tuple(
    field.name
    for field in RAW_SCHEMA
    if pa.types.is_decimal(field.type) or pa.types.is_integer(field.type)
)
#: How far a scraper's clock may run ahead of Validate's (local clocks frozen per Lambda drift).
CLOCK_SKEW = timedelta(hours=1)
#: A bound on what a raw object's strings decode to, from its footer (a real day: < 1 MiB).
MAX_DECODED = 64 * 1024 * 1024
#: A theoretical portfolio's raw object: its lake root, then its key.
_THEORETICAL = re.compile(
    rf"(?P<root>.*)/(?P<key>{partition_regex(THEORETICAL.prefix, dt=DATE)}/"
    rf"{re.escape(THEORETICAL.object_name)})"
)


def validate(
    uri: str, version: str | None = None, *, lake: Lake | None = None,
    now: datetime | None = None, max_rows: int = settings.MAX_RAW_ROWS,
) -> dict[str, Any]:  # fmt: skip
    """Check ``version`` (default: the latest) of the raw object, or the inbox object to
    promote, at ``uri``; return ``{dt, index, rows, uri}`` and the pin of the raw bytes
    that passed (``sha256``, the store's ``version`` and ``etag``): what the Glue job
    refines (a theoretical portfolio's: :func:`pin_theoretical`). A failure writes nothing."""
    if theoretical := _THEORETICAL.fullmatch(uri):
        return pin_theoretical(theoretical, version, lake)
    head, inbox, rest = uri.rpartition(f"{settings.INBOX_PREFIX}/index=")
    promote = bool(inbox) and head[-1:] in {"", "/"}
    try:
        root, key, day = split_raw_uri(
            f"{head}{settings.RAW_PREFIX}/index={rest}" if promote else uri
        )
    except NotARawKey as error:
        raise NotARawObject(str(error)) from None
    dt, lake = day.dt, lake or open_lake(root)
    source = f"{settings.INBOX_PREFIX}/{key.partition('/')[2]}" if promote else key
    stored = lake.read_object(source, version or NO_VERSION)
    table = check_raw(stored.data, uri, dt, now or calendar.now(), max_rows)
    pin = lake.write_pinned(key, stored.data) if promote else stored
    return {
        "dt": dt.isoformat(),
        "index": day.index,
        "rows": table.num_rows,
        "uri": lake.uri_of(key),
        "sha256": hashlib.sha256(stored.data).hexdigest(),
        "version": pin.version,
        "etag": pin.etag,
    }


def pin_theoretical(
    found: re.Match[str], version: str | None, lake: Lake | None = None
) -> dict[str, Any]:
    """A theoretical portfolio's raw object (B3's four-month download, landed) once its
    schema and totals pass; its pin in the scraper's words (what the Glue job's ``--ahead``
    takes)."""
    key, lake = found["key"], lake or open_lake(found["root"] or "/")
    stored = lake.read_object(key, version or NO_VERSION)
    table = read_checked(stored.data, found[0], schema=SCHEMAS[THEORETICAL])
    if table.num_rows == 0:
        raise MissingValues("the raw object has no rows")
    first = table.slice(0, 1).to_pylist()[0]
    header = Totals(first["header_part"], first["header_theoricalQty"], first["header_reductor"])
    check_totals(header, first["page_totalRecords"], totals_of(table))
    return {
        "index": found["index"], "dt": found["dt"], "dataset": THEORETICAL.name,
        "status": "stored", THEORETICAL.period: first[THEORETICAL.period],
        "rows": table.num_rows, "uri": lake.uri_of(key), "version": stored.version,
        "object_sha256": hashlib.sha256(stored.data).hexdigest(),
    }  # fmt: skip


def check_raw(
    data: bytes, uri: str, dt: date, now: datetime, max_rows: int = settings.MAX_RAW_ROWS
) -> pa.Table:
    """The table of raw bytes for the day ``dt`` once the whole contract passes them."""
    table = read_checked(data, uri, max_rows)
    check_values(table)
    header = check_header(table, dt)
    check_trading_day(dt, now)
    check_codes_and_signs(table, now)
    check_totals(header, table["page_totalRecords"][0].as_py(), totals_of(table))
    return table


def read_checked(
    data: bytes, uri: str, max_rows: int = settings.MAX_RAW_ROWS, schema: pa.Schema = RAW_SCHEMA
) -> pa.Table:
    """The object's table, once its footer shows ``schema`` within its bounds."""
    try:
        parquet = pq.ParquetFile(io.BytesIO(data))
        check_schema(parquet.schema_arrow, schema)
        rows = parquet.metadata.num_rows
        if rows > max_rows:
            raise TooManyRows(
                f"{uri} holds {rows} rows; a raw object may hold {max_rows} (MAX_RAW_ROWS)"
            )
        decoded = sum(  # a dictionary's value is at most its chunk, repeated on every row
            c["total_uncompressed_size"] * (c["num_values"] if c["has_dictionary_page"] else 1)
            for group in parquet.metadata.to_dict()["row_groups"]
            for c in group["columns"]
            if c["physical_type"] == "BYTE_ARRAY"
        )
        if decoded > MAX_DECODED:
            raise TooLarge(f"{uri}: strings may decode to {decoded} bytes, over {MAX_DECODED}")
        table: pa.Table = parquet.read()
    except (pa.ArrowException, OSError) as error:
        first = str(error).strip().splitlines()[0] if str(error).strip() else ""
        raise UnreadableParquet(f"{uri} is not a readable Parquet file: {first}") from None
    return table


def check_schema(schema: pa.Schema, raw: pa.Schema = RAW_SCHEMA) -> None:
    """Same column names, in any order, with exactly the ``raw`` schema's types."""
    expected = {field.name: field.type for field in raw}
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


def check_values(table: pa.Table) -> None:
    """At least one row, and no nulls in a column the contract requires (the sector, but in
    B3's CSV download, which has none)."""
    if table.num_rows == 0:
        raise MissingValues("the raw object has no rows")
    download = pc.all(pc.starts_with(table["source_url"], PROVENANCE)).as_py()
    required = [f.name for f in RAW_SCHEMA if not f.nullable] + ([] if download else ["segment"])
    for name in required:
        if empty := table[name].null_count:
            raise MissingValues(f"column {name} is null in {empty} of {table.num_rows} rows")


def check_header(table: pa.Table, dt: date) -> Totals:
    """One B3 header for the whole object, dated as the path says."""
    distinct = table.select(list(HEADER_COLUMNS)).group_by(list(HEADER_COLUMNS)).aggregate([])
    if distinct.num_rows != 1:
        raise HeaderMismatch(f"the header columns take {distinct.num_rows} different values")
    date_raw, part, qty, reductor, _ = (distinct[name][0].as_py() for name in HEADER_COLUMNS)
    try:
        header_date = datetime.strptime(date_raw, "%d/%m/%y").date()
    except ValueError:
        raise HeaderMismatch(f"header_date {date_raw[:40]!r} is not dd/mm/yy") from None
    if header_date != dt:
        raise HeaderMismatch(f"header_date {date_raw} is {header_date}, the path says dt={dt}")
    return Totals(part, qty, reductor)


def check_codes_and_signs(table: pa.Table, now: datetime) -> None:
    """Every ``cod`` is a B3 ticker (it becomes a path), every ``body_sha256`` a digest, no
    B3 number is negative and no body was fetched after ``now`` (give or take CLOCK_SKEW)."""
    for name, shape, what in (
        ("cod", TICKER_FULL, "B3 tickers (4 capitals or digits, 1-2 digits, an optional letter)"),
        ("body_sha256", "^[0-9a-f]{64}$", "SHA-256 digests (64 lower-case hex digits)"),
    ):
        bad = table.filter(pc.invert(pc.match_substring_regex(table[name], shape)))
        if bad.num_rows:
            shown = ", ".join(repr(v)[:40] for v in bad[name].slice(0, 3).to_pylist())
            raise SchemaDrift(
                f"column {name}: {bad.num_rows} of {table.num_rows} values are not {what} "
                f"(e.g. {shown})"
            )
    if (latest := pc.max(table["fetched_at"]).as_py()) > now + CLOCK_SKEW:
        raise SchemaDrift(f"column fetched_at: {latest:%Y-%m-%d %H:%M} UTC is after now")
    for name in NUMBER_COLUMNS:
        if negative := pc.sum(pc.less(table[name], 0)).as_py() or 0:
            raise SchemaDrift(f"column {name} is negative in {negative} of {table.num_rows} rows")
    for name in portfolio.TEXT_MAX:  # as the scraper: a file dropped by hand may not bring it
        if lost := pc.sum(pc.match_substring(table[name], portfolio.LOST)).as_py() or 0:
            rule = portfolio.LOST_RULE
            raise SchemaDrift(f"column {name} holds {rule} in {lost} of {table.num_rows} rows")


def totals_of(table: pa.Table) -> RowTotals:
    """The reconciliation totals, counted by Arrow (quantities summed without overflow)."""
    counts = pc.value_counts(table["cod"])
    duplicated = pc.filter(counts.field("values"), pc.greater(counts.field("counts"), 1))
    weight = pc.sum(table["part"]).as_py()
    return RowTotals(
        rows=table.num_rows,
        duplicated=tuple(sorted(duplicated.to_pylist())),
        quantity=int(pc.sum(pc.cast(table["theoricalQty"], pa.decimal128(38, 0))).as_py() or 0),
        weight=weight if weight is not None else Decimal(0),
    )


def check_trading_day(dt: date, now: datetime, *, scraped: bool = False) -> None:
    """``dt`` must be a B3 session no later than the next session after ``now`` (B3 serves
    it once a session has closed): a weekend, a holiday (named) or a later day fails. A
    ``scraped`` day must be one B3 may be serving at ``now``: an older body is history."""
    try:
        session = calendar.is_session(dt)
    except calendar.OutsideCalendar as outside:
        raise NotATradingDay(f"dt={dt}: {outside}") from None
    if not session:
        holiday = calendar.holiday_name(dt)
        why = holiday or "B3 holds no session that day"
        if dt.weekday() >= 5:
            why = calendar.WEEKDAYS[dt.weekday()] + (f" ({holiday})" if holiday else "")
        raise NotATradingDay(f"dt={dt} is not a B3 session: {why}")
    oldest, latest = calendar.served_sessions(now)
    local = f"now ({calendar.to_sao_paulo(now):%Y-%m-%d %H:%M} in São Paulo)"
    if dt > latest:
        raise NotATradingDay(
            f"dt={dt} is after {calendar.session_label(latest)}, the next B3 session after "
            f"{local}: B3 cannot have published it yet"
        )
    if scraped and dt < oldest:
        raise NotATradingDay(
            f"dt={dt} is before {calendar.session_label(oldest)}, the oldest session B3 may "
            f"serve {local}: not today's answer (a replay says when it runs: --as-of)"
        )

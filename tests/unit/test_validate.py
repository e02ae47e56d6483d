"""The validate step's data contract, on raw objects built from the real recordings."""

from __future__ import annotations

import hashlib
import io
import tracemalloc
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from services.pipeline.b3.errors import (
    DuplicateTickers,
    QuantityTotalMismatch,
    RowCountMismatch,
    SchemaDrift,
)
from services.pipeline.lake.layout import raw_key
from services.pipeline.lake.raw import RAW_SCHEMA, to_parquet_bytes
from services.pipeline.lake.storage import LocalLake
from services.pipeline.validate import handler as validate_handler
from services.pipeline.validate.contract import validate
from services.pipeline.validate.errors import (
    HeaderMismatch,
    MissingValues,
    NotARawObject,
    NotATradingDay,
    SchemaMismatch,
    TooManyRows,
    UnreadableParquet,
)
from tests.lakes import quantity_off, recorded_portfolio, write_days
from tests.recordings import SEGMENT2_2025_07_10

JULY_10 = date(2025, 7, 10)
#: Monday 2025-07-14, midday in São Paulo.
TODAY = datetime.fromisoformat("2025-07-14T12:00:00-03:00")


@pytest.fixture
def lake(tmp_path: Path) -> LocalLake:
    lake = LocalLake(tmp_path)
    write_days(lake, recorded_portfolio(SEGMENT2_2025_07_10), [JULY_10])
    return lake


def uri(lake: LocalLake, day: date = JULY_10) -> str:
    return lake.uri_of(raw_key("IBOV", day))


def rewrite(lake: LocalLake, change: object) -> None:
    table = pq.read_table(io.BytesIO(lake.read_bytes(raw_key("IBOV", JULY_10))))
    lake.write_bytes(raw_key("IBOV", JULY_10), to_parquet_bytes(change(table)))  # type: ignore[operator]


def test_a_valid_object_passes_with_its_numbers_and_the_pin_of_its_bytes(lake: LocalLake) -> None:
    data = lake.read_bytes(raw_key("IBOV", JULY_10))
    assert validate(uri(lake), now=TODAY) == {
        "dt": "2025-07-10",
        "index": "IBOV",
        "rows": 84,
        "uri": uri(lake),
        "sha256": hashlib.sha256(data).hexdigest(),
        "version": "null",  # a directory keeps no versions
        "etag": None,
    }


def test_the_handler_runs_as_a_plain_function(lake: LocalLake) -> None:
    result = validate_handler.handler({"uri": uri(lake)}, None)
    assert (result["dt"], result["rows"]) == ("2025-07-10", 84)


def inbox_key(day: date = JULY_10) -> str:
    return f"inbox/index=IBOV/dt={day.isoformat()}/portfolio.parquet"


def test_an_inbox_object_that_passes_is_promoted_byte_for_byte_to_raw(lake: LocalLake) -> None:
    data = lake.read_bytes(raw_key("IBOV", JULY_10))
    lake.delete(raw_key("IBOV", JULY_10))
    lake.write_bytes(inbox_key(), data)
    result = validate_handler.handler({"uri": lake.uri_of(inbox_key()), "version": None}, None)
    assert lake.read_bytes(raw_key("IBOV", JULY_10)) == data
    assert result == {
        "dt": "2025-07-10",
        "index": "IBOV",
        "rows": 84,
        "uri": uri(lake),  # the pin is the raw object's
        "sha256": hashlib.sha256(data).hexdigest(),
        "version": "null",
        "etag": None,
    }


def test_a_refused_inbox_object_leaves_raw_untouched(lake: LocalLake) -> None:
    good, before = lake.read_bytes(raw_key("IBOV", JULY_10)), lake.list("raw/")
    lake.write_bytes(inbox_key(), good[: len(good) // 2])
    with pytest.raises(UnreadableParquet):
        validate(lake.uri_of(inbox_key()), now=TODAY)
    july_11 = date(2025, 7, 11)
    lake.write_bytes(inbox_key(july_11), good)  # July 10th's portfolio, dropped as the 11th
    with pytest.raises(HeaderMismatch):
        validate(lake.uri_of(inbox_key(july_11)), now=TODAY)
    assert lake.read_bytes(raw_key("IBOV", JULY_10)) == good
    assert lake.list("raw/") == before


def test_a_weekend_day_is_not_a_trading_day(lake: LocalLake) -> None:
    saturday = date(2025, 7, 12)
    write_days(lake, recorded_portfolio(SEGMENT2_2025_07_10), [saturday])
    with pytest.raises(NotATradingDay, match="^dt=2025-07-12 is not a B3 session: Saturday$"):
        validate(uri(lake, saturday), now=TODAY)


@pytest.mark.parametrize(
    ("day", "message"),
    [
        (date(2025, 12, 25), "dt=2025-12-25 is not a B3 session: Natal"),
        (date(2025, 3, 3), "dt=2025-03-03 is not a B3 session: Carnaval Segunda"),
        (date(2025, 12, 24), "dt=2025-12-24 is not a B3 session: Vespera Natal"),
        (
            date(2025, 11, 15),
            "dt=2025-11-15 is not a B3 session: Saturday (Proclamacao da Republica)",
        ),
    ],
)
def test_a_holiday_is_refused_by_name(lake: LocalLake, day: date, message: str) -> None:
    write_days(lake, recorded_portfolio(SEGMENT2_2025_07_10), [day])
    with pytest.raises(NotATradingDay) as refused:
        validate(uri(lake, day), now=datetime.fromisoformat("2026-01-05T12:00:00-03:00"))
    assert str(refused.value) == message


@pytest.mark.parametrize(
    ("now", "day"),
    [
        # tonight's scrape of tomorrow's portfolio
        ("2026-11-25T20:30:00-03:00", date(2026, 11, 26)),
        # a Saturday's scrape of Monday's; a holiday evening's of the next day (recordings)
        ("2025-07-05T12:00:00-03:00", date(2025, 7, 7)),
        ("2025-06-19T20:00:00-03:00", date(2025, 6, 20)),
        # the same instant written in UTC, already Thursday there
        ("2026-11-26T01:30:00+00:00", date(2026, 11, 26)),
        # the day's own portfolio, and an old one
        ("2025-07-10T08:00:00-03:00", date(2025, 7, 10)),
        ("2025-07-14T12:00:00-03:00", date(2025, 7, 10)),
    ],
)
def test_the_next_session_after_now_is_accepted(lake: LocalLake, now: str, day: date) -> None:
    write_days(lake, recorded_portfolio(SEGMENT2_2025_07_10), [day])
    assert validate(uri(lake, day), now=datetime.fromisoformat(now))["dt"] == day.isoformat()


def test_a_day_outside_the_calendars_span_is_refused(lake: LocalLake) -> None:
    day = date(1999, 12, 30)
    write_days(lake, recorded_portfolio(SEGMENT2_2025_07_10), [day])
    with pytest.raises(NotATradingDay, match=r"^dt=1999-12-30: 1999-12-30 is outside B3's"):
        validate(uri(lake, day), now=TODAY)


def test_a_session_beyond_the_next_one_is_refused(lake: LocalLake) -> None:
    friday = date(2026, 11, 27)
    write_days(lake, recorded_portfolio(SEGMENT2_2025_07_10), [friday])
    with pytest.raises(NotATradingDay) as refused:
        validate(uri(lake, friday), now=datetime.fromisoformat("2026-11-25T20:30:00-03:00"))
    assert str(refused.value) == (
        "dt=2026-11-27 is after Thu 2026-11-26, the next B3 session after now "
        "(2026-11-25 20:30 in São Paulo): B3 cannot have published it yet"
    )
    with pytest.raises(NotATradingDay, match="^dt=2025-07-10 is after Wed 2025-07-09, "):
        validate(uri(lake), now=datetime.fromisoformat("2025-07-08T20:00:00-03:00"))


def test_a_float_weight_breaks_the_schema(lake: LocalLake) -> None:
    rewrite(
        lake,
        lambda t: t.set_column(
            t.schema.get_field_index("part"), "part", pc.cast(t["part"], pa.float64())
        ),
    )
    with pytest.raises(SchemaMismatch, match=r"part is double, not decimal128\(7, 3\)"):
        validate(uri(lake), now=TODAY)


def test_missing_and_extra_columns_break_the_schema(lake: LocalLake) -> None:
    rewrite(lake, lambda t: t.drop(["segment"]).append_column("x", pa.array([1] * t.num_rows)))
    with pytest.raises(SchemaMismatch, match="missing segment; unexpected x"):
        validate(uri(lake), now=TODAY)


def test_a_null_sector_is_missing_data(lake: LocalLake) -> None:
    def null_sector(table: pa.Table) -> pa.Table:
        sectors = table["segment"].to_pylist()
        sectors[3] = None
        return table.set_column(0, "segment", pa.array(sectors, pa.string()))

    rewrite(lake, null_sector)
    with pytest.raises(MissingValues, match="segment is null in 1 of 84 rows"):
        validate(uri(lake), now=TODAY)


def test_quantities_must_reconcile(lake: LocalLake) -> None:
    rewrite(lake, lambda table: quantity_off(table, by=1))
    with pytest.raises(QuantityTotalMismatch, match="off by 1"):
        validate(uri(lake), now=TODAY)


def test_rows_must_match_b3s_count_and_tickers_be_unique(lake: LocalLake) -> None:
    rewrite(lake, lambda t: t.slice(0, 83))
    with pytest.raises(RowCountMismatch, match="got 83 rows, page.totalRecords is 84"):
        validate(uri(lake), now=TODAY)
    write_days(lake, recorded_portfolio(SEGMENT2_2025_07_10), [JULY_10])
    rewrite(lake, lambda t: pa.concat_tables([t.slice(1), t.slice(1, 1)]))
    with pytest.raises(DuplicateTickers):
        validate(uri(lake), now=TODAY)


def test_the_header_date_must_match_the_path(lake: LocalLake, tmp_path: Path) -> None:
    moved = raw_key("IBOV", date(2025, 7, 11))
    lake.write_bytes(moved, lake.read_bytes(raw_key("IBOV", JULY_10)))
    with pytest.raises(HeaderMismatch, match="header_date 10/07/25 is 2025-07-10, the path says"):
        validate(lake.uri_of(moved), now=TODAY)


@pytest.mark.parametrize(
    "name",
    [
        "raw/index=IBOV/dt=2025-07-10/_b3-response-page-001.json",
        "refined/dt=2025-07-10/index_code=IBOV/ticker=PETR4/part-00000.snappy.parquet",
        "raw/IBOV/2025-07-10/portfolio.parquet",
        "raw/index=IBOV/dt=2025-13-40/portfolio.parquet",
        "raw/index=IBOV/dt=20250710/portfolio.parquet",
        "raw/index=IBOV/dt=2025-07-10/extra.parquet",  # only portfolio.parquet is data
        "raw/index=IBOV/dt=2025-07-10/notes.txt",
        "raw/index=ibov/dt=2025-07-10/portfolio.parquet",
    ],
)
def test_objects_outside_the_raw_layout_are_refused(tmp_path: Path, name: str) -> None:
    with pytest.raises(NotARawObject):
        validate(str(tmp_path / name), now=TODAY)


def test_bytes_that_are_not_parquet_are_refused(lake: LocalLake) -> None:
    lake.write_bytes(raw_key("IBOV", JULY_10), b"<html>520</html>")
    with pytest.raises(UnreadableParquet):
        validate(uri(lake), now=TODAY)


def set_column(table: pa.Table, name: str, values: list[object]) -> pa.Table:
    index = table.schema.get_field_index(name)
    return table.set_column(index, table.schema.field(index), pa.array(values, table[name].type))


@pytest.mark.parametrize(
    "ticker", ["PE/TR4", "PETR4=1", "__HIVE_DEFAULT_PARTITION__", "A" * 300, "petr4", "PETR 4", ""]
)
def test_a_ticker_that_is_not_b3s_is_schema_drift(lake: LocalLake, ticker: str) -> None:
    def spoil(table: pa.Table) -> pa.Table:
        return set_column(table, "cod", [ticker, *table["cod"].to_pylist()[1:]])

    rewrite(lake, spoil)
    expected = "column cod: 1 of 84 values are not B3 tickers"
    with pytest.raises(SchemaDrift, match=expected) as caught:
        validate(uri(lake), now=TODAY)
    assert len(str(caught.value)) < 250


@pytest.mark.parametrize(("column", "kind"), [("part", Decimal), ("theoricalQty", int)])
def test_a_negative_number_is_refused_even_when_totals_reconcile(
    lake: LocalLake, column: str, kind: type
) -> None:
    def shift(table: pa.Table) -> pa.Table:
        values = table[column].to_pylist()
        unit = kind("1.000") if kind is Decimal else 1
        values[1] += values[0] + unit  # the sum is unchanged
        values[0] = -unit
        return set_column(table, column, values)

    rewrite(lake, shift)
    with pytest.raises(SchemaDrift, match=f"column {column} is negative in 1 of 84 rows"):
        validate(uri(lake), now=TODAY)


def test_rows_past_the_bound_are_refused_before_any_column_is_read(lake: LocalLake) -> None:
    with pytest.raises(TooManyRows, match="holds 84 rows; a raw object may hold 83"):
        validate(uri(lake), now=TODAY, max_rows=83)
    assert validate(uri(lake), now=TODAY, max_rows=84)["rows"] == 84


def test_a_truncated_parquet_file_is_unreadable_in_one_line(lake: LocalLake) -> None:
    data = lake.read_bytes(raw_key("IBOV", JULY_10))
    lake.write_bytes(raw_key("IBOV", JULY_10), data[: len(data) // 2])
    with pytest.raises(UnreadableParquet, match="is not a readable Parquet file") as caught:
        validate(uri(lake), now=TODAY)
    assert "\n" not in str(caught.value)


def large_raw_object(rows: int) -> bytes:
    """``rows`` valid rows (unique tickers, totals that reconcile), built column-wise."""
    letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    tickers = [
        f"{letters[i // 6760 % 26]}{letters[i // 260 % 26]}{letters[i // 10 % 26]}X{i % 10}"
        for i in range(rows)
    ]
    assert len(set(tickers)) == rows
    one = Decimal("0.001")
    columns = {
        "segment": ["Financeiro / Bancos"] * rows,
        "cod": tickers,
        "asset": ["EMPRESA"] * rows,
        "type": ["ON      NM"] * rows,
        "type_normalized": ["ON NM"] * rows,
        "part": [one] * rows,
        "partAcum": [one] * rows,
        "theoricalQty": [1] * rows,
        "header_date": ["10/07/25"] * rows,
        "header_part": [one * rows] * rows,
        "header_theoricalQty": [rows] * rows,
        "header_reductor": [Decimal("15438607.05630450")] * rows,
        "page_totalRecords": [rows] * rows,
        "source_url": ["http://127.0.0.1/x"] * rows,
        "body_sha256": ["0" * 64] * rows,
        "fetched_at": [datetime(2025, 7, 10, 21, tzinfo=UTC)] * rows,
    }
    table = pa.table(
        {f.name: pa.array(columns[f.name], f.type) for f in RAW_SCHEMA}, schema=RAW_SCHEMA
    )
    return to_parquet_bytes(table)


def test_validate_does_not_turn_rows_into_python_objects(tmp_path: Path) -> None:
    """100,000 rows (the default bound): Python-side memory stays a few MB, not hundreds."""
    lake = LocalLake(tmp_path)
    lake.write_bytes(raw_key("IBOV", JULY_10), large_raw_object(100_000))
    tracemalloc.start()
    try:
        result = validate(uri(lake), now=TODAY)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert result["rows"] == 100_000
    assert peak < 16 * 1024 * 1024, f"{peak / 2**20:.0f} MiB of Python objects"

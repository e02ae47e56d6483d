"""The validate step's data contract, on raw objects built from the real recordings."""

from __future__ import annotations

import io
from datetime import date, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from services.b3.errors import DuplicateTickers, QuantityTotalMismatch, RowCountMismatch
from services.lake.layout import raw_key
from services.lake.raw import to_parquet_bytes
from services.lake.storage import LocalLake
from services.validate import handler as validate_handler
from services.validate.contract import (
    HeaderMismatch,
    MissingValues,
    NotARawObject,
    NotATradingDay,
    SchemaMismatch,
    UnreadableParquet,
    validate,
)
from tests.conftest import SEGMENT2_2025_07_10
from tests.lakes import recorded_portfolio, write_days

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


def test_a_valid_object_passes_with_its_numbers(lake: LocalLake) -> None:
    assert validate(uri(lake), now=TODAY) == {
        "dt": "2025-07-10",
        "index": "IBOV",
        "rows": 84,
        "uri": uri(lake),
    }


def test_the_handler_runs_as_a_plain_function(lake: LocalLake) -> None:
    result = validate_handler.handler({"uri": uri(lake)}, None)
    assert (result["dt"], result["rows"]) == ("2025-07-10", 84)


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
    def bump(table: pa.Table) -> pa.Table:
        qty = table["theoricalQty"].to_pylist()
        qty[0] += 1
        index = table.schema.get_field_index("theoricalQty")
        return table.set_column(index, table.schema.field(index), pa.array(qty, pa.int64()))

    rewrite(lake, bump)
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
    ],
)
def test_objects_outside_the_raw_layout_are_refused(tmp_path: Path, name: str) -> None:
    with pytest.raises(NotARawObject):
        validate(str(tmp_path / name), now=TODAY)


def test_bytes_that_are_not_parquet_are_refused(lake: LocalLake) -> None:
    lake.write_bytes(raw_key("IBOV", JULY_10), b"<html>520</html>")
    with pytest.raises(UnreadableParquet):
        validate(uri(lake), now=TODAY)

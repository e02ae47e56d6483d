"""The validate step's data contract, on raw objects built from the real recordings."""

from __future__ import annotations

import hashlib
import io
import os
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from services.pipeline import settings
from services.pipeline.b3.errors import (
    DuplicateTickers,
    QuantityTotalMismatch,
    RowCountMismatch,
    SchemaDrift,
)
from services.pipeline.errors import BadArgument
from services.pipeline.lake.layout import RawDay, raw_key
from services.pipeline.lake.raw import to_parquet_bytes
from services.pipeline.lake.storage import LocalLake
from services.pipeline.validate import handler as validate_handler
from services.pipeline.validate.contract import check_trading_day, validate
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
from services.pipeline.validate.ingest import MAX_FILE_BYTES, checked_file
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


def rewrite(lake: LocalLake, change: Callable[[pa.Table], pa.Table]) -> None:
    table = pq.read_table(io.BytesIO(lake.read_bytes(raw_key("IBOV", JULY_10))))
    lake.write_bytes(raw_key("IBOV", JULY_10), to_parquet_bytes(change(table)))


def inbox_key(day: date = JULY_10) -> str:
    return f"inbox/index=IBOV/dt={day.isoformat()}/portfolio.parquet"


def test_a_valid_object_passes_and_an_inbox_one_is_promoted_byte_for_byte(lake: LocalLake) -> None:
    data = lake.read_bytes(raw_key("IBOV", JULY_10))
    passed = {
        "dt": "2025-07-10",
        "index": "IBOV",
        "rows": 84,
        "uri": uri(lake),  # an inbox object's pin is the raw object's
        "sha256": hashlib.sha256(data).hexdigest(),
        "version": "null",  # a directory keeps no versions
        "etag": None,
    }
    assert validate(uri(lake), now=TODAY) == passed
    lake.delete(raw_key("IBOV", JULY_10))
    lake.write_bytes(inbox_key(), data)
    assert validate_handler.handler({"uri": lake.uri_of(inbox_key())}, None) == passed
    assert lake.read_bytes(raw_key("IBOV", JULY_10)) == data


def test_a_refused_inbox_object_leaves_raw_untouched(lake: LocalLake) -> None:
    good, before = lake.read_bytes(raw_key("IBOV", JULY_10)), lake.list("raw/")
    lake.write_bytes(inbox_key(), good[: len(good) // 2])
    with pytest.raises(UnreadableParquet):
        validate(lake.uri_of(inbox_key()), now=TODAY)
    july_11 = date(2025, 7, 11)
    lake.write_bytes(inbox_key(july_11), good)  # July 10th's portfolio, dropped as the 11th
    with pytest.raises(HeaderMismatch, match="header_date 10/07/25 is 2025-07-10, the path says"):
        validate(lake.uri_of(inbox_key(july_11)), now=TODAY)
    assert lake.read_bytes(raw_key("IBOV", JULY_10)) == good
    assert lake.list("raw/") == before


WEDNESDAY_EVENING = "2026-11-25T20:30:00-03:00"
JANUARY = "2026-01-05T12:00:00-03:00"


@pytest.mark.parametrize(
    ("day", "now", "message"),
    [
        (date(2025, 12, 25), JANUARY, "^dt=2025-12-25 is not a B3 session: Natal$"),
        (date(2025, 7, 12), JANUARY, "^dt=2025-07-12 is not a B3 session: Saturday$"),
        (date(2025, 3, 3), JANUARY, "B3 session: Carnaval Segunda$"),
        (date(2025, 12, 24), JANUARY, "B3 session: Vespera Natal$"),
        (date(2025, 11, 15), JANUARY,
         r"B3 session: Saturday \(Proclamacao da Republica\)$"),
        (date(1999, 12, 30), JANUARY, r"^dt=1999-12-30: 1999-12-30 is outside B3's"),
        (date(2026, 11, 27), WEDNESDAY_EVENING,
         r"^dt=2026-11-27 is after Thu 2026-11-26, the next B3 session after now "
         r"\(2026-11-25 20:30 in São Paulo\): B3 cannot have published it yet$"),
        (date(2025, 7, 10), "2025-07-08T20:00:00-03:00", "^dt=2025-07-10 is after Wed 2025-07-09"),
        (date(2020, 12, 8), "2022-12-08T20:00:00-03:00", r"^dt=2020-12-08 is before Thu "
         r"2022-12-08, the oldest session B3 may serve now \(2022-12-08 20:00 in São Paulo\): "
         r"not today's answer \(a replay says when it runs: --as-of\)$"),
        (date(2025, 7, 4), "2025-07-05T10:00:00-03:00", "^dt=2025-07-04 is before Mon 2025-07-07"),
    ],
)  # fmt: skip
def test_a_day_that_is_no_publishable_session_is_refused(day: date, now: str, message: str) -> None:
    with pytest.raises(NotATradingDay, match=message):
        check_trading_day(day, datetime.fromisoformat(now), scraped=True)


@pytest.mark.parametrize(
    ("now", "day", "scraped"),
    [
        (WEDNESDAY_EVENING, date(2026, 11, 26), True),  # tonight's scrape of tomorrow's
        (WEDNESDAY_EVENING, date(2026, 11, 25), True),  # B3 has not switched yet
        ("2026-11-26T01:30:00+00:00", date(2026, 11, 26), True),  # still Wednesday in São Paulo
        ("2025-07-14T12:00:00-03:00", date(2025, 7, 10), False),  # history, validated later
    ],
)
def test_the_sessions_b3_may_serve_are_accepted(now: str, day: date, scraped: bool) -> None:
    check_trading_day(day, datetime.fromisoformat(now), scraped=scraped)


def set_column(table: pa.Table, name: str, values: list[object]) -> pa.Table:
    index = table.schema.get_field_index(name)
    return table.set_column(index, table.schema.field(index), pa.array(values, table[name].type))


def negative_first(column: str, unit: object) -> Callable[[pa.Table], pa.Table]:
    def shift(table: pa.Table) -> pa.Table:
        values = table[column].to_pylist()
        values[1] += values[0] + unit  # the sum is unchanged
        values[0] = -unit
        return set_column(table, column, values)

    return shift


@pytest.mark.parametrize(
    ("change", "error", "message"),
    [
        (lambda t: t.set_column(t.schema.get_field_index("part"), "part",
                                pc.cast(t["part"], pa.float64())),
         SchemaMismatch, r"part is double, not decimal128\(7, 3\)"),
        (lambda t: t.drop(["segment"]).append_column("x", pa.array([1] * t.num_rows)),
         SchemaMismatch, "missing segment; unexpected x"),
        (lambda t: t.set_column(0, "segment", pa.array(
            [None if i == 3 else s for i, s in enumerate(t["segment"].to_pylist())], pa.string())),
         MissingValues, "segment is null in 1 of 84 rows"),
        (lambda t: quantity_off(t, by=1), QuantityTotalMismatch, "off by 1"),
        (lambda t: t.slice(0, 83), RowCountMismatch, "got 83 rows, page.totalRecords is 84"),
        (lambda t: pa.concat_tables([t.slice(1), t.slice(1, 1)]), DuplicateTickers, "POMO4"),
        (lambda t: set_column(t, "body_sha256", ["forged"] * t.num_rows), SchemaDrift,
         "column body_sha256: 84 of 84 values are not SHA-256 digests"),
        (lambda t: set_column(t, "fetched_at", [datetime.fromisoformat("2099-01-01T00:00Z")]
                              * t.num_rows),
         SchemaDrift, "^column fetched_at: 2099-01-01 00:00 UTC is after now$"),
        # negative numbers, even when the totals reconcile
        (negative_first("part", Decimal("1.000")), SchemaDrift,
         "column part is negative in 1 of 84 rows"),
        (negative_first("theoricalQty", 1), SchemaDrift,
         "column theoricalQty is negative in 1 of 84 rows"),
        (lambda t: set_column(t, "segment", ["Minera\ufffd\ufffdo"] * t.num_rows), SchemaDrift,
         r"^column segment holds U\+FFFD, a character lost .* in 84 of 84 rows$"),
        (lambda t: set_column(t, "asset", ["x" * 900_000] * t.num_rows),  # 84 x 1 value
         TooLarge, r"strings may decode to 7\d{7} bytes, over 67108864$"),
    ],
)  # fmt: skip
def test_a_raw_object_that_breaks_the_contract_is_refused(
    lake: LocalLake, change: Callable[[pa.Table], pa.Table], error: type[Exception], message: str
) -> None:
    rewrite(lake, change)
    with pytest.raises(error, match=message):
        validate(uri(lake), now=TODAY)


@pytest.mark.parametrize("name", [
    "raw/index=IBOV/dt=2025-07-10/_b3-response-page-001.json",
    "refined/dt=2025-07-10/index_code=IBOV/ticker=PETR4/part-00000.snappy.parquet",
    "raw/IBOV/2025-07-10/portfolio.parquet", "raw/index=IBOV/dt=2025-13-40/portfolio.parquet",
    "raw/index=IBOV/dt=20250710/portfolio.parquet", "raw/index=IBOV/dt=2025-07-10/notes.txt",
    "raw/index=IBOV/dt=2025-07-10/extra.parquet",  # only portfolio.parquet is data
    "raw/index=ibov/dt=2025-07-10/portfolio.parquet",
])  # fmt: skip
def test_objects_outside_the_raw_layout_are_refused(tmp_path: Path, name: str) -> None:
    with pytest.raises(NotARawObject):
        validate(str(tmp_path / name), now=TODAY)


def test_a_ticker_that_is_not_b3s_is_schema_drift(lake: LocalLake) -> None:
    rewrite(lake, lambda t: set_column(t, "cod", ["A" * 300, *t["cod"].to_pylist()[1:]]))
    drift = "column cod: 1 of 84 values are not B3 tickers"
    with pytest.raises(SchemaDrift, match=drift) as caught:
        validate(uri(lake), now=TODAY)
    assert len(str(caught.value)) < 250


def test_rows_past_the_bound_are_refused_before_any_column_is_read(lake: LocalLake) -> None:
    with pytest.raises(TooManyRows, match="holds 84 rows; a raw object may hold 83"):
        validate(uri(lake), now=TODAY, max_rows=83)
    assert validate(uri(lake), now=TODAY, max_rows=84)["rows"] == 84


@pytest.mark.parametrize("cut", [lambda data: b"<html>520</html>", lambda data: data[:3000]])
def test_bytes_that_are_not_a_whole_parquet_file_are_refused_in_one_line(
    lake: LocalLake, cut: object
) -> None:
    lake.write_bytes(raw_key("IBOV", JULY_10), cut(lake.read_bytes(raw_key("IBOV", JULY_10))))  # type: ignore[operator]
    with pytest.raises(UnreadableParquet, match="is not a readable Parquet file") as caught:
        validate(uri(lake), now=TODAY)
    assert "\n" not in str(caught.value)


def test_ingest_takes_a_regular_bounded_file_of_a_b3_index_it_names(
    lake: LocalLake, tmp_path: Path
) -> None:
    (file := tmp_path / "file").write_bytes(lake.read_bytes(raw_key("IBOV", JULY_10)))
    inbox = f"inbox/{RawDay('IBOV', JULY_10).key.partition('/')[2]}"
    assert checked_file(file, None, None)[0] == inbox
    for index, why in [("ZZZZ", "^unknown B3 index code 'ZZZZ'"), ("IBRX", "^index 'IBRX' is B3's"),
                       ("SMLL", "^index SMLL, but the file's own data says 'IBOV'$")]:  # fmt: skip
        with pytest.raises(BadArgument, match=why):
            checked_file(file, index, None)
    (download := tmp_path / "IBOVDia_10-07-25.csv").write_bytes(
        (settings.FIXTURES_DIR / download.name).read_bytes()
    )
    assert checked_file(download, "IBOV", "2025-07-10")[0] == f"inbox/{download.name}"
    with pytest.raises(BadArgument, match="the file's title line says"):
        checked_file(download, "IBOV", "2025-07-11")  # a CSV's title line decides
    os.mkfifo(tmp_path / "fifo")  # opening it to read would wait for a writer
    os.truncate(file, MAX_FILE_BYTES + 1)  # sparse: nothing to read, yet a bomb
    for path, why in [(Path("/dev/zero"), "not a regular"), (tmp_path / "fifo", "not a regular"),
                      (file, f"holds {MAX_FILE_BYTES + 1} bytes, over")]:  # fmt: skip
        with pytest.raises(BadArgument, match=why):
            checked_file(path, "IBOV", "2025-07-10")

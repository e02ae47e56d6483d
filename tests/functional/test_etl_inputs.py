"""The Glue job's input check, on both engine paths (LocalIO, and GlueIO with local Spark).

Whatever reaches the job's Spark — pinned bytes an older or faulty Validate passed — a value
that would become a refined path must be a B3 code, and an unreadable raw object must be
one named line, before anything is written. Without pins (``bovespa etl``, a backfill) the
local engine applies the contract itself and skips, and reports, a day it refuses.
"""

from __future__ import annotations

import hashlib
import io
from datetime import date
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from glue.job import JobArgs, parse_args, run
from glue.lakeio import Pin
from services.pipeline.b3.errors import SchemaDrift
from services.pipeline.errors import BadArgument
from services.pipeline.lake.layout import RawDay
from services.pipeline.lake.raw import raw_key, to_parquet_bytes
from services.pipeline.lake.storage import LocalLake
from services.pipeline.validate.errors import UnreadableParquet
from tests.lakes import recorded_portfolio, write_days
from tests.recordings import SEGMENT2_2025_07_10

pytestmark = pytest.mark.spark

JULY_10, JULY_11 = date(2025, 7, 10), date(2025, 7, 11)
ENGINES = pytest.mark.parametrize("engine", ["local", "glue"])


def refine(
    spark: Any, lake: Path, engine: str, start: date, end: date, *, pinned: bool = False
) -> dict[str, Any]:
    """Run the job over the days; ``pinned``: on the raw objects' current bytes, as if
    Validate had passed them (the state machine's ``--objects``)."""
    store = LocalLake(lake)
    days = [RawDay("IBOV", d) for d in (start, end)]
    args = JobArgs(
        lake=str(lake),
        start=start,
        end=end,
        processing_date=date(2025, 7, 14),
        catalog=False,
        engine=engine,
        objects={d: Pin(hashlib.sha256(store.read_bytes(d.key)).hexdigest()) for d in days}
        if pinned
        else {},
    )
    return run(args, spark)


def refined_files(lake: Path) -> dict[str, bytes]:
    root = lake / "refined"
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


@pytest.fixture
def two_days(spark: Any, tmp_path: Path) -> Path:
    """July 10 and 11 in raw; July 11 already refined (it must survive a failed run)."""
    write_days(LocalLake(tmp_path), recorded_portfolio(SEGMENT2_2025_07_10), [JULY_10, JULY_11])
    refine(spark, tmp_path, "local", JULY_11, JULY_11)
    return tmp_path


def spoil_ticker(lake: Path, ticker: str) -> None:
    key = raw_key("IBOV", JULY_10)
    store = LocalLake(lake)
    table = pq.read_table(io.BytesIO(store.read_bytes(key)))
    cod = table.schema.get_field_index("cod")
    values = [ticker, *table["cod"].to_pylist()[1:]]
    table = table.set_column(cod, table.schema.field(cod), pa.array(values, pa.string()))
    store.write_bytes(key, to_parquet_bytes(table))


@ENGINES
@pytest.mark.parametrize(
    "ticker", ["PETR4=1/x", "A" * 300, "__HIVE_DEFAULT_PARTITION__"], ids=["slash", "300", "hive"]
)
def test_a_hostile_ticker_is_schema_drift_before_any_write(
    spark: Any, two_days: Path, engine: str, ticker: str
) -> None:
    before = refined_files(two_days)
    spoil_ticker(two_days, ticker)
    with pytest.raises(SchemaDrift, match=r"raw row of 2025-07-10/IBOV: ticker \(cod\): ") as err:
        refine(spark, two_days, engine, JULY_10, JULY_11, pinned=True)
    assert "is not a B3 ticker" in str(err.value)
    assert "\n" not in str(err.value)
    assert len(str(err.value)) < 250
    assert refined_files(two_days) == before  # July 11 whole, nothing of July 10


@pytest.mark.parametrize("ticker", ["PETR4=1/x", "__HIVE_DEFAULT_PARTITION__"])
def test_without_pins_the_local_engine_skips_a_hostile_day_and_says_so(
    spark: Any, two_days: Path, ticker: str
) -> None:
    spoil_ticker(two_days, ticker)
    summary = refine(spark, two_days, "local", JULY_10, JULY_11)
    (skipped,) = summary["skipped"]
    assert skipped.startswith("skipped IBOV 2025-07-10 (Thursday): SchemaDrift: column cod: ")
    assert f"1 of 84 values are not B3 tickers (e.g. {ticker!r})" in skipped
    assert (summary["days"], summary["rows"]) == (["2025-07-11"], 84)
    assert not (two_days / "refined" / "dt=2025-07-10").exists()


@ENGINES
def test_an_unreadable_raw_object_is_one_named_line(
    spark: Any, two_days: Path, engine: str
) -> None:
    before = refined_files(two_days)
    path = two_days / raw_key("IBOV", JULY_10)
    path.write_bytes(path.read_bytes()[:1000])
    with pytest.raises(UnreadableParquet) as err:
        refine(spark, two_days, engine, JULY_10, JULY_11, pinned=True)
    message = str(err.value)
    assert "\n" not in message
    assert message.startswith("Spark cannot read a raw object: file:")
    assert f"{raw_key('IBOV', JULY_10)} is not a Parquet file" in message
    assert refined_files(two_days) == before


@pytest.mark.parametrize("value", ["../x", "IB/OV", "IBOV=1", "ib ov", ""])
def test_an_index_argument_that_is_not_a_code_is_refused(value: str) -> None:
    with pytest.raises(BadArgument, match="index code"):
        parse_args(["--lake", "/x", "--dt", "2025-07-10", "--index", f"IBOV,{value}x"])


@pytest.mark.parametrize("value", ["20250710", "2025-7-10", "2025-07-10/..", "2025-13-01"])
def test_a_date_argument_that_is_not_yyyy_mm_dd_is_refused(value: str) -> None:
    with pytest.raises(BadArgument, match="^--dt: "):
        parse_args(["--lake", "/x", "--dt", value])

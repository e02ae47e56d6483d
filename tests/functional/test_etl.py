"""The Glue job under local Spark: exact refined values, B3's calendar, one file per
partition, re-runs that replace a day, and what it refuses before writing anything."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from glue.job import JobArgs, run
from glue.lakeio import RawObjectChanged
from glue.schema import COLUMNS
from services.pipeline.b3.errors import SchemaDrift
from services.pipeline.lake.raw import raw_key, to_parquet_bytes, to_table
from services.pipeline.lake.storage import LocalLake
from services.pipeline.validate.errors import UnreadableParquet
from tests.lakes import on_day, pinned, recorded_portfolio, refined_rows, without, write_days
from tests.recordings import SEGMENT2_2025_07_10, load, pt_br

pytestmark = pytest.mark.spark

JULY_10, JULY_11 = date(2025, 7, 10), date(2025, 7, 11)
PROCESSED, LATER = date(2025, 7, 14), date(2025, 7, 15)
DAY_PREFIX = "refined/dt=2025-07-10/index_code=IBOV/"


def job(lake: LocalLake, days: Iterable[date], processed: date = PROCESSED, **kw: Any) -> Any:
    pins = pinned(lake, days)
    return run(JobArgs(str(lake.root), pins, processing_date=processed, catalog=False, **kw))


@pytest.fixture
def july_10(tmp_path: Path) -> LocalLake:
    lake = LocalLake(tmp_path)
    write_days(lake, recorded_portfolio(SEGMENT2_2025_07_10), [JULY_10])
    return lake


def test_one_day_exact_values_in_one_file_per_partition(spark: Any, july_10: LocalLake) -> None:
    """The AWS code path (scratch under staging/), local Spark; a file beside the pin is unread."""
    table = to_table(on_day(recorded_portfolio(SEGMENT2_2025_07_10), JULY_10)).slice(0, 1)
    table = table.set_column(table.schema.get_field_index("cod"), "cod", pa.array(["FAKE3"]))
    july_10.write_bytes("raw/index=IBOV/dt=2025-07-10/extra.parquet", to_parquet_bytes(table))
    summary = job(july_10, [JULY_10], engine="glue")
    facts = [summary[k] for k in ("dt", "rows", "partitions", "files", "table")]
    assert facts == ["2025-07-10", 84, 84, 84, "default.b3_index_portfolio"]
    assert list((july_10.root / "staging").iterdir()) == []
    rows = refined_rows(july_10, DAY_PREFIX)
    assert list(next(iter(rows.values()))) == [c.name for c in COLUMNS]  # partitions: the path
    recorded = {r["cod"]: r for r in load(SEGMENT2_2025_07_10)["results"]}
    assert rows.keys() == recorded.keys()
    company_weight: dict[str, Decimal] = defaultdict(Decimal)
    company_count: dict[str, int] = defaultdict(int)
    sector_weight: dict[str, Decimal] = defaultdict(Decimal)
    for raw in recorded.values():
        company_weight[raw["asset"]] += pt_br(raw["part"])
        company_count[raw["asset"]] += 1
        sector_weight[raw["segment"]] += pt_br(raw["part"])
    for ticker, row in rows.items():
        raw = recorded[ticker]
        assert row["weight_pct"] == pt_br(raw["part"])
        assert row["theoretical_qty"] == pt_br(raw["theoricalQty"])
        assert row["company"] == raw["asset"]
        assert row["share_type_raw"] == raw["type"]
        assert row["company_weight_pct"] == company_weight[raw["asset"]]
        assert row["company_ticker_count"] == company_count[raw["asset"]]
        assert row["sector_weight_pct"] == sector_weight[raw["segment"]]
        assert row["index_theoretical_qty"] == row["index_theoretical_qty_b3"] == 91_922_324_640
        assert row["index_ticker_count"] == 84
    petr = rows["PETR4"]
    assert (petr["company_weight_pct"], petr["company_ticker_count"]) == (Decimal("11.404"), 2)
    assert petr["company_theoretical_qty"] == 2_820_420_899 + 4_410_955_873
    companies = {r["company"]: r["company_weight_pct"] for r in rows.values()}
    assert sum(companies.values()) == Decimal("100.000")
    dates = {  # C, joined: each day's values are proved in tests/unit/test_job_args.py
        "trading_date": JULY_10, "trading_weekday": 4, "rebalance_cycle_start": date(2025, 5, 2),
        "next_rebalance_date": date(2025, 9, 1), "days_since_rebalance": 69,
        "days_to_next_rebalance": 53, "sessions_since_rebalance": 48,
        "sessions_to_next_rebalance": 37, "processing_date": PROCESSED, "days_since_trading": 4,
    }  # fmt: skip
    assert {name: petr[name] for name in dates} == dates


def test_a_rerun_replaces_its_day_alone_and_repairs_a_publish_that_failed_half_way(
    tmp_path: Path,
) -> None:
    lake = LocalLake(tmp_path)
    portfolio = recorded_portfolio(SEGMENT2_2025_07_10)
    write_days(lake, without(portfolio, "PETR3"), [JULY_10, JULY_11])
    job(lake, [JULY_10, JULY_11])
    other_day = {k: lake.read_bytes(k) for k in lake.list("refined/dt=2025-07-11/")}
    write_days(lake, without(portfolio, "VALE3"), [JULY_10])  # B3 corrected the day
    blocker = tmp_path / DAY_PREFIX / "ticker=PETR3"
    blocker.write_bytes(b"")  # a file where PETR3's directory goes: its write fails
    with pytest.raises(FileExistsError):
        job(lake, [JULY_10], LATER)
    blocker.unlink()
    stopped = {t: r["processing_date"] for t, r in refined_rows(lake, DAY_PREFIX).items()}
    assert set(stopped) == {r["cod"] for r in load(SEGMENT2_2025_07_10)["results"]} - {"PETR3"}
    # each partition whole, old or new; the ticker that left stays until a publish completes
    assert (set(stopped.values()) <= {PROCESSED, LATER}, stopped["VALE3"]) == (True, PROCESSED)
    summary = job(lake, [JULY_10], LATER)
    assert (summary["rows"], summary["partitions"]) == (83, 83)
    rows = refined_rows(lake, DAY_PREFIX)
    assert ("PETR3" in rows, "VALE3" in rows, len(rows)) == (True, False, 83)
    assert not (tmp_path / DAY_PREFIX / "ticker=VALE3").exists()
    assert {r["processing_date"] for r in rows.values()} == {LATER}
    assert {k: lake.read_bytes(k) for k in lake.list("refined/dt=2025-07-11/")} == other_day


def test_a_changed_or_hostile_raw_object_fails_in_one_line_before_any_write(tmp_path: Path) -> None:
    """Changed after Validate, or passed by an older or faulty Validate: the job stops it."""
    lake, portfolio = LocalLake(tmp_path), recorded_portfolio(SEGMENT2_2025_07_10)
    write_days(lake, portfolio, [JULY_10, JULY_11])
    job(lake, [JULY_11])
    before = {k: lake.read_bytes(k) for k in lake.list("refined/")}
    validated = JobArgs(str(tmp_path), pinned(lake, [JULY_10, JULY_11]), catalog=False)
    write_days(lake, without(portfolio, "PETR3"), [JULY_11])
    with pytest.raises(RawObjectChanged, match="IBOV 2025-07-11: the raw object changed after"):
        run(validated)
    lake.delete(raw_key("IBOV", JULY_11))
    with pytest.raises(RawObjectChanged, match="IBOV 2025-07-11: .* is gone"):
        run(validated)
    table = pq.read_table(tmp_path / raw_key("IBOV", JULY_10))
    cod = table.schema.get_field_index("cod")
    spoiled = table.set_column(cod, "cod", pa.array(["PETR4=1/x", *table["cod"][1:].to_pylist()]))
    lake.write_bytes(raw_key("IBOV", JULY_10), to_parquet_bytes(spoiled))
    with pytest.raises(SchemaDrift, match=r"^raw row of 2025-07-10/IBOV: ticker \(cod\): "):
        job(lake, [JULY_10])
    path = tmp_path / raw_key("IBOV", JULY_10)
    path.write_bytes(path.read_bytes()[:1000])
    with pytest.raises(UnreadableParquet) as unreadable:
        job(lake, [JULY_10])
    assert "\n" not in str(unreadable.value)
    assert str(unreadable.value).startswith("Spark cannot read a raw object: file:")
    assert f"{raw_key('IBOV', JULY_10)} is not a Parquet file" in str(unreadable.value)
    assert {k: lake.read_bytes(k) for k in lake.list("refined/")} == before

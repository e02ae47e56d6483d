"""The Glue job under local Spark: exact refined values, layout, idempotence, backfill."""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from glue.job import JobArgs, run
from glue.lakeio import NoRawData
from glue.schema import COLUMNS, PARTITION_COLUMNS
from services.pipeline.lake.storage import LocalLake
from services.tool.local.samples import business_days
from tests.lakes import recorded_portfolio, without, write_days
from tests.recordings import SEGMENT2_2022_12_08, SEGMENT2_2025_07_10, load, pt_br

pytestmark = pytest.mark.spark

JULY_10 = date(2025, 7, 10)
PROCESSED = date(2025, 7, 14)


def refine_days(lake: Path, start: date, end: date | None = None, **kw: Any) -> dict[str, Any]:
    args = JobArgs(
        lake=str(lake),
        start=start,
        end=end or start,
        processing_date=PROCESSED,
        catalog=False,
        **kw,
    )
    return run(args)


def refined_rows(spark: Any, lake: Path) -> list[dict[str, Any]]:
    return [r.asDict() for r in spark.read.parquet(str(lake / "refined")).collect()]


def refined_files(lake: Path) -> dict[str, bytes]:
    root = lake / "refined"
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


@pytest.fixture
def july_10(tmp_path: Path) -> Path:
    write_days(LocalLake(tmp_path), recorded_portfolio(SEGMENT2_2025_07_10), [JULY_10])
    return tmp_path


def test_one_day_exact_values_and_renamed_columns(spark: Any, july_10: Path) -> None:
    summary = refine_days(july_10, JULY_10)
    assert {k: summary[k] for k in ("dt", "rows", "partitions", "files", "table")} == {
        "dt": "2025-07-10",
        "rows": 84,
        "partitions": 84,
        "files": 84,
        "table": "default.b3_index_portfolio",
    }
    rows = refined_rows(spark, july_10)
    assert list(rows[0]) == [c.name for c in COLUMNS] + [c.name for c in PARTITION_COLUMNS]
    assert not {"cod", "asset", "part", "theoricalQty", "segment"} & set(rows[0])
    recorded = {r["cod"]: r for r in load(SEGMENT2_2025_07_10)["results"]}
    by_ticker = {r["ticker"]: r for r in rows}
    assert by_ticker.keys() == recorded.keys()
    company_weight: dict[str, Decimal] = defaultdict(Decimal)
    company_count: dict[str, int] = defaultdict(int)
    sector_weight: dict[str, Decimal] = defaultdict(Decimal)
    for raw in recorded.values():
        company_weight[raw["asset"]] += pt_br(raw["part"])
        company_count[raw["asset"]] += 1
        sector_weight[raw["segment"]] += pt_br(raw["part"])
    for ticker, row in by_ticker.items():
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
    petr = by_ticker["PETR4"]
    assert (petr["company_weight_pct"], petr["company_ticker_count"]) == (Decimal("11.404"), 2)
    assert petr["company_theoretical_qty"] == 2_820_420_899 + 4_410_955_873
    companies = {r["company"]: r["company_weight_pct"] for r in rows}
    assert sum(companies.values()) == Decimal("100.000")
    assert all(isinstance(r["weight_pct"], Decimal) for r in rows)


def test_sector_totals_reconcile_with_b3s_own_subtotals(spark: Any, tmp_path: Path) -> None:
    write_days(LocalLake(tmp_path), recorded_portfolio(SEGMENT2_2022_12_08), [date(2022, 12, 8)])
    refine_days(tmp_path, date(2022, 12, 8))
    rows = refined_rows(spark, tmp_path)
    assert len(rows) == 92
    assert len({r["sector"] for r in rows}) == 29
    for row in rows:
        assert row["sector_weight_pct"] == row["sector_weight_pct_b3"], row["ticker"]
    sectors = {r["sector"]: (r["sector_theoretical_qty"], r["sector_ticker_count"]) for r in rows}
    assert sum(q for q, _ in sectors.values()) == 101_053_551_382
    assert sum(n for _, n in sectors.values()) == 92


#: Trading day: ISO weekday, cycle start and next rebalance (first B3 sessions of
#: January, May, September), calendar days since and to them, B3 sessions since and to.
KNOWN_DAYS = {
    date(2025, 7, 10): (4, date(2025, 5, 2), date(2025, 9, 1), 69, 53, 48, 37),
    # the first session of 2025 (January 1 is a holiday): a cycle begins, 81 sessions long
    date(2025, 1, 2): (4, date(2025, 1, 2), date(2025, 5, 2), 0, 120, 0, 81),
    # May 1 is a holiday: May's portfolio takes effect on the 2nd
    date(2025, 5, 2): (5, date(2025, 5, 2), date(2025, 9, 1), 0, 122, 0, 85),
    # September 1, 2024 is a Sunday
    date(2024, 9, 2): (1, date(2024, 9, 2), date(2025, 1, 2), 0, 122, 0, 82),
    # the last session before May's rebalance, two calendar days across the May 1 holiday
    date(2025, 4, 30): (3, date(2025, 1, 2), date(2025, 5, 2), 118, 2, 80, 1),
    # B3 is closed on December 31 and January 1: three calendar days, one session
    date(2024, 12, 30): (1, date(2024, 9, 2), date(2025, 1, 2), 119, 3, 81, 1),
    # Ash Wednesday (a late opening, a session), after Carnival Monday and Tuesday
    date(2025, 3, 5): (3, date(2025, 1, 2), date(2025, 5, 2), 62, 58, 42, 39),
}


def test_date_features_follow_b3s_calendar_on_known_days(spark: Any, tmp_path: Path) -> None:
    write_days(LocalLake(tmp_path), recorded_portfolio(SEGMENT2_2025_07_10), KNOWN_DAYS)
    summary = refine_days(tmp_path, min(KNOWN_DAYS), max(KNOWN_DAYS))
    assert summary["days"] == sorted(d.isoformat() for d in KNOWN_DAYS)
    values = {
        (
            r["trading_date"],
            (
                r["trading_weekday"],
                r["rebalance_cycle_start"],
                r["next_rebalance_date"],
                r["days_since_rebalance"],
                r["days_to_next_rebalance"],
                r["sessions_since_rebalance"],
                r["sessions_to_next_rebalance"],
            ),
            r["processing_date"],
            r["days_since_trading"],
        )
        for r in refined_rows(spark, tmp_path)
    }
    assert values == {
        (day, features, PROCESSED, (PROCESSED - day).days) for day, features in KNOWN_DAYS.items()
    }


def test_partition_layout_one_file_each(july_10: Path) -> None:
    refine_days(july_10, JULY_10)
    files = refined_files(july_10)
    tickers = sorted(r["cod"] for r in load(SEGMENT2_2025_07_10)["results"])
    assert sorted(files) == [
        f"dt=2025-07-10/index_code=IBOV/ticker={t}/part-00000.snappy.parquet" for t in tickers
    ]
    one = july_10 / "refined" / sorted(files)[0]
    assert pq.read_metadata(one).num_rows == 1


def test_rerunning_a_day_leaves_the_same_files_and_rows(spark: Any, july_10: Path) -> None:
    refine_days(july_10, JULY_10)
    first_files = refined_files(july_10)
    first_rows = sorted(refined_rows(spark, july_10), key=lambda r: r["ticker"])
    refine_days(july_10, JULY_10)
    assert refined_files(july_10).keys() == first_files.keys()
    assert sorted(refined_rows(spark, july_10), key=lambda r: r["ticker"]) == first_rows


def test_rerunning_a_day_replaces_only_that_day(spark: Any, tmp_path: Path) -> None:
    lake = LocalLake(tmp_path)
    portfolio = recorded_portfolio(SEGMENT2_2025_07_10)
    write_days(lake, portfolio, [JULY_10, date(2025, 7, 11)])
    refine_days(tmp_path, JULY_10, date(2025, 7, 11))
    other_day = {k: v for k, v in refined_files(tmp_path).items() if "dt=2025-07-11" in k}
    write_days(lake, without(portfolio, "PETR3"), [JULY_10])  # B3 corrected the day
    summary = refine_days(tmp_path, JULY_10)
    assert (summary["rows"], summary["partitions"]) == (83, 83)
    files = refined_files(tmp_path)
    assert not any("ticker=PETR3" in k and "2025-07-10" in k for k in files)
    assert {k: v for k, v in files.items() if "dt=2025-07-11" in k} == other_day
    rows = [r for r in refined_rows(spark, tmp_path) if r["dt"] == "2025-07-10"]
    assert len(rows) == 83
    assert {r["company_ticker_count"] for r in rows if r["company"] == "PETROBRAS"} == {1}


def test_twenty_day_backfill_in_one_job(spark: Any, tmp_path: Path) -> None:
    days = business_days(date(2025, 6, 30), 20)  # B3 sessions: Corpus Christi is not one
    write_days(LocalLake(tmp_path), recorded_portfolio(SEGMENT2_2025_07_10), days)
    summary = refine_days(tmp_path, days[0], days[-1])
    assert summary["days"] == [d.isoformat() for d in days]
    assert (summary["rows"], summary["partitions"], summary["files"]) == (1680, 1680, 1680)
    files = refined_files(tmp_path)
    assert len(files) == 20 * 84
    partitions = {k.rsplit("/", 1)[0] for k in files}
    assert len(partitions) == 20 * 84


def test_a_day_without_raw_data_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(NoRawData, match="no raw partition for any index on 2025-07-10"):
        refine_days(tmp_path, JULY_10)

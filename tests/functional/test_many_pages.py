"""IBRA of 2021-06-22 (179 assets, two B3 pages of 120), scraped; every value is compared
with B3's own CSV of that day, read independently (tests/ibra.py)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pyarrow.parquet as pq

from services.pipeline.scraper.scrape import scrape
from services.tool.local.deploy import served_at
from services.tool.local.replay import ReplayServer
from tests.ibra import CASES, from_csv
from tests.recordings import FAST

RAW = Path("raw/index=IBRA/dt=2021-06-22")


def test_raw_rows_equal_b3s_csv_and_reconcile(tmp_path: Path) -> None:
    with ReplayServer(CASES) as server:
        now = served_at(server.cases["IBRA", "2"])
        scrape("IBRA", lake_uri=str(tmp_path), base_url=server.base_url, policy=FAST, now=now)
    csv, (total_qty, total_weight, reductor) = from_csv()
    rows = pq.read_table(tmp_path / RAW / "portfolio.parquet").to_pylist()
    assert len(rows) == len(csv) == 179
    assert {
        r["cod"]: (r["asset"], r["type_normalized"], r["part"], r["theoricalQty"]) for r in rows
    } == csv
    assert all(row["segment"] for row in rows)  # segment 2: every asset has its sector
    assert sum(row["theoricalQty"] for row in rows) == total_qty == 101_889_008_898
    assert sum((row["part"] for row in rows), Decimal(0)) == total_weight == Decimal("100")
    assert {
        (r["header_theoricalQty"], r["header_reductor"], r["page_totalRecords"]) for r in rows
    } == {(total_qty, reductor, 179)}
    # each row names the page it came from, and that page's body
    urls = {row["source_url"] for row in rows}
    assert len(urls) == 2
    assert sum(1 for row in rows if row["source_url"] == sorted(urls)[0]) in {120, 59}

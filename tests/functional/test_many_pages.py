"""An index of more than one B3 page (IBRA, 179 assets), scraped.

B3 serves 120 assets a page; IBRA of 2021-06-22 comes in two. Every value is compared with
B3's own CSV of that day, read independently (tests/ibra.py).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from services.pipeline import settings
from services.pipeline.scraper.scrape import scrape
from services.tool.local.deploy import served_at
from services.tool.local.replay import ReplayServer
from tests.ibra import CASES, from_csv
from tests.recordings import FAST

RAW = Path("raw/index=IBRA/dt=2021-06-22")


@pytest.fixture(scope="module")
def scraped(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, dict[str, Any], Any]]:
    """One scrape of IBRA from the replay server: (lake, summary, the requests B3 got)."""
    lake = tmp_path_factory.mktemp("ibra-lake")
    with ReplayServer(CASES) as server:
        now = served_at(server.cases["IBRA", "2"])
        summary = scrape("IBRA", lake_uri=str(lake), base_url=server.base_url, policy=FAST, now=now)
        yield lake, summary, list(server.requests)


def test_both_pages_are_requested_and_archived(scraped: tuple[Path, dict[str, Any], Any]) -> None:
    lake, summary, requests = scraped
    assert [(r["pageNumber"], r["pageSize"], r["segment"]) for r in requests] == [
        (1, settings.B3_PAGE_SIZE, "2"),
        (2, settings.B3_PAGE_SIZE, "2"),
    ]
    assert (summary["index"], summary["dt"], summary["rows"], summary["pages"]) == (
        "IBRA", "2021-06-22", 179, 2,
    )  # fmt: skip
    pages = [
        json.loads((lake / RAW / f"_b3-response-page-00{n}.json").read_bytes()) for n in (1, 2)
    ]
    assert [(len(p["results"]), p["page"]["totalPages"]) for p in pages] == [(120, 2), (59, 2)]


def test_raw_rows_equal_b3s_csv_and_reconcile(scraped: tuple[Path, dict[str, Any], Any]) -> None:
    lake, _, _ = scraped
    csv, (total_qty, total_weight, reductor) = from_csv()
    rows = pq.read_table(lake / RAW / "portfolio.parquet").to_pylist()
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

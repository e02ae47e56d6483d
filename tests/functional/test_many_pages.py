"""An index of more than one B3 page (IBRA, 179 assets): scrape, validate, Glue job.

B3 serves 120 assets a page; IBRA of 2021-06-22 comes in two. Every value is compared with
B3's own CSV of that day, read independently (tests/ibra.py).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from glue.job import JobArgs, run
from services.pipeline import settings
from services.pipeline.scraper.scrape import scrape
from services.pipeline.validate.contract import validate
from services.tool.local.replay import ReplayServer
from tests.ibra import CASES, DAY, from_csv
from tests.recordings import FAST

RAW = Path("raw/index=IBRA/dt=2021-06-22")


@pytest.fixture(scope="module")
def scraped(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, dict[str, Any], Any]]:
    """One scrape of IBRA from the replay server: (lake, summary, the requests B3 got)."""
    lake = tmp_path_factory.mktemp("ibra-lake")
    with ReplayServer(CASES) as server:
        summary = scrape("IBRA", lake_uri=str(lake), base_url=server.base_url, policy=FAST)
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
    assert [len(p["results"]) for p in pages] == [120, 59]
    assert [p["page"]["totalPages"] for p in pages] == [2, 2]
    assert sorted(f.name for f in (lake / RAW).iterdir()) == [
        "_b3-response-page-001.json",
        "_b3-response-page-002.json",
        "portfolio.parquet",
    ]


def test_raw_rows_equal_b3s_csv_and_reconcile(scraped: tuple[Path, dict[str, Any], Any]) -> None:
    lake, _, _ = scraped
    csv = from_csv()
    rows = pq.read_table(lake / RAW / "portfolio.parquet").to_pylist()
    assert len(rows) == len(csv.rows) == 179
    by_ticker = {row["cod"]: row for row in rows}
    assert by_ticker.keys() == csv.rows.keys()
    for ticker, row in by_ticker.items():
        expected = csv.rows[ticker]
        assert (row["asset"], row["type_normalized"]) == (expected.company, expected.share_type)
        assert row["part"] == expected.weight
        assert row["theoricalQty"] == expected.qty
        assert row["segment"]  # segment 2: every asset has its sector
    assert sum(row["theoricalQty"] for row in rows) == csv.total_qty == 101_889_008_898
    assert sum((row["part"] for row in rows), Decimal(0)) == csv.total_weight == Decimal("100")
    assert {
        (r["header_theoricalQty"], r["header_reductor"], r["page_totalRecords"]) for r in rows
    } == {(csv.total_qty, csv.reductor, 179)}
    # each row names the page it came from, and that page's body
    urls = {row["source_url"] for row in rows}
    assert len(urls) == 2
    assert sum(1 for row in rows if row["source_url"] == sorted(urls)[0]) in {120, 59}


def test_validate_accepts_the_two_page_day(scraped: tuple[Path, dict[str, Any], Any]) -> None:
    lake, summary, _ = scraped
    data = (lake / RAW / "portfolio.parquet").read_bytes()
    assert validate(summary["uri"]) == {
        "dt": "2021-06-22",
        "index": "IBRA",
        "rows": 179,
        "uri": str(lake / RAW / "portfolio.parquet"),
        "sha256": hashlib.sha256(data).hexdigest(),  # the pin of the bytes it checked
        "version": "null",
        "etag": None,
    }


@pytest.mark.spark
def test_the_glue_job_refines_every_row_exactly(
    spark: Any, scraped: tuple[Path, dict[str, Any], Any]
) -> None:
    lake, _, _ = scraped
    summary = run(JobArgs(lake=str(lake), start=DAY, end=DAY, processing_date=DAY, catalog=False))
    assert (summary["rows"], summary["partitions"], summary["files"]) == (179, 179, 179)
    csv = from_csv()
    refined = [r.asDict() for r in spark.read.parquet(str(lake / "refined")).collect()]
    by_ticker = {row["ticker"]: row for row in refined}
    assert len(refined) == len(by_ticker) == 179
    assert by_ticker.keys() == csv.rows.keys()
    for ticker, row in by_ticker.items():
        expected = csv.rows[ticker]
        assert row["weight_pct"] == expected.weight
        assert row["theoretical_qty"] == expected.qty
        assert row["company"] == expected.company
        assert (row["dt"], row["index_code"], row["index_ticker_count"]) == (
            "2021-06-22",
            "IBRA",
            179,
        )
    assert sum((row["weight_pct"] for row in refined), Decimal(0)) == csv.total_weight
    assert sum(row["theoretical_qty"] for row in refined) == csv.total_qty
    assert {row["index_theoretical_qty"] for row in refined} == {csv.total_qty}
    assert {row["index_reductor"] for row in refined} == {csv.reductor}
    files = sorted(
        (lake / "refined" / "dt=2021-06-22" / "index_code=IBRA").glob("ticker=*/*.parquet")
    )
    assert len(files) == 179

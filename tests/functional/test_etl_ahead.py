"""The Glue job refines the datasets ahead in the same run as the day's portfolio.

B3's recorded answers of session 2022-12-08 (the day, and the theoretical portfolio); no
preview is recorded, so the preview is that recording served without ``cont``
(``tests/ahead.py``). Expected values are read from the recorded strings (``pt_br``).
"""

from __future__ import annotations

import hashlib
import json
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from glue.job import parse_args, run
from glue.schema import PREVIEW_COLUMNS, TABLES, THEORETICAL_COLUMNS
from services.pipeline import settings
from services.pipeline.lake.raw import raw_key
from services.pipeline.lake.storage import LocalLake
from services.pipeline.scraper.scrape import scrape
from services.tool.local.deploy import served_at
from services.tool.local.replay import ReplayServer
from tests.ahead import SEGMENT2_2022_12_08, THEORETICAL_2022, configuration, preview_body
from tests.lakes import recorded_portfolio, refined_rows, write_days
from tests.recordings import FAST, load, pt_br

pytestmark = pytest.mark.spark

DEC_8 = date(2022, 12, 8)
PROCESSED = "2022-12-12"
THEORETICAL = "raw-theoretical/index=IBOV/dt=2022-12-08"


@pytest.fixture
def lake(tmp_path: Path) -> tuple[Path, dict[str, Any]]:
    """The day of 2022-12-08, its theoretical portfolio and a preview, scraped; and the pins."""
    write_days(LocalLake(tmp_path), recorded_portfolio(SEGMENT2_2022_12_08), [DEC_8])
    answers: dict[tuple[str, str], Path | bytes] = {
        ("GetTheoricalPortfolio", "IBOV"): THEORETICAL_2022,
        ("GetQuartelyPreview", "IBOV"): preview_body(THEORETICAL_2022),
        ("GetConfigurations", "IBOV"): configuration(1),
    }
    with ReplayServer({("IBOV", "2"): SEGMENT2_2022_12_08}, answers=answers) as replay:
        options: dict[str, Any] = {"lake_uri": str(tmp_path), "base_url": replay.base_url,
                                   "now": served_at(SEGMENT2_2022_12_08.read_bytes())}  # fmt: skip
        theoretical = scrape("IBOV", dataset="theoretical", policy=FAST, **options)
        preview = scrape("IBOV", dataset="preview", policy=FAST, **options)
    day = hashlib.sha256((tmp_path / raw_key("IBOV", DEC_8)).read_bytes()).hexdigest()
    pins = {
        "objects": [{"index": "IBOV", "dt": "2022-12-08", "sha256": day, "version": None}],
        "ahead": [theoretical, preview],
    }
    return tmp_path, pins


def job(lake: Path, objects: Any, ahead: Any, *more: str) -> dict[str, Any]:
    """The job as the state machine starts it: ``--objects`` and ``--ahead`` as JSON."""
    argv = ["--lake", str(lake), "--catalog", "false", "--processing-date", PROCESSED]
    argv += ["--objects", json.dumps(objects), "--ahead", json.dumps(ahead), *more]
    return run(parse_args(argv))


def refined(lake: Path, table: str) -> dict[str, dict[str, Any]]:
    return refined_rows(LocalLake(lake), f"{table}/dt=2022-12-08/index_code=IBOV/")


def assert_preview_refined(root: Path, preview: dict[str, Any], by_cod: dict[str, Any]) -> None:
    """The preview, in its own table, as unverified."""
    assert preview["table"] == "default.b3_index_preview"
    rows = refined(root, "refined-preview")
    assert rows.keys() == by_cod.keys()
    assert list(next(iter(rows.values()))) == [c.name for c in PREVIEW_COLUMNS]
    assert all(row["weight_pct"] == pt_br(by_cod[t]["part"]) for t, row in rows.items())
    # no cont; the next cycle, 16 sessions ahead (Dec 9, 12-16, 19-23, 26-29: not 30; Jan 2)
    placed = ("company_rank", "target_cycle", "target_cycle_start", "sessions_to_target")
    expected = (None, "2023-01", date(2023, 1, 2), 16, "unverified")
    assert {tuple(row[k] for k in (*placed, "contract")) for row in rows.values()} == {expected}
    assert sum(r["theoretical_qty"] for r in rows.values()) == 99_273_271_525


def test_the_day_and_the_datasets_ahead_are_refined_exactly_in_one_run_or_alone(
    spark: Any, lake: tuple[Path, dict[str, Any]]
) -> None:
    root, pins = lake
    summary = job(root, pins["objects"], pins["ahead"])
    assert (summary["rows"], summary["table"]) == (92, "default.b3_index_portfolio")
    assert list(summary["ahead"]["theoretical"].values()) == [
        "default.b3_index_theoretical", 92, 92, 92, ["2022-12-08"], ["IBOV"]
    ]  # fmt: skip
    rows = refined(root, "refined-theoretical")
    recorded = load(THEORETICAL_2022)
    by_cod = {r["cod"]: r for r in recorded["results"]}
    assert rows.keys() == by_cod.keys()
    first = next(iter(rows.values()))
    assert list(first) == [c.name for c in THEORETICAL_COLUMNS]  # partitions are in the path
    header, archived = recorded["header"], root / THEORETICAL / "_b3-response-page-001.json"
    same = {  # on every row: B3's header, the session's cycle (Sep.-Dec. 2022), its dates
        "index_ticker_count": 92, "index_theoretical_qty": int(pt_br(header["theoricalQty"])),
        "index_theoretical_qty_b3": int(pt_br(header["theoricalQty"])),
        "index_weight_pct_b3": pt_br(header["part"]), "index_reductor": pt_br(header["reductor"]),
        "cycle": "2022-09", "cycle_start": date(2022, 9, 1), "trading_date": DEC_8,
        # Sep 2-30: 20 sessions (7th a holiday); Oct: 20 (12th); Nov: 20 (2nd, 15th); Dec 1-8: 6
        "sessions_since_rebalance": 66, "next_rebalance_date": date(2023, 1, 2),
        "processing_date": date.fromisoformat(PROCESSED),
        "source_sha256": hashlib.sha256(archived.read_bytes()).hexdigest(),
    }  # fmt: skip
    for ticker, row in rows.items():
        raw = by_cod[ticker]
        own = (pt_br(raw["part"]), int(pt_br(raw["theoricalQty"])), raw["cont"])
        assert (row["weight_pct"], row["theoretical_qty"], row["company_rank"]) == own
        assert {k: row[k] for k in same} == same
    # the totals reconcile: weights to B3's 100,000, quantities to its header total
    assert sum(r["weight_pct"] for r in rows.values()) == Decimal("100.000")
    assert sum(r["theoretical_qty"] for r in rows.values()) == 99_273_271_525
    companies = {r["company"]: r["company_weight_pct"] for r in rows.values()}  # A, as the day's
    assert sum(companies.values()) == Decimal("100.000")
    # beside refined/, never under it (the day's table and crawler own refined/)
    assert {p.name for p in root.glob("refined*")} == {t.prefix for t in TABLES}
    # the day of the same session, same run: its sectors reconcile with B3's own subtotals
    day = list(refined(root, "refined").values())
    assert (len(day), len({r["sector"] for r in day})) == (92, 29)
    assert all(r["sector_weight_pct"] == r["sector_weight_pct_b3"] for r in day)
    sectors = {r["sector"]: (r["sector_theoretical_qty"], r["sector_ticker_count"]) for r in day}
    assert sum(q for q, _ in sectors.values()) == 101_053_551_382
    assert sum(n for _, n in sectors.values()) == 92

    assert_preview_refined(root, summary["ahead"]["preview"], by_cod)

    # a redrive of the theoretical portfolio alone (AWS code path) leaves the others' files
    files = {p: p.stat().st_ino for p in root.glob("refined*/**/*.parquet")}
    theoretical = [a for a in pins["ahead"] if a["dataset"] == "theoretical"]
    again = job(root, [], theoretical, "--engine", "glue")
    assert (again["rows"], again["days"], list(again["ahead"])) == (0, [], ["theoretical"])
    assert again["ahead"]["theoretical"]["files"] == 92
    after = {p: p.stat().st_ino for p in root.glob("refined*/**/*.parquet")}
    changed = {p for p in files if after[p] != files[p]}
    assert changed == set(root.glob("refined-theo*/**/*.parquet"))
    assert list((root / settings.STAGING_PREFIX).iterdir()) == []

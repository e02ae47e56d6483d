"""The Glue job refines the datasets ahead in the same run as the day's portfolio.

Every answer of the theoretical portfolio is real: the ``GetPortfolioDay`` IBOV body of
session 2022-12-08 and the ``GetTheoricalPortfolio`` answer recorded on 2022-12-10 (the
Sep.-Dec. 2022 cycle). No ``GetQuartelyPreview`` answer is recorded: the preview here is
that theoretical recording served as a preview, without ``cont``, and the
``GetConfigurations`` body is made by the test (``tests/ahead.py``); the preview is
unverified against a live answer. Expected values are read from the recorded strings
(``pt_br``), independently of the job.
"""

from __future__ import annotations

import hashlib
import io
import json
from collections import defaultdict
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from glue.job import parse_ahead, parse_args, run
from glue.lakeio import RawObjectChanged
from glue.schema import PARTITION_COLUMNS, PREVIEW_COLUMNS, THEORETICAL_COLUMNS
from services.pipeline import settings
from services.pipeline.errors import BadArgument
from services.pipeline.lake.raw import raw_key
from services.pipeline.lake.storage import LocalLake
from services.pipeline.scraper.scrape import scrape
from services.tool.local.replay import ReplayServer
from tests.ahead import SEGMENT2_2022_12_08, THEORETICAL_2022, configuration, preview_body
from tests.lakes import recorded_portfolio, write_days
from tests.recordings import FAST, load, pt_br

pytestmark = pytest.mark.spark

DEC_8 = date(2022, 12, 8)
PROCESSED = "2022-12-12"
THEORETICAL_KEY = "raw-theoretical/index=IBOV/dt=2022-12-08/theoretical.parquet"


@pytest.fixture
def lake(tmp_path: Path) -> tuple[Path, dict[str, Any]]:
    """A lake with the day of 2022-12-08 (raw), its theoretical portfolio and a preview,
    scraped from a real local HTTP server; yields the lake and the job's pins."""
    write_days(LocalLake(tmp_path), recorded_portfolio(SEGMENT2_2022_12_08), [DEC_8])
    answers: dict[tuple[str, str], Path | bytes] = {
        ("GetTheoricalPortfolio", "IBOV"): THEORETICAL_2022,
        ("GetQuartelyPreview", "IBOV"): preview_body(THEORETICAL_2022),
        ("GetConfigurations", "IBOV"): configuration(1),
    }
    with ReplayServer({("IBOV", "2"): SEGMENT2_2022_12_08}, answers=answers) as replay:
        options: dict[str, Any] = {"lake_uri": str(tmp_path), "base_url": replay.base_url}
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


def refined(lake: Path, prefix: str) -> dict[str, dict[str, Any]]:
    """A refined table's rows by ticker, read file by file (one file per partition)."""
    rows: dict[str, dict[str, Any]] = {}
    for path in sorted((lake / prefix).rglob("*.parquet")):
        relative = path.relative_to(lake / prefix).as_posix()
        dt, index, ticker, name = relative.split("/")
        assert (dt, index, name) == (
            "dt=2022-12-08",
            "index_code=IBOV",
            "part-00000.snappy.parquet",
        )
        (row,) = pq.read_table(io.BytesIO(path.read_bytes())).to_pylist()
        rows[ticker.removeprefix("ticker=")] = row
    return rows


def test_the_real_theoretical_portfolio_is_refined_exactly(
    spark: Any, lake: tuple[Path, dict[str, Any]]
) -> None:
    root, pins = lake
    summary = job(root, pins["objects"], pins["ahead"])
    assert (summary["rows"], summary["table"]) == (92, "default.b3_index_portfolio")
    assert summary["ahead"]["theoretical"] == {
        "table": "default.b3_index_theoretical",
        "rows": 92,
        "partitions": 92,
        "files": 92,
        "days": ["2022-12-08"],
        "indices": ["IBOV"],
    }
    rows = refined(root, "refined-theoretical")
    recorded = load(THEORETICAL_2022)
    by_cod = {r["cod"]: r for r in recorded["results"]}
    assert rows.keys() == by_cod.keys()
    first = next(iter(rows.values()))
    partition_names = {c.name for c in PARTITION_COLUMNS}
    assert list(first) == [c.name for c in THEORETICAL_COLUMNS]  # partitions are in the path
    assert not partition_names & set(first)
    company_weight: dict[str, Decimal] = defaultdict(Decimal)
    company_qty: dict[str, int] = defaultdict(int)
    company_count: dict[str, int] = defaultdict(int)
    for raw in recorded["results"]:
        company_weight[raw["asset"]] += pt_br(raw["part"])
        company_qty[raw["asset"]] += int(pt_br(raw["theoricalQty"]))
        company_count[raw["asset"]] += 1
    header = recorded["header"]
    archived = root / "raw-theoretical/index=IBOV/dt=2022-12-08/_b3-response-page-001.json"
    for ticker, row in rows.items():
        raw = by_cod[ticker]
        assert row["company"] == raw["asset"]
        assert row["share_type_raw"] == raw["type"]
        assert row["share_type"] == " ".join(raw["type"].split())
        assert row["weight_pct"] == pt_br(raw["part"])
        assert row["theoretical_qty"] == int(pt_br(raw["theoricalQty"]))
        assert row["company_rank"] == raw["cont"]
        assert row["company_weight_pct"] == company_weight[raw["asset"]]
        assert row["company_theoretical_qty"] == company_qty[raw["asset"]]
        assert row["company_ticker_count"] == company_count[raw["asset"]]
        assert row["index_ticker_count"] == 92
        assert row["index_theoretical_qty"] == row["index_theoretical_qty_b3"]
        assert row["index_theoretical_qty_b3"] == int(pt_br(header["theoricalQty"]))
        assert row["index_weight_pct_b3"] == pt_br(header["part"])
        assert row["index_reductor"] == pt_br(header["reductor"])
        assert row["cycle"] == "2022-09"  # Sep.-Dec. 2022, the cycle of session 2022-12-08
        assert row["cycle_start"] == date(2022, 9, 1)
        assert row["next_rebalance_date"] == date(2023, 1, 2)
        # Sep 2-30: 20 sessions (7th a holiday); Oct: 20 (12th); Nov: 20 (2nd, 15th); Dec 1-8: 6
        assert row["sessions_since_rebalance"] == 66
        assert row["trading_date"] == DEC_8
        assert row["processing_date"] == date.fromisoformat(PROCESSED)
        assert row["source_sha256"] == hashlib.sha256(archived.read_bytes()).hexdigest()
    # the totals reconcile: weights to B3's 100,000, quantities to its header total
    assert sum(r["weight_pct"] for r in rows.values()) == Decimal("100.000")
    assert sum(r["theoretical_qty"] for r in rows.values()) == 99_273_271_525
    # beside refined/, never under it (the day's table and crawler own refined/)
    assert sorted(p.name for p in root.iterdir() if p.name.startswith("refined")) == [
        "refined",
        "refined-preview",
        "refined-theoretical",
    ]
    assert len(refined(root, "refined")) == 92  # the day of the same session, same run


def test_the_preview_is_refined_as_unverified(
    spark: Any, lake: tuple[Path, dict[str, Any]]
) -> None:
    root, pins = lake
    summary = job(root, pins["objects"], pins["ahead"])
    assert summary["ahead"]["preview"]["table"] == "default.b3_index_preview"
    rows = refined(root, "refined-preview")
    recorded = {r["cod"]: r for r in load(THEORETICAL_2022)["results"]}
    assert rows.keys() == recorded.keys()
    assert list(next(iter(rows.values()))) == [c.name for c in PREVIEW_COLUMNS]
    for ticker, row in rows.items():
        assert row["weight_pct"] == pt_br(recorded[ticker]["part"])
        assert row["company_rank"] is None  # the preview body had no cont
        assert row["target_cycle"] == "2023-01"  # the cycle after the session's
        assert row["target_cycle_start"] == date(2023, 1, 2)
        # Dec 9, 12-16, 19-23, 26-29 (the 30th has no session), Jan 2
        assert row["sessions_to_target"] == 16
        assert row["contract"] == settings.PREVIEW_CONTRACT == "unverified"
    assert sum(r["theoretical_qty"] for r in rows.values()) == 99_273_271_525


def test_a_stale_pinned_dataset_is_refused_and_nothing_is_published(
    spark: Any, lake: tuple[Path, dict[str, Any]]
) -> None:
    root, pins = lake
    # between the scrape and the job, the theoretical object is replaced by other bytes
    stale = root / THEORETICAL_KEY
    table = pq.read_table(stale).slice(1)
    pq.write_table(table, stale)
    with pytest.raises(RawObjectChanged, match="theoretical IBOV 2022-12-08: .*changed"):
        job(root, pins["objects"], pins["ahead"])
    # every pin is checked before anything is written: not even the day was published
    assert not [p for p in root.iterdir() if p.name.startswith("refined")]


def test_a_stale_day_object_still_fails_with_the_datasets(
    spark: Any, lake: tuple[Path, dict[str, Any]]
) -> None:
    root, pins = lake
    objects = [{**pins["objects"][0], "sha256": "0" * 64}]
    with pytest.raises(RawObjectChanged, match="IBOV 2022-12-08: the raw object changed"):
        job(root, objects, pins["ahead"])
    assert not [p for p in root.iterdir() if p.name.startswith("refined")]


def test_a_redrive_of_a_dataset_alone_refines_it_alone(
    spark: Any, lake: tuple[Path, dict[str, Any]]
) -> None:
    root, pins = lake
    theoretical = [a for a in pins["ahead"] if a["dataset"] == "theoretical"]
    summary = job(root, [], theoretical, "--engine", "glue")  # the AWS code path, too
    assert (summary["rows"], summary["days"], list(summary["ahead"])) == (0, [], ["theoretical"])
    assert len(refined(root, "refined-theoretical")) == 92
    assert not (root / "refined").exists()
    assert not (root / "refined-preview").exists()
    assert list((root / settings.STAGING_PREFIX).iterdir()) == []


def test_no_preview_now_has_nothing_to_refine(
    spark: Any, lake: tuple[Path, dict[str, Any]]
) -> None:
    root, pins = lake
    none: dict[str, Any] = {"dataset": "preview", "index": "IBOV", "dt": "2022-12-08"}
    none |= {"status": "none", "object_sha256": None, "version": None}
    summary = job(root, pins["objects"], [none])
    assert (summary["rows"], summary["ahead"]) == (92, {})
    assert not (root / "refined-preview").exists()


def summary(**changed: Any) -> dict[str, Any]:
    base = {"dataset": "theoretical", "index": "IBOV", "dt": "2022-12-08", "status": "stored"}
    return {**base, "object_sha256": "a" * 64, "version": "null", **changed}


@pytest.mark.parametrize(
    ("ahead", "message"),
    [
        ("{", "--ahead is not JSON"),
        ('{"dataset": "theoretical"}', "--ahead must be a JSON list"),
        ([summary(dataset="day")], "is not a summary of preview or theoretical"),
        ([summary(status="written")], "status 'written' is not one of stored, kept, none"),
        ([summary(object_sha256="abc")], "sha256 'abc' is not a SHA-256"),
        ([summary(object_sha256=None)], "sha256 None is not a SHA-256"),
        ([summary(index="../x")], "index"),
        ([summary(dt="2022-13-01")], "dt '2022-13-01' is not a YYYY-MM-DD day"),
        ([summary(), summary()], "--ahead names theoretical IBOV 2022-12-08 more than once"),
    ],
)
def test_a_bad_ahead_argument_is_one_line(ahead: Any, message: str) -> None:
    text = ahead if isinstance(ahead, str) else json.dumps(ahead)
    with pytest.raises(BadArgument, match=message) as refused:
        parse_ahead(text)
    assert "\n" not in str(refused.value)


def test_objects_may_be_empty_only_beside_datasets_ahead() -> None:
    lake = ["--lake", "/nowhere"]
    with pytest.raises(BadArgument, match="--objects must be a non-empty JSON list"):
        parse_args([*lake, "--objects", "[]", "--ahead", "[]"])
    with pytest.raises(BadArgument, match="--ahead is passed with --objects"):
        parse_args([*lake, "--ahead", json.dumps([summary()])])
    args = parse_args([*lake, "--objects", "[]", "--ahead", json.dumps([summary()])])
    assert (args.start, args.end, args.indices, args.objects) == (DEC_8, DEC_8, ("IBOV",), {})

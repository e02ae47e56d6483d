"""The views and saved queries of the portfolio ahead, on the job's real output.

Into the local stack's lake, through the raw writers and one pinned run of the Glue job
(``--objects`` and ``--ahead``, as the state machine passes them):

* the day's portfolio of IBOV on 2022-12-08 (the recording ``SEGMENT2_2022_12_08``), and
  the same portfolio without ABEV3 dated 2022-12-07 (a day before, to be ignored);
* the theoretical portfolio of that cycle (Sep.-Dec. 2022), the recording of 2022-12-10,
  fetched for the session of 2022-12-08;
* two previews, test-made (no ``GetQuartelyPreview`` answer is recorded anywhere,
  ``tests.ahead.preview_body``): on 2022-12-08 the Jan.-Apr. 2025 theoretical portfolio
  (derived from B3's CSV) served as a preview, so tickers enter, leave and change weight;
  on 2022-12-07 the 2022 recording served as one (older: the views must not pick it).

Expected rows are computed from B3's strings by ``tests.ahead_expected``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from glue.job import parse_args, run
from services.pipeline import settings
from services.pipeline.b3 import preview, theoretical
from services.pipeline.b3.cycles import cycle_of
from services.pipeline.b3.portfolio import PageSource, join, parse_totals_page
from services.pipeline.b3.theoretical import Ahead
from services.pipeline.lake.ahead import write_ahead
from services.pipeline.lake.datasets import PREVIEW, THEORETICAL, Dataset
from services.pipeline.lake.raw import write_raw
from services.pipeline.lake.storage import S3Lake
from services.tool.analysis.athena import run as athena
from services.tool.analysis.queries import bind, saved_queries
from services.tool.analysis.report import SECTION_TABLES, build, catalogued
from services.tool.local.deploy import LOCAL, Deployed, deploy
from tests.ahead import THEORETICAL_2022, THEORETICAL_2025_01, configuration, preview_body
from tests.ahead_expected import Row, next_rebalance, theoretical_vs_day
from tests.aws_clients import aws
from tests.lakes import on_day, recorded_portfolio, without
from tests.recordings import SEGMENT2_2022_12_08, load

pytestmark = pytest.mark.spark

DAY, BEFORE = date(2022, 12, 8), date(2022, 12, 7)
FETCHED_AT = datetime(2022, 12, 10, 12, 0, tzinfo=UTC)
PREFIXES = (
    settings.RAW_PREFIX,
    settings.RAW_THEORETICAL_PREFIX,
    settings.RAW_PREVIEW_PREFIX,
    settings.REFINED_PREFIX,
    settings.REFINED_THEORETICAL_PREFIX,
    settings.REFINED_PREVIEW_PREFIX,
)


def _source(call: str, body: bytes) -> PageSource:
    return PageSource(1, f"replay://{call}", body)


def _ahead(dataset: Dataset, session: date, body: bytes) -> Ahead:
    """What the scraper would have fetched for ``session``: ``body`` as ``dataset``."""
    contract = theoretical.CONTRACT if dataset is THEORETICAL else preview.CONTRACT
    cycle = cycle_of(session) if dataset is THEORETICAL else cycle_of(session).next()
    answers = {"session": _source("GetPortfolioDay", SEGMENT2_2022_12_08.read_bytes())}
    if dataset is PREVIEW:
        answers = {"configuration": _source("GetConfigurations", configuration(1)), **answers}
    header, total_records, assets = join([parse_totals_page(json.loads(body), contract)])
    return Ahead(
        dataset, "IBOV", session, cycle, header, total_records, assets,
        (_source(contract.call, body),), answers, FETCHED_AT,
    )  # fmt: skip


def _pin(lake: S3Lake, key: str) -> tuple[str, str]:
    stored = lake.read_object(key)
    return hashlib.sha256(stored.data).hexdigest(), stored.version


@pytest.fixture(scope="module")
def stack(aws_endpoint: str, spark: Any) -> Iterator[Deployed]:
    local = deploy(LOCAL)
    lake = S3Lake(local.bucket)
    day = recorded_portfolio(SEGMENT2_2022_12_08)
    objects = []
    for portfolio in (day, on_day(without(day, "ABEV3"), BEFORE)):
        raw = write_raw(lake, portfolio, writer=settings.WRITER_SCRAPER)
        digest, version = _pin(lake, raw.key)
        objects.append({"index": "IBOV", "dt": raw.dt.isoformat(), "sha256": digest,
                        "version": version})  # fmt: skip
    ahead = []
    for dataset, day, body in (
        (THEORETICAL, DAY, THEORETICAL_2022.read_bytes()),
        (PREVIEW, DAY, preview_body(THEORETICAL_2025_01)),
        (PREVIEW, BEFORE, preview_body(THEORETICAL_2022)),
    ):
        written = write_ahead(lake, _ahead(dataset, day, body), writer=settings.WRITER_SCRAPER)
        digest, version = _pin(lake, written.key)
        ahead.append({"dataset": dataset.name, "index": "IBOV", "dt": written.dt.isoformat(),
                      "status": "stored", "object_sha256": digest, "version": version})  # fmt: skip
    run(parse_args([
        "--lake", local.lake_uri, "--processing-date", "2022-12-10",
        "--objects", json.dumps(objects), "--ahead", json.dumps(ahead),
    ]))  # fmt: skip
    yield local
    _remove(local, (DAY, BEFORE))


def _remove(stack: Deployed, days: tuple[date, ...]) -> None:
    """Delete what this module left (other modules query the same stack)."""
    s3: Any = aws("s3")
    glue: Any = aws("glue")
    pages = s3.get_paginator("list_objects_v2")
    for prefix in PREFIXES:
        for page in pages.paginate(Bucket=stack.bucket, Prefix=f"{prefix}/"):
            for item in page.get("Contents", []):
                if any(f"dt={day}" in item["Key"] for day in days):
                    s3.delete_object(Bucket=stack.bucket, Key=item["Key"])
    for table in (LOCAL.table, *SECTION_TABLES):
        for day in days:
            try:
                parts = glue.get_partitions(DatabaseName=LOCAL.database, TableName=table,
                                            Expression=f"dt = '{day}'")["Partitions"]  # fmt: skip
            except glue.exceptions.EntityNotFoundException:
                continue
            for part in parts:
                if part["Values"][0] == day.isoformat():
                    glue.delete_partition(DatabaseName=LOCAL.database, TableName=table,
                                          PartitionValues=part["Values"])  # fmt: skip


def select(sql: str) -> list[dict[str, str | None]]:
    return athena(sql, LOCAL.workgroup).as_dicts()


def ask(name: str, **values: str) -> list[dict[str, str | None]]:
    return select(bind(saved_queries()[name], values))


def typed(row: dict[str, str | None]) -> Row:
    """Athena's strings back to the expected rows' types (quantities int, weights Decimal)."""
    out: Row = {}
    for key, value in row.items():
        if value is None or not key.endswith(("_qty", "_pct", "qty_change")):
            out[key] = value
        elif key.endswith("_pct"):
            out[key] = Decimal(value)
        else:
            out[key] = int(value)
    return out


def test_the_theoretical_portfolio_against_the_days_is_exactly_the_recordings(
    stack: Deployed,
) -> None:
    expected = theoretical_vs_day(load(SEGMENT2_2022_12_08), load(THEORETICAL_2022))
    got = select(
        'SELECT * FROM "default"."b3_theoretical_vs_day" '
        f"WHERE dt = '{DAY}' AND index_code = 'IBOV'"
    )
    assert len(got) == len(expected) == 92
    rows = {str(r["ticker"]): typed(r) for r in got}
    for ticker, row in rows.items():
        assert (row.pop("dt"), row.pop("index_code"), row.pop("ticker")) == (
            DAY.isoformat(), "IBOV", ticker
        )  # fmt: skip
        assert row.pop("cycle") == "2022-09"
        assert row == expected[ticker], ticker
    moved = {t: r["qty_change"] for t, r in expected.items() if r["qty_change"]}
    assert moved == {
        "FLRY3": 67_463_427, "IGTI11": 36_476_000, "IRBR3": 1_200_000_000,
        "ITSA4": 473_606_028, "RENT3": 2_734_402,
    }  # fmt: skip


def test_a_day_without_its_theoretical_portfolio_has_no_rows(stack: Deployed) -> None:
    assert ask("theoretical_vs_day", dt=BEFORE.isoformat(), index_code="IBOV") == []


def test_the_saved_query_lists_the_moved_quantities_first(stack: Deployed) -> None:
    got = ask("theoretical_vs_day", dt=DAY.isoformat(), index_code="IBOV")
    assert [r["ticker"] for r in got[:5]] == ["IRBR3", "ITSA4", "FLRY3", "IGTI11", "RENT3"]
    assert {r["qty_change"] for r in got[5:]} == {"0"}
    assert len(got) == 92


def test_the_next_rebalance_is_the_latest_preview_against_the_day_exactly(
    stack: Deployed,
) -> None:
    expected = next_rebalance(load(SEGMENT2_2022_12_08), load(THEORETICAL_2025_01))
    got = select('SELECT * FROM "default"."b3_next_rebalance" WHERE index_code = \'IBOV\'')
    assert len(got) == len(expected) == 105
    for raw in got:
        row = typed(raw)
        head = [row.pop(k) for k in ("index_code", "preview_dt", "portfolio_dt", "target_cycle")]
        assert head == ["IBOV", DAY.isoformat(), DAY.isoformat(), "2023-01"]
        assert row.pop("contract") == settings.PREVIEW_CONTRACT
        ticker = str(row.pop("ticker"))
        assert row == expected[ticker], ticker


def test_the_next_rebalance_query_lists_entering_then_leaving(stack: Deployed) -> None:
    expected = next_rebalance(load(SEGMENT2_2022_12_08), load(THEORETICAL_2025_01))
    got = ask("next_rebalance", index_code="IBOV")
    order = {"entering": 0, "leaving": 1, "weight change": 2, "unchanged": 3}
    want = sorted(
        expected.items(),
        key=lambda kv: (
            order[kv[1]["change"]],
            -abs(kv[1]["weight_change_pct"] or Decimal(0)),
            kv[0],
        ),
    )
    assert [(r["ticker"], r["change"]) for r in got] == [(t, r["change"]) for t, r in want]


def test_the_report_has_a_section_for_each(stack: Deployed, tmp_path: Path) -> None:
    available = catalogued(aws("glue"), LOCAL.database, SECTION_TABLES)
    assert available == set(SECTION_TABLES)
    runner = lambda sql: athena(sql, LOCAL.workgroup)  # noqa: E731
    report = build(runner, DAY.isoformat(), "IBOV", BEFORE.isoformat(), tmp_path, available)
    assert {"theoretical", "rebalance"} <= set(report.images)
    for name in ("theoretical", "rebalance"):
        assert report.images[name].read_bytes().startswith(b"\x89PNG")
    page = report.html_path.read_text() if report.html_path else ""
    assert "Cycle 2022-09: 92 tickers; 5 with a quantity moved" in page
    assert "+1,200,000,000" in page  # IRBR3
    assert "13 entering, 18 leaving, 74 weight change, 0 unchanged" in page
    assert "unverified" in page
    # a day with neither, and a stack without the tables: each section says so
    bare = build(runner, BEFORE.isoformat(), "IBOV", None, tmp_path / "bare", set())
    page = bare.html_path.read_text() if bare.html_path else ""
    assert "The theoretical portfolio is not catalogued in this lake." in page
    assert "The preview is not catalogued in this lake." in page
    before = build(runner, BEFORE.isoformat(), "IBOV", None, tmp_path / "before", available)
    page = before.html_path.read_text() if before.html_path else ""
    assert f"No theoretical portfolio of IBOV for {BEFORE} is in the lake" in page
    assert {"theoretical", "rebalance"} & set(before.images) == {"rebalance"}

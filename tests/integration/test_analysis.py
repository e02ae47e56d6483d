"""Saved queries, views, the report and the notebook, on refined data built from recordings.

IBOV 2025-07-09 and 2025-07-11 (ALOS3 entered, VIVA3 left), and 2022-12-06..08 with the
cycle's theoretical portfolio and two test-made previews (``tests.ahead.preview_body``),
written to the local lake by the raw writers and refined by ONE pinned run of the Glue job.
Expected rows are computed from the recordings' strings (``tests.ahead_expected``).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import asdict
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import nbformat
import pytest
from botocore.exceptions import ClientError
from nbclient import NotebookClient

from glue.job import parse_args, run
from services.pipeline import settings
from services.pipeline.b3 import preview, theoretical
from services.pipeline.b3.cycles import cycle_of
from services.pipeline.b3.download import read_download
from services.pipeline.b3.portfolio import (
    Header,
    PageSource,
    Portfolio,
    assemble,
    join,
    parse_page,
    parse_totals_page,
)
from services.pipeline.lake.datasets import PREVIEW, THEORETICAL, Dataset
from services.pipeline.lake.raw import write_raw
from services.pipeline.lake.storage import S3Lake
from services.pipeline.validate.ingest import land_download
from services.tool.analysis.athena import QueryFailed
from services.tool.analysis.athena import run as athena
from services.tool.analysis.queries import bind, saved_queries
from services.tool.analysis.report import SECTION_TABLES, build, catalogued, days_before
from services.tool.bench import download_on
from services.tool.local.deploy import LOCAL, Deployed, deploy
from tests.ahead import THEORETICAL_2022, THEORETICAL_2025_01, configuration, preview_body
from tests.ahead_expected import Row, next_rebalance, theoretical_vs_day
from tests.aws_clients import aws
from tests.lakes import on_day, recorded_portfolio, without
from tests.recordings import (
    RESULTS_ONLY_2025_07_13,
    SEGMENT2_2022_12_08,
    SEGMENT2_2025_07_10,
    load,
    pt_br,
)

pytestmark = pytest.mark.spark

EARLIER, LATER = "2025-07-09", "2025-07-11"
DAY, BEFORE, DOWNLOADED = date(2022, 12, 8), date(2022, 12, 7), date(2022, 12, 6)
NOTEBOOK = settings.REPO_ROOT / "services" / "tool" / "analysis" / "b3_index_portfolio.ipynb"


def later_document() -> dict[str, Any]:
    """The 2025-07-13 recording's rows (B3's strings) as a whole GetPortfolioDay body."""
    sectors = {r["cod"]: r["segment"] for r in load(SEGMENT2_2025_07_10)["results"]}
    rows = [dict(r, segment=sectors[r["cod"]]) for r in load(RESULTS_ONLY_2025_07_13)["results"]]
    gone = next(r for r in rows if r["cod"] == "VIVA3")  # its weight goes to the first row
    rows = [r for r in rows if r["cod"] != "VIVA3"]
    rows[0] = dict(
        rows[0], part=f"{pt_br(rows[0]['part']) + pt_br(gone['part'])}".replace(".", ",")
    )
    qty = sum(int(pt_br(r["theoricalQty"])) for r in rows)
    part = sum(pt_br(r["part"]) for r in rows)
    header = dict(load(SEGMENT2_2025_07_10)["header"], date="11/07/25")
    header.update(theoricalQty=f"{qty:,}".replace(",", "."), part=f"{part:.3f}".replace(".", ","))
    page = {"pageNumber": 1, "pageSize": 120, "totalRecords": len(rows), "totalPages": 1}
    return {"page": page, "header": header, "results": rows}


def earlier_portfolio() -> Portfolio:
    """The 2025-07-10 recording on 2025-07-09, without ALOS3 (its weight to its sector's)."""
    return on_day(without(recorded_portfolio(SEGMENT2_2025_07_10), "ALOS3"), date(2025, 7, 9))


def _ahead(dataset: Dataset, session: date, body: bytes) -> Portfolio:
    """What the scraper would have fetched for ``session``: ``body`` as ``dataset``."""
    contract = theoretical.CONTRACT if dataset is THEORETICAL else preview.CONTRACT
    cycle = cycle_of(session) if dataset is THEORETICAL else cycle_of(session).next()
    day = PageSource(1, "replay://GetPortfolioDay", SEGMENT2_2022_12_08.read_bytes())
    answers = {"session": day}
    if dataset is PREVIEW:
        answers["configuration"] = PageSource(1, "replay://GetConfigurations", configuration(1))
    totals, total_records, assets = join([parse_totals_page(json.loads(body), contract)])
    header = Header(**asdict(totals), trading_date=session, date_raw=f"{session:%d/%m/%y}")
    source = (PageSource(1, f"replay://{contract.call}", body),)
    fetched_at = datetime(2022, 12, 10, 12, 0, tzinfo=UTC)
    return Portfolio("IBOV", header, total_records, assets, source, fetched_at, dataset, cycle,
                     answers)  # fmt: skip


def _pin(lake: S3Lake, key: str) -> dict[str, str]:
    stored = lake.read_object(key)
    return {"sha256": hashlib.sha256(stored.data).hexdigest(), "version": stored.version}


@pytest.fixture(scope="module")
def stack(aws_endpoint: str, spark: Any) -> Iterator[Deployed]:
    local = deploy(LOCAL)
    lake = S3Lake(local.bucket)
    body = json.dumps(later_document()).encode()
    earlier = earlier_portfolio()
    later = assemble("IBOV", [parse_page(json.loads(body))],
                     [PageSource(1, "replay://later", body)], earlier.fetched_at)  # fmt: skip
    day = recorded_portfolio(SEGMENT2_2022_12_08)
    objects = []
    for portfolio in (earlier, later, day, on_day(without(day, "ABEV3"), BEFORE)):
        raw = write_raw(lake, portfolio, writer=settings.WRITER_SCRAPER)  # the trigger ignores
        objects.append({"index": "IBOV", "dt": raw.dt.isoformat(), **_pin(lake, raw.key)})
    name, data = download_on(DOWNLOADED)
    key = land_download(lake, data, name, datetime.now(UTC), settings.WRITER_CLI)[0]
    objects.append({"index": "IBOV", "dt": str(DOWNLOADED), **_pin(lake, key)})
    ahead = []
    for dataset, session, ahead_body in (
        (THEORETICAL, DAY, THEORETICAL_2022.read_bytes()),
        (PREVIEW, DAY, preview_body(THEORETICAL_2025_01)),
        (PREVIEW, BEFORE, preview_body(THEORETICAL_2022)),
    ):
        written = write_raw(
            lake, _ahead(dataset, session, ahead_body), writer=settings.WRITER_SCRAPER
        )
        pin = _pin(lake, written.key)
        ahead.append({"dataset": dataset.name, "index": "IBOV", "dt": written.dt.isoformat(),
                      "status": "stored", "object_sha256": pin["sha256"],
                      "version": pin["version"]})  # fmt: skip
    run(parse_args(["--lake", local.lake_uri, "--processing-date", "2025-07-14",
                    "--objects", json.dumps(objects), "--ahead", json.dumps(ahead)]))  # fmt: skip
    yield local
    _remove(local, [o["dt"] for o in objects])


def _remove(stack: Deployed, days: list[str]) -> None:
    """Delete what this module wrote: other modules (the demo's) refine the same days."""
    s3: Any = aws("s3")
    glue: Any = aws("glue")
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=stack.bucket):
        for item in page.get("Contents", []):
            if any(f"dt={day}/" in item["Key"] for day in days):
                s3.delete_object(Bucket=stack.bucket, Key=item["Key"])
    pages = glue.get_paginator("get_partitions")
    for table in (LOCAL.table, *SECTION_TABLES):
        for day in days:  # an emulator may read no more of an expression than this
            for page in pages.paginate(DatabaseName=LOCAL.database, TableName=table,
                                       Expression=f"dt = '{day}'"):  # fmt: skip
                for part in (p for p in page["Partitions"] if p["Values"][0] == day):
                    glue.delete_partition(DatabaseName=LOCAL.database, TableName=table,
                                          PartitionValues=part["Values"])  # fmt: skip


def select(sql: str) -> list[dict[str, str | None]]:
    return athena(sql, LOCAL.workgroup).as_dicts()


def ask(name: str, **values: str) -> list[dict[str, str | None]]:
    params = {"index_code": "IBOV", "dt": LATER, "previous_dt": EARLIER, **values}
    return select(bind(saved_queries()[name], params))


def typed(row: dict[str, str | None]) -> Row:
    """Athena's strings back to the expected rows' types (quantities int, weights Decimal)."""
    out: Row = {}
    for key, value in row.items():
        if value is None or not key.endswith(("_qty", "_pct", "qty_change")):
            out[key] = value
        else:
            out[key] = Decimal(value) if key.endswith("_pct") else int(value)
    return out


def test_top_weights(stack: Deployed) -> None:
    expected = sorted(later_document()["results"], key=lambda r: (-pt_br(r["part"]), r["cod"]))[:20]
    assert [
        (r["ticker"], r["company"], Decimal(r["weight_pct"] or "")) for r in ask("top_weights")
    ] == [(r["cod"], r["asset"], pt_br(r["part"])) for r in expected]


@pytest.mark.parametrize(
    ("query", "key"), [("weights_by_sector", "segment"), ("weights_by_company", "asset")]
)
def test_weights_by_sector_and_by_company(stack: Deployed, query: str, key: str) -> None:
    """Through the views ``b3_sector_weights`` and ``b3_company_weights``."""
    weights: dict[str, Decimal] = defaultdict(Decimal)
    tickers: dict[str, int] = defaultdict(int)
    for row in later_document()["results"]:
        weights[row[key]] += pt_br(row["part"])
        tickers[row[key]] += 1
    got = ask(query)
    column = "sector" if key == "segment" else "company"
    assert {r[column]: (Decimal(r["weight_pct"] or ""), int(r["tickers"] or "")) for r in got} == {
        k: (weights[k], tickers[k]) for k in weights
    }
    assert [Decimal(r["weight_pct"] or "") for r in got] == sorted(weights.values(), reverse=True)


def test_day_over_day_and_ticker_history(stack: Deployed) -> None:
    before = {asset.cod: asset.part for asset in earlier_portfolio().assets}
    after = {r["cod"]: pt_br(r["part"]) for r in later_document()["results"]}
    got = ask("day_over_day")
    rows = {r["ticker"]: r for r in got}
    assert rows.keys() == before.keys() | after.keys()
    for ticker in before.keys() & after.keys():
        assert Decimal(rows[ticker]["change_pct"] or "") == after[ticker] - before[ticker], ticker
    assert (rows["ALOS3"]["previous_weight_pct"], rows["VIVA3"]["weight_pct"]) == (None, None)
    changes = [abs(Decimal(r["change_pct"])) for r in got if r["change_pct"]]
    assert changes == sorted(changes, reverse=True)
    history = ask("ticker_history", ticker="PETR4", start_dt=EARLIER, end_dt=LATER)
    assert [(r["dt"], Decimal(r["weight_pct"] or "")) for r in history] == [
        (EARLIER, before["PETR4"]), (LATER, after["PETR4"])
    ]  # fmt: skip


def test_the_theoretical_portfolio_against_the_days_is_exactly_the_recordings(
    stack: Deployed,
) -> None:
    expected = theoretical_vs_day(load(SEGMENT2_2022_12_08), load(THEORETICAL_2022))
    got = select(f'SELECT * FROM "default"."b3_theoretical_vs_day" WHERE dt = \'{DAY}\'')
    assert len(got) == len(expected) == 92
    for row in map(typed, got):
        ticker = str(row.pop("ticker"))
        assert [row.pop(k) for k in ("dt", "index_code", "cycle")] == [str(DAY), "IBOV", "2022-09"]
        assert row == expected[ticker], ticker
    # the saved query: the quantities corporate actions moved first, largest first
    ordered = ask("theoretical_vs_day", dt=str(DAY))
    assert [(r["ticker"], r["qty_change"]) for r in ordered[:5]] == [
        ("IRBR3", "1200000000"), ("ITSA4", "473606028"), ("FLRY3", "67463427"),
        ("IGTI11", "36476000"), ("RENT3", "2734402"),
    ]  # fmt: skip
    assert {r["qty_change"] for r in ordered[5:]} == {"0"}
    assert ask("theoretical_vs_day", dt=str(BEFORE)) == []  # no theoretical portfolio that day


def test_the_next_rebalance_is_the_latest_preview_against_the_day_exactly(stack: Deployed) -> None:
    expected = next_rebalance(load(SEGMENT2_2022_12_08), load(THEORETICAL_2025_01))
    got = select('SELECT * FROM "default"."b3_next_rebalance" WHERE index_code = \'IBOV\'')
    assert len(got) == len(expected) == 105
    for row in map(typed, got):
        head = [row.pop(k) for k in ("index_code", "preview_dt", "portfolio_dt", "target_cycle")]
        assert head == ["IBOV", str(DAY), str(DAY), "2023-01"]
        assert row.pop("contract") == settings.PREVIEW_CONTRACT
        ticker = str(row.pop("ticker"))
        assert row == expected[ticker], ticker
    order = {"entering": 0, "leaving": 1, "weight change": 2, "unchanged": 3}
    want = sorted(expected.items(), key=lambda kv: (
        order[kv[1]["change"]], -abs(kv[1]["weight_change_pct"] or 0), kv[0]))  # fmt: skip
    assert [(r["ticker"], r["change"]) for r in ask("next_rebalance")] == [
        (t, r["change"]) for t, r in want
    ]


def test_the_report(stack: Deployed, tmp_path: Path) -> None:
    glue = aws("glue")
    available = catalogued(glue, LOCAL.database, [*SECTION_TABLES, "no_such_table"])
    assert available == set(SECTION_TABLES)
    earlier = days_before(glue, LOCAL.database, LOCAL.table, "IBOV", LATER)
    assert earlier == [str(DOWNLOADED), str(BEFORE), str(DAY), EARLIER]
    runner = lambda sql: athena(sql, LOCAL.workgroup)  # noqa: E731
    day = build(runner, LATER, "IBOV", earlier, tmp_path, available)
    assert set(day.images) == {"top_weights", "sectors", "changes", "history"}
    page = day.html_path.read_text() if day.html_path else ""
    assert page.count("data:image/png;base64,") == 4
    since = {  # each entries-and-exits table's rows, as (movement, ticker)
        start: re.findall(r"<tr><td>(\w+)</td><td>(\w+)</td>", page.split(
            f"Entries and exits, {start} → {LATER}</h2>")[1].split("<h2>")[0])
        for start in (EARLIER, str(DOWNLOADED))
    }  # fmt: skip
    assert since[EARLIER] == [("entered", "ALOS3"), ("left", "VIVA3")]
    name, data = download_on(DOWNLOADED)
    first = {asset.cod for asset in read_download(data, name).assets}
    last = {r["cod"] for r in later_document()["results"]}
    moves = [("entered", t) for t in sorted(last - first)]
    assert since[str(DOWNLOADED)] == moves + [("left", t) for t in sorted(first - last)]
    assert f"No theoretical portfolio of IBOV for {LATER} is in the lake" in page
    assert "is for the cycle 2023-01, which has begun" in page  # the latest preview is old
    ahead = build(runner, str(DAY), "IBOV", earlier[:2], tmp_path, available)
    assert set(ahead.images) == set(day.images) | {"theoretical", "rebalance"}
    page = ahead.html_path.read_text() if ahead.html_path else ""
    rows = theoretical_vs_day(load(SEGMENT2_2022_12_08), load(THEORETICAL_2022)).values()
    drift = sum(abs(r["weight_change_pct"]) for r in rows)
    assert "Cycle 2022-09: 92 tickers; 5 with a quantity moved since the rebalance " in page
    assert f"weights drifted {drift} percentage points" in page
    moved = re.findall(r"<tr><td>(\w+)</td><td>[^<]*</td><td>[\d,]+</td><td>[\d,]+</td>", page)
    assert moved == ["IRBR3", "FLRY3", "IGTI11", "ITSA4", "RENT3"]  # relative change first
    assert "<td>+1,200,000,000</td>" in page  # IRBR3
    assert "13 entering, 18 leaving, 74 weight change, 0 unchanged" in page
    bare = build(runner, str(DOWNLOADED), "IBOV", [], tmp_path, set())
    assert set(bare.images) == {"top_weights"}
    page = bare.html_path.read_text() if bare.html_path else ""
    assert "B3&#x27;s CSV download has no sector" in page
    for table in SECTION_TABLES:
        assert f"The table {table} is not catalogued in this lake." in page


def test_a_download_of_a_day_b3s_api_filled_writes_nothing(stack: Deployed) -> None:
    lake, day = S3Lake(stack.bucket), f"raw/index=IBOV/dt={LATER}/"
    before = {key: lake.read_bytes(key) for key in lake.list(day)}
    name, data = download_on(date.fromisoformat(LATER))
    kept = land_download(lake, data, name, datetime.now(UTC), settings.WRITER_CLI)[2]
    assert kept == f"raw/ holds B3's API answer for IBOV {LATER}: it stays"
    assert {key: lake.read_bytes(key) for key in lake.list(day)} == before


@pytest.fixture(scope="module")
def refined_copy(stack: Deployed, tmp_path_factory: pytest.TempPathFactory) -> Path:
    lake, root = S3Lake(stack.bucket), tmp_path_factory.mktemp("refined")
    for day in (EARLIER, LATER):
        for key in lake.list(f"refined/dt={day}/"):
            target = root.joinpath(*key.split("/")[1:])
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(lake.read_bytes(key))
    return root


def test_a_single_day_query_reads_only_that_days_files(refined_copy: Path) -> None:
    """The plan of the engine behind the local Athena (DuckDB) shows the files it read."""
    relation = (
        f"read_parquet('{refined_copy}/**/*.parquet', hive_partitioning = true, "
        "hive_types = {'dt': VARCHAR, 'index_code': VARCHAR, 'ticker': VARCHAR})"
    )
    sql = bind(saved_queries()["top_weights"], {"dt": LATER, "index_code": "IBOV"})
    sql = sql.replace('"default"."b3_index_portfolio"', relation)
    plan = duckdb.connect().execute("EXPLAIN ANALYZE " + sql).fetchall()[0][1]
    scanned = re.search(r"Scanning Files: (\d+)/(\d+)", plan)
    assert scanned, plan
    assert (int(scanned[1]), int(scanned[2])) == (83, 166)  # of 2025-07-11, of both days


def test_the_notebook_runs_headless_against_the_local_data(refined_copy: Path) -> None:
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    (parameters,) = [c for c in notebook.cells if "parameters" in c.metadata.get("tags", [])]
    parameters.source += f"\nrefined_path = {str(refined_copy)!r}\ndt = {LATER!r}\n"
    NotebookClient(notebook, timeout=300, kernel_name="python3").execute()
    images = [
        output
        for cell in notebook.cells
        if cell.cell_type == "code"
        for output in cell.get("outputs", [])
        if "image/png" in output.get("data", {})
    ]
    assert len(images) == 3  # top 20, sectors, changes since 2025-07-09


def test_bovespa_query_prints_csv_and_json_and_tables_lists_the_columns(stack: Deployed) -> None:
    def bovespa(*args: str) -> str:
        done = subprocess.run(
            [sys.executable, "-m", "services.tool.cli", *args], capture_output=True,
            text=True, timeout=120, env=os.environ.copy(), check=True,
        )  # fmt: skip
        return done.stdout

    csv_text = bovespa("query", "entries_exits", "-p", f"dt={LATER}", "-p",
                       f"previous_dt={EARLIER}", "-p", "index_code=IBOV",
                       "--format", "csv")  # fmt: skip
    assert csv_text.splitlines() == [
        "ticker,company,movement",
        "ALOS3,ALLOS,entered",
        "VIVA3,VIVARA S.A.,left",
    ]
    sql = f'SELECT count(*) AS n FROM "default"."b3_index_portfolio" WHERE dt = \'{LATER}\''
    assert json.loads(bovespa("query", sql, "--format", "json")) == [
        {"n": str(len(later_document()["results"]))}
    ]
    listed = {
        (c["table"], c["column"]): c for c in json.loads(bovespa("tables", "--format", "json"))
    }
    types = [listed["b3_index_portfolio", name]["type"] for name in ("ticker", "weight_pct")]
    assert types == ["string", "decimal(7,3)"]
    assert listed["b3_index_preview", "dt"]["key"] == "partition"


def test_the_local_athena_cannot_touch_host_files(stack: Deployed, tmp_path: Path) -> None:
    """Not through `bovespa query` (which refuses these) but straight to the emulator."""
    for sql in (
        "SELECT * FROM read_text('/etc/passwd')",
        f"COPY (SELECT 42 AS x) TO '{tmp_path / 'leak.csv'}'",
        f"ATTACH '{tmp_path / 'other.duckdb'}' AS other",
        "INSTALL httpfs",
    ):
        with pytest.raises(QueryFailed):
            athena(sql, LOCAL.workgroup)
    assert list(tmp_path.iterdir()) == []
    assert len(ask("top_weights")) == 20  # the table's own files are still read


def test_a_query_given_up_on_is_stopped_and_a_huge_answer_refused(stack: Deployed) -> None:
    five = " CROSS JOIN ".join(f'"default"."b3_index_portfolio" {alias}' for alias in "abcde")
    with pytest.raises(TimeoutError, match="stopped after 2 s") as gave_up:
        athena(f"SELECT count(*) FROM {five}", LOCAL.workgroup, timeout=2)
    query_id = str(gave_up.value).split()[2]
    state = aws("athena").get_query_execution(QueryExecutionId=query_id)["QueryExecution"]
    assert state["Status"]["State"] == "CANCELLED"  # the client stopped it
    with pytest.raises(ClientError, match="over 67108864 bytes, the local bound"):
        select("SELECT repeat('x', 70000000) AS s")  # one cell: DuckDB does not bound it
    assert len(ask("top_weights")) == 20  # and the next query is answered


def test_a_statement_without_rows_is_an_empty_result(stack: Deployed) -> None:
    result = athena('DROP TABLE IF EXISTS "default"."no_such_table"', LOCAL.workgroup)
    assert (result.columns, result.rows) == ([], [])

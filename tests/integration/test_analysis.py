"""Saved queries, the report and the notebook, on refined data built from real recordings.

Two portfolio days land in the local stack's lake through the scraper's raw layer and the
Glue job: 2025-07-09 is the recorded 2025-07-10 portfolio without ALOS3, and 2025-07-11
carries the weights of the recording a peer stored on 2025-07-13 (B3's own strings),
without VIVA3. So between them ALOS3 entered, VIVA3 left and every weight moved as B3
published. Expected rows are computed here from the recordings' strings.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections import defaultdict
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import nbformat
import pytest
from nbclient import NotebookClient

from glue.job import JobArgs, run
from services.pipeline import settings
from services.pipeline.b3.portfolio import PageSource, assemble, parse_page
from services.pipeline.lake.raw import write_raw
from services.pipeline.lake.storage import S3Lake
from services.tool.analysis.athena import QueryFailed
from services.tool.analysis.athena import run as athena
from services.tool.analysis.queries import bind, saved_queries
from services.tool.analysis.report import build, latest_dt_before
from services.tool.local.deploy import LOCAL, Deployed, deploy
from tests.aws_clients import aws
from tests.lakes import on_day, recorded_portfolio, without
from tests.recordings import RESULTS_ONLY_2025_07_13, SEGMENT2_2025_07_10, load, pt_br

pytestmark = pytest.mark.spark

EARLIER, LATER = "2025-07-09", "2025-07-11"
TABLE = f'"{settings.GLUE_DATABASE}"."{settings.REFINED_TABLE}"'
NOTEBOOK = settings.REPO_ROOT / "services" / "tool" / "analysis" / "b3_index_portfolio.ipynb"


def later_document() -> dict[str, Any]:
    """The 2025-07-13 recording's rows (B3's strings) as a whole GetPortfolioDay body."""
    sectors = {r["cod"]: r["segment"] for r in load(SEGMENT2_2025_07_10)["results"]}
    rows = [dict(r, segment=sectors[r["cod"]]) for r in load(RESULTS_ONLY_2025_07_13)["results"]]
    rows = [r for r in rows if r["cod"] != "VIVA3"]
    qty = sum(int(pt_br(r["theoricalQty"])) for r in rows)
    part = sum(pt_br(r["part"]) for r in rows)
    header = dict(load(SEGMENT2_2025_07_10)["header"], date="11/07/25")
    header.update(theoricalQty=f"{qty:,}".replace(",", "."), part=f"{part:.3f}".replace(".", ","))
    page = {"pageNumber": 1, "pageSize": 120, "totalRecords": len(rows), "totalPages": 1}
    return {"page": page, "header": header, "results": rows}


@pytest.fixture(scope="module")
def stack(aws_endpoint: str, spark: Any) -> Deployed:
    local = deploy(LOCAL)
    lake = S3Lake(local.bucket)
    earlier = on_day(without(recorded_portfolio(SEGMENT2_2025_07_10), "ALOS3"), date(2025, 7, 9))
    body = json.dumps(later_document()).encode()
    later = assemble(
        "IBOV", [parse_page(json.loads(body))], [PageSource(1, "replay://later", body)],
        earlier.fetched_at, require_sector=True,
    )  # fmt: skip
    for portfolio in (earlier, later):
        write_raw(lake, portfolio, writer=settings.WRITER_SCRAPER)  # the trigger ignores these
    run(JobArgs(lake=local.lake_uri, start=date(2025, 7, 9), end=date(2025, 7, 11),
                processing_date=date(2025, 7, 14)))  # fmt: skip
    return local


def ask(name: str, **values: str) -> list[dict[str, str | None]]:
    params = {"index_code": "IBOV", "dt": LATER, "previous_dt": EARLIER, **values}
    return athena(bind(saved_queries()[name], params), LOCAL.workgroup).as_dicts()


def rows_of(day: str) -> list[dict[str, Any]]:
    if day == LATER:
        return later_document()["results"]
    return [r for r in load(SEGMENT2_2025_07_10)["results"] if r["cod"] != "ALOS3"]


def test_top_weights(stack: Deployed) -> None:
    expected = sorted(rows_of(LATER), key=lambda r: (-pt_br(r["part"]), r["cod"]))[:20]
    got = ask("top_weights")
    assert [(r["ticker"], Decimal(r["weight_pct"] or "")) for r in got] == [
        (r["cod"], pt_br(r["part"])) for r in expected
    ]
    assert [r["company"] for r in got] == [r["asset"] for r in expected]


@pytest.mark.parametrize(
    ("query", "key"), [("weights_by_sector", "segment"), ("weights_by_company", "asset")]
)
def test_weights_by_sector_and_by_company(stack: Deployed, query: str, key: str) -> None:
    weights: dict[str, Decimal] = defaultdict(Decimal)
    tickers: dict[str, int] = defaultdict(int)
    for row in rows_of(LATER):
        weights[row[key]] += pt_br(row["part"])
        tickers[row[key]] += 1
    got = ask(query)
    column = "sector" if key == "segment" else "company"
    assert {r[column]: (Decimal(r["weight_pct"] or ""), int(r["tickers"] or "")) for r in got} == {
        k: (weights[k], tickers[k]) for k in weights
    }
    assert [Decimal(r["weight_pct"] or "") for r in got] == sorted(weights.values(), reverse=True)
    if key == "asset":
        assert next(r for r in got if r["company"] == "PETROBRAS")["tickers"] == "2"


def test_day_over_day(stack: Deployed) -> None:
    before = {r["cod"]: pt_br(r["part"]) for r in rows_of(EARLIER)}
    after = {r["cod"]: pt_br(r["part"]) for r in rows_of(LATER)}
    got = {r["ticker"]: r for r in ask("day_over_day")}
    assert got.keys() == before.keys() | after.keys()
    for ticker in before.keys() & after.keys():
        assert Decimal(got[ticker]["change_pct"] or "") == after[ticker] - before[ticker], ticker
    assert got["ALOS3"]["previous_weight_pct"] is None  # entered
    assert got["VIVA3"]["weight_pct"] is None  # left
    changes = [abs(Decimal(r["change_pct"])) for r in ask("day_over_day") if r["change_pct"]]
    assert changes == sorted(changes, reverse=True)
    assert any(changes)


def test_the_views_make_the_common_questions_one_line(stack: Deployed) -> None:
    weights: dict[str, Decimal] = defaultdict(Decimal)
    for row in rows_of(LATER):
        weights[row["asset"]] += pt_br(row["part"])
    got = athena(
        f'SELECT company, weight_pct, tickers FROM "default"."b3_company_weights" '
        f"WHERE dt = '{LATER}' AND index_code = 'IBOV' ORDER BY weight_pct DESC, company",
        LOCAL.workgroup,
    ).as_dicts()
    assert [(r["company"], Decimal(r["weight_pct"] or "")) for r in got] == sorted(
        weights.items(), key=lambda kv: (-kv[1], kv[0])
    )
    (sectors,) = athena(
        f'SELECT count(*) AS n, sum(weight_pct) AS total FROM "default"."b3_sector_weights" '
        f"WHERE dt = '{LATER}' AND index_code = 'IBOV'",
        LOCAL.workgroup,
    ).rows
    assert (int(sectors[0] or ""), Decimal(sectors[1] or "")) == (
        len({r["segment"] for r in rows_of(LATER)}),
        sum(pt_br(r["part"]) for r in rows_of(LATER)),
    )


def test_entries_and_exits(stack: Deployed) -> None:
    assert [(r["ticker"], r["movement"]) for r in ask("entries_exits")] == [
        ("ALOS3", "entered"),
        ("VIVA3", "left"),
    ]


def test_ticker_history(stack: Deployed) -> None:
    got = ask("ticker_history", ticker="PETR4", start_dt=EARLIER, end_dt=LATER)
    petr4 = {day: next(r for r in rows_of(day) if r["cod"] == "PETR4") for day in (EARLIER, LATER)}
    assert [(r["dt"], Decimal(r["weight_pct"] or "")) for r in got] == [
        (day, pt_br(row["part"])) for day, row in petr4.items()
    ]


@pytest.fixture(scope="module")
def refined_copy(stack: Deployed, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The refined objects of both days, copied out of S3 into a directory."""
    lake, root = S3Lake(stack.bucket), tmp_path_factory.mktemp("refined")
    for day in (EARLIER, LATER):
        for key in lake.list(f"refined/dt={day}/"):
            target = root.joinpath(*key.split("/")[1:])
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(lake.read_bytes(key))
    return root


@pytest.mark.parametrize("name", ["top_weights", "weights_by_sector", "weights_by_company"])
def test_a_single_day_query_reads_only_that_days_files(refined_copy: Path, name: str) -> None:
    """The plan of the engine behind the local Athena (DuckDB) shows the files it read."""
    relation = (
        f"read_parquet('{refined_copy}/**/*.parquet', hive_partitioning = true, "
        "hive_types = {'dt': VARCHAR, 'index_code': VARCHAR, 'ticker': VARCHAR})"
    )
    sql = bind(saved_queries()[name], {"dt": LATER, "index_code": "IBOV"})
    sql = sql.replace('"default"."b3_index_portfolio"', relation)
    plan = duckdb.connect().execute("EXPLAIN ANALYZE " + sql).fetchall()[0][1]
    scanned = re.search(r"Scanning Files: (\d+)/(\d+)", plan)
    files_read = re.search(r"Total Files Read: (\d+)", plan)
    assert scanned, plan
    assert files_read, plan
    day_files = len(list((refined_copy / f"dt={LATER}").rglob("*.parquet")))
    all_files = len(list(refined_copy.rglob("*.parquet")))
    assert (int(scanned[1]), int(scanned[2])) == (day_files, all_files) == (83, 166)
    assert 0 < int(files_read[1]) <= day_files  # a top-N may read even fewer


def test_the_report_has_its_charts(stack: Deployed, tmp_path: Path) -> None:
    assert latest_dt_before(aws("glue"), LOCAL.database, LOCAL.table, "IBOV", LATER) == EARLIER
    report = build(lambda sql: athena(sql, LOCAL.workgroup), LATER, "IBOV", EARLIER, tmp_path)
    assert set(report.images) == {"top_weights", "sectors", "changes"}
    for image in report.images.values():
        data = image.read_bytes()
        assert data.startswith(b"\x89PNG")
        assert len(data) > 10_000
    page = report.html_path.read_text() if report.html_path else ""
    assert page.count("data:image/png;base64,") == 3
    for shown in ("ALOS3", "VIVA3", "entered", "left"):
        assert shown in page


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


def test_bovespa_query_prints_csv_and_json(stack: Deployed) -> None:
    def bovespa(*args: str) -> str:
        done = subprocess.run(
            [sys.executable, "-m", "services.tool.cli", "query", *args], capture_output=True,
            text=True, timeout=120, env=os.environ.copy(), check=True,
        )  # fmt: skip
        return done.stdout

    csv_text = bovespa("entries_exits", "-p", f"dt={LATER}", "-p", f"previous_dt={EARLIER}",
                       "-p", "index_code=IBOV", "--format", "csv")  # fmt: skip
    assert csv_text.splitlines() == [
        "ticker,company,movement",
        "ALOS3,ALLOS,entered",
        "VIVA3,VIVARA S.A.,left",
    ]
    rows = json.loads(
        bovespa(
            f'SELECT count(*) AS n FROM "default"."b3_index_portfolio" WHERE dt = \'{LATER}\'',
            "--format",
            "json",
        )
    )
    assert rows == [{"n": str(len(rows_of(LATER)))}]


def test_bovespa_query_refuses_ddl_and_the_table_survives(stack: Deployed) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "services.tool.cli", "query", f"DROP TABLE {TABLE}"],
        capture_output=True, text=True, timeout=120, env=os.environ.copy(), check=False,
    )  # fmt: skip
    assert done.returncode == 16
    assert done.stderr.strip().startswith("error QueryRefused: only read-only statements run")
    assert aws("glue").get_table(DatabaseName="default", Name=settings.REFINED_TABLE)
    assert len(ask("top_weights")) == 20


def test_the_local_athena_cannot_touch_host_files(stack: Deployed, tmp_path: Path) -> None:
    """Not through `bovespa query` (which refuses these) but straight to the emulator."""
    leak = tmp_path / "leak.csv"
    for sql in (
        "SELECT * FROM read_text('/etc/passwd')",
        f"COPY (SELECT 42 AS x) TO '{leak}'",
        f"ATTACH '{tmp_path / 'other.duckdb'}' AS other",
        "INSTALL httpfs",
    ):
        with pytest.raises(QueryFailed):
            athena(sql, LOCAL.workgroup)
    assert list(tmp_path.iterdir()) == []
    assert len(ask("top_weights")) == 20  # the table's own files are still read


def test_a_statement_without_rows_is_an_empty_result(stack: Deployed) -> None:
    result = athena('DROP TABLE IF EXISTS "default"."no_such_table"', LOCAL.workgroup)
    assert (result.columns, result.rows) == ([], [])

"""``bovespa demo`` and ``bovespa ingest`` as a user runs them: the schedule path (three
indices, then the portfolio ahead) and the inbox path, end to end, checked on the data."""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from services.pipeline import settings
from services.pipeline.lake.raw import to_parquet_bytes, to_table
from services.pipeline.lake.storage import S3Lake
from services.tool.local.deploy import LOCAL, deployed
from services.tool.local.replay import demo_cases
from services.tool.local.run import executions
from tests.ahead import THEORETICAL_2022
from tests.aws_clients import athena_rows, aws, crawls, refined_rows
from tests.ibra import from_csv
from tests.lakes import on_day, recorded_portfolio
from tests.recordings import SEGMENT2_2025_07_10, load, pt_br

pytestmark = pytest.mark.spark

INGESTED = date(2025, 7, 16)
DEMO_DAYS = {("IBOV", "2025-07-10"): 84, ("IBRA", "2021-06-22"): 179, ("IBXX", "2024-11-12"): 100}
AHEAD_DT = "2022-12-08"
Demo = tuple[subprocess.CompletedProcess[str], Path, list[dict[str, Any]]]
Ingested = tuple[Path, Any, set[str], list[dict[str, Any]]]


def bovespa(*args: str, state: Path) -> subprocess.CompletedProcess[str]:
    """The command, its state under ``state`` but for the functions' packages, built once."""
    built = settings.STATE_DIR / "build"
    built.mkdir(parents=True, exist_ok=True)
    if not (state / "build").exists():
        (state / "build").symlink_to(built)
    env = {**os.environ, "BOVESPA_STATE_DIR": str(state)}
    return subprocess.run(
        [sys.executable, "-m", "services.tool.cli", *args],
        capture_output=True, text=True, timeout=900, env=env, check=False,
    )  # fmt: skip


def glue_runs() -> dict[str, dict[str, Any]]:
    glue: Any = aws("glue")
    return {r["Id"]: r for r in glue.get_job_runs(JobName=LOCAL.glue_job)["JobRuns"]}


def refined_of(index: str, dt: str) -> dict[str, dict[str, Any]]:
    return refined_rows(LOCAL.lake_bucket, index, dt)


@pytest.fixture(scope="module")
def demo(aws_endpoint: str, tmp_path_factory: pytest.TempPathFactory) -> Demo:
    state = tmp_path_factory.mktemp("demo")
    before = glue_runs()
    done = bovespa("demo", state=state)
    assert done.returncode == 0, done.stderr[-3000:]
    return done, state, [run for key, run in glue_runs().items() if key not in before]


def test_demo_refines_three_indices_each_on_its_session_with_b3s_numbers(demo: Demo) -> None:
    done, state, runs = demo
    *days, _ = map(json.loads, done.stdout.strip().splitlines())  # a summary per execution
    rows: dict[tuple[str, str], dict[str, Any]] = {}
    for summary in days:  # an execution per recorded session: its clock is that morning
        assert summary["status"] == "SUCCEEDED"
        assert [s["step"] for s in summary["steps"]] == [
            "Scrape and validate", "Glue job", "Crawler", "Athena smoke query", "Check",
        ]  # fmt: skip
        assert (crawls(summary["execution"]), summary["glue_runs"], summary["crawls"]) == (1, 1, 1)
        rows.update({(r["index"], r["dt"]): r for r in summary["indices"]})
    assert rows.keys() == DEMO_DAYS.keys()
    for key, n in DEMO_DAYS.items():
        row = rows[key]
        assert (row["status"], row["raw_rows"], row["refined_rows"]) == ("refined", n, n), key
        assert (row["refined_files"], row["athena_count"]) == (n, n), key
    asked = sorted(
        [(o["index"], o["dt"]) for o in json.loads(run["Arguments"]["--objects"])] for run in runs
    )
    assert asked == sorted([[("IBOV", AHEAD_DT)], *([day] for day in DEMO_DAYS)])
    # the refined rows are the recordings', the two-page IBRA's those of B3's CSV of the day
    for index, dt in DEMO_DAYS:
        body = load(demo_cases((index,))[(index, "2")])
        recorded = {r["cod"]: (pt_br(r["part"]), pt_br(r["theoricalQty"])) for r in body["results"]}
        found = refined_of(index, dt)
        assert {t: (r["weight_pct"], r["theoretical_qty"]) for t, r in found.items()} == recorded
    ibra = refined_of("IBRA", "2021-06-22")
    assert {t: (r["weight_pct"], r["theoretical_qty"]) for t, r in ibra.items()} == {
        t: (weight, qty) for t, (_, _, weight, qty) in from_csv()[0].items()
    }
    assert refined_of("IBOV", "2025-07-10")["PETR4"]["company_weight_pct"] == Decimal("11.404")
    ((count, weight, qty),) = athena_rows(
        LOCAL.workgroup,
        f'SELECT count(*), sum(weight_pct), sum(theoretical_qty) FROM "default"."{LOCAL.table}" '
        "WHERE dt = '2025-07-10' AND index_code = 'IBOV'",
    )
    assert (int(count), Decimal(weight), int(qty)) == (84, Decimal("100.000"), 91_922_324_640)
    s3: Any = aws("s3")
    head = s3.head_object(
        Bucket=LOCAL.lake_bucket, Key="raw/index=IBOV/dt=2025-07-10/portfolio.parquet"
    )
    assert head["Metadata"] == {settings.WRITER_METADATA_KEY: settings.WRITER_SCRAPER}
    report = state / "reports" / "report-IBOV-2025-07-10.html"
    assert report.is_file()
    assert str(report) in done.stderr
    # the README's sample is what the demo prints, numbers, paths and `…` (elided) aside;
    # Files: is printed for the emulator on its usual port only
    sample = settings.REPO_ROOT.joinpath("README.md").read_text(encoding="utf-8")
    sample = sample.split("$ make demo\n.venv/bin/bovespa demo\n")[1].split("```")[0]
    assert lines_of(sample) - lines_of(done.stderr + done.stdout) == set()


def lines_of(text: str) -> set[str]:
    skip = ("Files:", "(the emulator")
    return {
        re.sub(r"\s+", " ", re.sub(r"\S*/reports/|\d", "", line)).strip()
        for line in text.splitlines()
        if "…" not in line and not line.startswith(skip)
    }


def test_demo_refines_the_portfolio_ahead_into_its_tables(demo: Demo) -> None:
    """IBOV on 2022-12-08: its recorded theoretical portfolio, a synthetic preview of it."""
    done, state, runs = demo
    ahead: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    assert ahead["status"] == "SUCCEEDED"
    assert [(r["index"], r["dt"], r["athena_count"]) for r in ahead["indices"]] == [
        ("IBOV", AHEAD_DT, 92)
    ]
    assert sorted(
        (a["dataset"], a["status"], a["refined_rows"], a["table"]) for a in ahead["ahead"]
    ) == [
        ("preview", "stored", 92, "default.b3_index_preview"),
        ("theoretical", "stored", 92, "default.b3_index_theoretical"),
    ]
    # each pin the Glue run got is the Parquet object the scraper wrote, byte for byte
    (run,) = [r for r in runs if json.loads(r["Arguments"]["--objects"])[0]["dt"] == AHEAD_DT]
    lake = S3Lake(LOCAL.lake_bucket)
    for pin in json.loads(run["Arguments"]["--ahead"]):
        name = pin["dataset"]
        stored = lake.read_object(f"raw-{name}/index=IBOV/dt={AHEAD_DT}/{name}.parquet")
        assert (pin["version"], pin["object_sha256"]) == (
            stored.version,
            hashlib.sha256(stored.data).hexdigest(),
        )
    # catalogued with a partition per ticker, and Athena returns exactly the recorded rows
    recorded = load(THEORETICAL_2022)
    glue: Any = aws("glue")
    for table in (settings.REFINED_THEORETICAL_TABLE, settings.REFINED_PREVIEW_TABLE):
        pages = glue.get_paginator("get_partitions").paginate(
            DatabaseName="default", TableName=table, Expression=f"dt = '{AHEAD_DT}'"
        )
        tickers = sorted(p["Values"][2] for page in pages for p in page["Partitions"])
        assert tickers == sorted(r["cod"] for r in recorded["results"])
    rows = athena_rows(
        LOCAL.workgroup,
        "SELECT ticker, weight_pct, theoretical_qty, company_rank, cycle FROM "
        f"\"default\".\"b3_index_theoretical\" WHERE dt = '{AHEAD_DT}' AND index_code = 'IBOV'",
    )
    assert sorted((t, Decimal(w), int(q), int(c), y) for t, w, q, c, y in rows) == sorted(
        (r["cod"], pt_br(r["part"]), int(pt_br(r["theoricalQty"])), r["cont"], "2022-09")
        for r in recorded["results"]
    )
    ((count, weight, ranked, target, contract),) = athena_rows(
        LOCAL.workgroup,
        "SELECT count(*), sum(weight_pct), count(company_rank), min(target_cycle), "
        f'min(contract) FROM "default"."b3_index_preview" WHERE dt = \'{AHEAD_DT}\'',
    )
    assert (int(count), Decimal(weight), int(ranked)) == (92, pt_br(recorded["header"]["part"]), 92)
    assert (target, contract) == ("2023-01", "unverified")
    # that preview is the theoretical body served again: the query and the report say so
    synthetic = "synthetic, made from the theoretical portfolio of 2022-09"
    shown = bovespa(
        "query", "next_rebalance", "-p", "index_code=IBOV", "--format", "json", state=state
    )
    assert {r["contract"] for r in json.loads(shown.stdout)} == {synthetic}, shown.stderr[-500:]
    # and the report compares the day with its cycle's theoretical portfolio (IRBR3 moved)
    page = (state / "reports" / f"report-IBOV-{AHEAD_DT}.html").read_text(encoding="utf-8")
    assert "Quantities moved since the rebalance" in page
    assert "IRBR3" in page
    assert f"The latest preview of IBOV for the cycle 2023-01 ({synthetic};" in page
    # no name holds U+FFFD: a sector has one name across days (the recorder lost 2022's accents)
    sectors = bovespa("query", "weights_by_sector", "-p", "index_code=IBOV", "-p", f"dt={AHEAD_DT}",
                      "--format", "json", state=state)  # fmt: skip
    assert "Mats Básicos / Mineração" in {r["sector"] for r in json.loads(sectors.stdout)}
    assert "\ufffd" not in sectors.stdout + page
    names = athena_rows(
        LOCAL.workgroup, f'SELECT DISTINCT sector, company FROM "default"."{LOCAL.table}"'
    )
    assert "\ufffd" not in json.dumps(names, ensure_ascii=False)


@pytest.fixture(scope="module")
def ingested(aws_endpoint: str, tmp_path_factory: pytest.TempPathFactory) -> Ingested:
    """A good raw file for 2025-07-16 ingested: dropped under inbox/, promoted to raw/."""
    state = tmp_path_factory.mktemp("ingest")
    file = state / "portfolio.parquet"
    portfolio = on_day(recorded_portfolio(SEGMENT2_2025_07_10), INGESTED)
    file.write_bytes(to_parquet_bytes(to_table(portfolio)))
    names, runs = executions(deployed()).keys(), glue_runs()
    done = bovespa("ingest", str(file), state=state)
    assert done.returncode == 0, done.stderr[-3000:]
    started = [run for key, run in glue_runs().items() if key not in runs]
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    return file, summary, executions(deployed()).keys() - names, started


def test_ingest_drops_a_file_and_follows_the_inbox_path(ingested: Ingested) -> None:
    file, summary, started, runs = ingested
    (row,) = summary["indices"]
    assert (summary["status"], row["dt"], row["refined_rows"]) == ("SUCCEEDED", "2025-07-16", 84)
    assert row["athena_count"] == 84
    # the drop started one execution, named from the write; the promotion to raw/ none
    assert started == {summary["execution"]}
    assert summary["execution"].split(":")[-1].startswith("inbox-IBOV-2025-07-16-")
    # the Map validated the dropped object and promoted the same bytes to raw/, whose
    # version the one Glue run refined
    promoted = S3Lake(LOCAL.lake_bucket).read_object(
        f"raw/index=IBOV/dt={INGESTED}/portfolio.parquet"
    )
    assert promoted.data == file.read_bytes()
    (run,) = runs
    (pin,) = json.loads(run["Arguments"]["--objects"])
    assert (pin["uri"], pin["version"], pin["sha256"]) == (
        row["raw"],
        promoted.version,
        hashlib.sha256(promoted.data).hexdigest(),
    )
    assert {r["trading_weekday"] for r in refined_of("IBOV", str(INGESTED)).values()} == {3}


def test_a_file_the_contract_refuses_never_replaces_the_good_day(
    ingested: Ingested, tmp_path: Path
) -> None:
    """A good day, then a float-weight file for the same day: refused before it is written."""
    good, *_ = ingested
    table = to_table(on_day(recorded_portfolio(SEGMENT2_2025_07_10), INGESTED))
    part = table.schema.get_field_index("part")
    bad = tmp_path / "portfolio.parquet"
    bad.write_bytes(
        to_parquet_bytes(table.set_column(part, "part", table["part"].cast(pa.float64())))
    )
    done = bovespa("ingest", str(bad), state=tmp_path)
    assert done.returncode == 12  # ContractViolation
    (line,) = [line for line in done.stderr.splitlines() if line.strip()]
    assert line.startswith("error SchemaMismatch: raw schema check failed: part is double")
    raw = S3Lake(LOCAL.lake_bucket).read_bytes(f"raw/index=IBOV/dt={INGESTED}/portfolio.parquet")
    assert raw == good.read_bytes()

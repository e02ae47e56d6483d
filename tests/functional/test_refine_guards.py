"""The job refines exactly what was validated, and a killed run loses no day (directory lake).

Each test here reproduces a finding of "Nothing unvalidated is refined, nothing valid is
lost": the object changing after Validate, extra files in a raw partition, an invalid day
in a backfill, and a run killed at each step of publishing.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import subprocess
import sys
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from glue.job import JobArgs, parse_args, run
from glue.lakeio import InjectedFault, NotValidated, Pin, RawObjectChanged
from services.pipeline import settings
from services.pipeline.lake.layout import RawDay
from services.pipeline.lake.raw import raw_key, to_parquet_bytes, to_table
from services.pipeline.lake.storage import LocalLake
from tests.lakes import on_day, recorded_portfolio, without, write_days
from tests.recordings import SEGMENT2_2025_07_10

pytestmark = pytest.mark.spark

JULY_10 = date(2025, 7, 10)
OLD_RUN = date(2025, 7, 14)
NEW_RUN = date(2025, 7, 15)
DAY_PREFIX = "refined/dt=2025-07-10/index_code=IBOV/"


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def refined_day(lake: LocalLake, prefix: str = DAY_PREFIX) -> dict[str, dict[str, Any]]:
    """The day as a reader sees it: one row per ticker, from the one file of each partition."""
    rows: dict[str, dict[str, Any]] = {}
    for key in lake.list(prefix):
        ticker = key.split("ticker=")[1].split("/")[0]
        assert ticker not in rows, f"two files for {ticker}"
        (row,) = pq.read_table(io.BytesIO(lake.read_bytes(key))).to_pylist()
        rows[ticker] = row
    return rows


def job(lake: Path, processing_date: date = OLD_RUN, **options: Any) -> dict[str, Any]:
    return run(
        JobArgs(
            lake=str(lake),
            start=options.pop("start", JULY_10),
            end=options.pop("end", JULY_10),
            processing_date=processing_date,
            catalog=False,
            **options,
        )
    )


# --- finding 1: what is refined is exactly what was validated ---------------------------------

IBOV_JULY_10 = RawDay("IBOV", JULY_10)


def pinned(digest: str) -> str:
    """``--objects`` as the state machine passes it: Validate's result for IBOV 2025-07-10."""
    return json.dumps([{"index": "IBOV", "dt": "2025-07-10", "sha256": digest, "version": None}])


def test_a_pinned_run_refines_the_validated_bytes_or_fails_if_they_changed(tmp_path: Path) -> None:
    lake = LocalLake(tmp_path)
    portfolio = recorded_portfolio(SEGMENT2_2025_07_10)
    write_days(lake, portfolio, [JULY_10])
    validated = sha256(lake.read_bytes(raw_key("IBOV", JULY_10)))
    # between Validate and the job, someone uploads another version of the day
    write_days(lake, without(portfolio, "PETR3"), [JULY_10])
    argv = ["--lake", str(tmp_path), "--catalog", "false", "--processing-date", "2025-07-14"]
    args = parse_args([*argv, "--objects", pinned(validated)])
    with pytest.raises(RawObjectChanged, match="changed after it was validated"):
        run(args)
    assert not (tmp_path / "refined").exists()  # nothing of the other version was refined
    # the version that is there now, once validated, is refined
    current = sha256(lake.read_bytes(raw_key("IBOV", JULY_10)))
    summary = run(parse_args([*argv, "--objects", pinned(current)]))
    assert (summary["rows"], summary["files"]) == (83, 83)
    assert "PETR3" not in refined_day(lake)


def test_the_glue_engine_refines_pinned_bytes_only(spark: Any, tmp_path: Path) -> None:
    """The AWS code path (GlueIO: Spark reads and writes the lake's URIs) with local Spark."""
    lake = LocalLake(tmp_path)
    write_days(lake, recorded_portfolio(SEGMENT2_2025_07_10), [JULY_10])
    with pytest.raises(NotValidated):
        job(tmp_path, engine="glue")
    pin = sha256(lake.read_bytes(raw_key("IBOV", JULY_10)))
    summary = job(tmp_path, engine="glue", indices=("IBOV",), objects={IBOV_JULY_10: Pin(pin)})
    assert (summary["engine"], summary["rows"], summary["files"]) == ("glue", 84, 84)
    assert len(refined_day(lake)) == 84
    assert list((tmp_path / settings.STAGING_PREFIX).iterdir()) == []  # its staging is gone


# --- finding 4: only portfolio.parquet is data ---------------------------------------------


def fake_ticker_file() -> bytes:
    """A well-formed raw file with one fake ticker holding half the index."""
    table = to_table(on_day(recorded_portfolio(SEGMENT2_2025_07_10), JULY_10)).slice(0, 1)
    cod = table.schema.get_field_index("cod")
    part = table.schema.get_field_index("part")
    table = table.set_column(cod, table.schema.field(cod), pa.array(["FAKE3"]))
    weight = pa.array([Decimal("50.000")], table.schema.field(part).type)
    return to_parquet_bytes(table.set_column(part, table.schema.field(part), weight))


@pytest.mark.parametrize("engine", ["local", "glue"])
def test_files_beside_the_raw_object_are_not_data(spark: Any, tmp_path: Path, engine: str) -> None:
    lake = LocalLake(tmp_path)
    write_days(lake, recorded_portfolio(SEGMENT2_2025_07_10), [JULY_10])
    partition = "raw/index=IBOV/dt=2025-07-10"
    lake.write_bytes(f"{partition}/extra.parquet", fake_ticker_file())
    lake.write_bytes(f"{partition}/notes.txt", b"checked by hand, looks fine\n")
    pin = sha256(lake.read_bytes(raw_key("IBOV", JULY_10)))
    options: dict[str, Any] = {"engine": engine}
    if engine == "glue":
        options.update(indices=("IBOV",), objects={IBOV_JULY_10: Pin(pin)})
    summary = job(tmp_path, **options)
    assert (summary["rows"], summary["files"]) == (84, 84)
    rows = refined_day(lake)
    assert "FAKE3" not in rows
    assert sum(row["weight_pct"] for row in rows.values()) == 100


# --- finding 7: the contract applies to every day a backfill refines -----------------------


def test_a_backfill_skips_the_days_the_contract_refuses_and_says_so(tmp_path: Path) -> None:
    lake = LocalLake(tmp_path)
    portfolio = recorded_portfolio(SEGMENT2_2025_07_10)
    saturday = date(2025, 7, 12)
    write_days(lake, portfolio, [JULY_10, date(2025, 7, 11), saturday])
    summary = job(tmp_path, end=date(2025, 7, 14))
    assert summary["days"] == ["2025-07-10", "2025-07-11"]
    (skipped,) = summary["skipped"]
    assert skipped.startswith("skipped IBOV 2025-07-12 (Saturday): NotATradingDay: ")
    assert not (tmp_path / "refined" / "dt=2025-07-12").exists()


def test_a_day_the_contract_refuses_is_not_refined_alone_either(tmp_path: Path) -> None:
    lake = LocalLake(tmp_path)
    write_days(lake, recorded_portfolio(SEGMENT2_2025_07_10), [JULY_10])
    key = raw_key("IBOV", JULY_10)
    table = pq.read_table(io.BytesIO(lake.read_bytes(key)))
    part = table.schema.get_field_index("part")
    floats = table.set_column(part, "part", pc.cast(table["part"], pa.float64()))
    lake.write_bytes(key, to_parquet_bytes(floats))
    with pytest.raises(Exception, match="passed the contract: skipped IBOV 2025-07-10.*Schema"):
        job(tmp_path)
    assert not (tmp_path / "refined").exists()


# --- finding 8: a run killed at any step leaves a whole day --------------------------------


@pytest.fixture
def published(tmp_path: Path) -> LocalLake:
    """The day published once (84 tickers), then corrected by B3 (PETR3 left)."""
    lake = LocalLake(tmp_path)
    portfolio = recorded_portfolio(SEGMENT2_2025_07_10)
    write_days(lake, portfolio, [JULY_10])
    job(tmp_path, OLD_RUN)
    write_days(lake, without(portfolio, "PETR3"), [JULY_10])
    return lake


def assert_whole(rows: dict[str, dict[str, Any]], run_date: date, tickers: int) -> None:
    assert len(rows) == tickers
    assert {row["processing_date"] for row in rows.values()} == {run_date}


@pytest.mark.parametrize(
    ("point", "expected"),
    [
        ("publish.staged", (OLD_RUN, 84)),  # the new day is ready, not yet swapped in
        ("publish.switched", (NEW_RUN, 83)),  # swapped in, the old tree not yet deleted
        ("publish.catalogued", (NEW_RUN, 83)),  # all done but the clean-up
    ],
)
def test_a_run_killed_while_publishing_leaves_a_whole_day_and_rerunning_repairs_it(
    published: LocalLake, monkeypatch: pytest.MonkeyPatch, point: str, expected: tuple[date, int]
) -> None:
    root = published.root
    monkeypatch.setenv(settings.FAULT_ENV, point)
    with pytest.raises(InjectedFault):
        job(root, NEW_RUN)
    assert_whole(refined_day(published), *expected)
    monkeypatch.delenv(settings.FAULT_ENV)
    job(root, NEW_RUN)
    assert_whole(refined_day(published), NEW_RUN, 83)
    leftovers = [p.name for p in (root / "refined" / "dt=2025-07-10").iterdir()]
    assert leftovers == ["index_code=IBOV"]  # no hidden tree of the killed run is left


def test_a_job_killed_with_sigkill_before_the_swap_leaves_the_old_day(published: LocalLake) -> None:
    env = {**os.environ, settings.FAULT_ENV: "kill:publish.staged"}
    done = subprocess.run(
        [sys.executable, "-m", "glue.job", "--lake", str(published.root), "--dt", "2025-07-10",
         "--catalog", "false", "--processing-date", NEW_RUN.isoformat()],
        capture_output=True, text=True, timeout=300, env=env, check=False,
    )  # fmt: skip
    assert done.returncode == -9, done.stderr[-2000:]
    assert_whole(refined_day(published), OLD_RUN, 84)

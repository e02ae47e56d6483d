"""The Glue job's pure logic, no Spark session: its arguments and the pins it refines, the
date features of a trading day, the values that become a path, and the days `bovespa etl`
validates for it."""

from __future__ import annotations

import json
import re
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from glue.job import check_partition_values, parse_args, parse_pins
from glue.lakeio import Pin, RawPartition
from glue.transforms import DATE_FEATURES, date_features
from services.pipeline.b3.errors import SchemaDrift
from services.pipeline.b3.indices import INDICES
from services.pipeline.errors import BadArgument
from services.pipeline.lake.layout import RawDay
from services.pipeline.lake.storage import LocalLake
from services.tool.cli import NoRawData, validated_objects
from tests.lakes import recorded_portfolio, write_days
from tests.recordings import SEGMENT2_2025_07_10

SHA = "c25e21ce609e791bb62f8322653816d978311368ea38d94c2623090673e122fe"
JULY_10 = date(2025, 7, 10)
OBJ = ["--lake", "/x", "--objects"]
AHEAD = [*OBJ, "[]", "--ahead"]  # a redrive of the datasets ahead alone


def one(**item: object) -> str:
    return json.dumps([{"index": "IBOV", "dt": "2025-07-10", "sha256": SHA, **item}])


def summary(**changed: Any) -> dict[str, Any]:
    base = {"dataset": "theoretical", "index": "IBOV", "dt": "2022-12-08", "status": "stored"}
    return {**base, "object_sha256": "a" * 64, "version": "null", **changed}


def test_reads_the_pins_as_glue_passes_them_and_ignores_glues_own_arguments() -> None:
    objects = json.dumps([
        {"index": "IBOV", "dt": "2025-07-10", "rows": 84, "uri": "s3://b/raw/…",
         "sha256": SHA.upper(), "version": "3HL4kqtJlcpXroDTDmJ.rmSpXd3dIbrH", "etag": "x"},
        {"index": "ibra", "dt": "2021-06-22", "sha256": SHA, "version": None},
    ])  # fmt: skip
    none = summary(dataset="preview", status="none", object_sha256=None)  # nothing to refine
    args = parse_args([
        "--JOB_NAME", "bovespa-etl", "--TempDir", "s3://tmp/", "--lake", "s3://b/lake",
        "--objects", objects, "--processing-date=2025-07-14", "--catalog", "false",
        "--tabel", "x", "--tab", "y",  # not the job's: no abbreviation, no near miss is read
        "--ahead", json.dumps([summary(status="kept"), none]),
    ])  # fmt: skip
    theoretical = RawPartition("IBOV", date(2022, 12, 8), Pin("a" * 64), "theoretical")
    assert args.parts == (
        RawPartition("IBRA", date(2021, 6, 22), Pin(SHA, "null")),  # a store keeping no versions
        RawPartition("IBOV", JULY_10, Pin(SHA, "3HL4kqtJlcpXroDTDmJ.rmSpXd3dIbrH")),
        theoretical,
    )
    assert theoretical.key == "raw-theoretical/index=IBOV/dt=2022-12-08/theoretical.parquet"
    facts = (args.lake, args.span, args.processing_date, args.catalog, args.database, args.table)
    assert facts == (
        "s3://b/lake", "2021-06-22..2025-07-10", date(2025, 7, 14), False, "default",
        "b3_index_portfolio",
    )  # fmt: skip
    # --objects may be empty only beside something ahead (a redrive of a dataset alone)
    assert parse_args([*AHEAD, json.dumps([summary()])]).parts == (theoretical,)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--objects", one()], "missing job argument --lake"),
        (["--lake", "--objects", one()], "--lake: expected one argument"),
        ([*OBJ, one(), "--processing-date", "10/07/2025"], "--processing-date: '10/07/2025'"),
        ([*OBJ, one(), "--engine", "emr"], "--engine: invalid choice: 'emr'"),
        ([*OBJ, "[{"], "--objects is not JSON"),
        ([*OBJ, "[]"], "--objects must be a non-empty JSON list"),
        ([*OBJ, '["IBOV"]'], "is not an object with an index and a dt"),
        ([*OBJ, one(index="../x")], "is not 3-8 capitals or digits"),
        ([*OBJ, one(dt="2025-02-30")], "IBOV dt '2025-02-30' is not a YYYY-MM-DD day"),
        ([*OBJ, one(sha256="abc")], "sha256 'abc' is not a SHA-256 in hex"),
        ([*OBJ, one(version=7)], "version 7 is not a version id"),
        ([*OBJ, json.dumps(json.loads(one()) * 2)], "names IBOV 2025-07-10 more than once"),
        ([*AHEAD, '{"dataset": "x"}'], "--ahead must be a JSON list"),
        ([*AHEAD, json.dumps([summary(dataset="day")])], "is not a summary (preview or"),
        ([*AHEAD, json.dumps([summary(status="x")])], "theoretical, stored, kept, none)"),
        ([*AHEAD, json.dumps([summary()] * 2)], "names theoretical IBOV 2022-12"),
    ],
)  # fmt: skip
def test_bad_arguments_are_one_clear_error(argv: list[str], message: str) -> None:
    with pytest.raises(BadArgument, match=re.escape(message)) as refused:
        parse_args(argv)
    assert "\n" not in str(refused.value)


def test_one_run_for_every_index_fits_glues_argument_limit() -> None:
    """AWS Glue refuses job arguments over 260 KB; --objects for every index, each result as
    long as Validate makes it (a 63-character bucket, 32-character versions), fits."""
    results = [
        {"index": code, "dt": "2025-07-10", "rows": 100_000,
         "uri": f"s3://{'b' * 63}/{RawDay(code, JULY_10).key}",
         "sha256": SHA, "version": "v" * 32, "etag": '"' + "e" * 32 + '-10000"'}
        for code in INDICES
    ]  # fmt: skip
    argument = json.dumps(results)
    assert len(argument.encode()) < 260 * 1024 / 10
    assert len(parse_pins(argument, "objects")) == len(INDICES) >= 34


PROCESSED = date(2025, 7, 14)
#: Trading day: ISO weekday, cycle start and next rebalance (first B3 sessions of
#: January, May, September), calendar days since and to them, B3 sessions since and to.
KNOWN_DAYS = {
    date(2025, 7, 10): (4, date(2025, 5, 2), date(2025, 9, 1), 69, 53, 48, 37),
    # the first session of 2025 (January 1 is a holiday): a cycle begins, 81 sessions long
    date(2025, 1, 2): (4, date(2025, 1, 2), date(2025, 5, 2), 0, 120, 0, 81),
    # May 1 is a holiday: May's portfolio takes effect on the 2nd
    date(2025, 5, 2): (5, date(2025, 5, 2), date(2025, 9, 1), 0, 122, 0, 85),
    # September 1, 2024 is a Sunday
    date(2024, 9, 2): (1, date(2024, 9, 2), date(2025, 1, 2), 0, 122, 0, 82),
    # the last session before May's rebalance, two calendar days across the May 1 holiday
    date(2025, 4, 30): (3, date(2025, 1, 2), date(2025, 5, 2), 118, 2, 80, 1),
    # B3 is closed on December 31 and January 1: three calendar days, one session
    date(2024, 12, 30): (1, date(2024, 9, 2), date(2025, 1, 2), 119, 3, 81, 1),
    # Ash Wednesday (a late opening, a session), after Carnival Monday and Tuesday
    date(2025, 3, 5): (3, date(2025, 1, 2), date(2025, 5, 2), 62, 58, 42, 39),
}


def test_the_date_features_follow_b3s_calendar() -> None:
    names = [column.split()[0] for column in DATE_FEATURES.split(", ")]
    for day, features in KNOWN_DAYS.items():
        row = dict(zip(names, date_features(day, PROCESSED), strict=True))
        assert (row.pop("dt"), row.pop("trading_date")) == (day.isoformat(), day)
        since = (PROCESSED - day).days
        assert (row.pop("processing_date"), row.pop("days_since_trading")) == (PROCESSED, since)
        assert tuple(row.values()) == features, day
    # Monday's portfolio refined on the Saturday before: B3 serves it once Friday closed
    assert date_features(date(2025, 7, 14), date(2025, 7, 12))[-1] == -2


@pytest.mark.parametrize(
    ("dt", "index", "ticker"),
    [
        ("2025-07-10", "IBOV", "PETR4=1/x"),  # a path of its own (and deleted as stale)
        ("2025-07-10", "IBOV", "A" * 300),  # a write that fails
        ("2025-07-10", "IBOV", "__HIVE_DEFAULT_PARTITION__"),  # NULL when read back
        ("2025-07-10", "IB/OV", "PETR4"),
        ("2025-07-10/..", "IBOV", "PETR4"),
    ],
)
def test_a_value_that_would_become_a_bad_path_is_schema_drift(
    dt: str, index: str, ticker: str
) -> None:
    with pytest.raises(SchemaDrift, match=r"^raw row of ") as refused:
        check_partition_values(dt, index, ticker)
    assert len(str(refused.value)) < 250
    assert check_partition_values("2025-07-10", "IBOV", "PETR4") == ("2025-07-10", "IBOV", "PETR4")


def test_bovespa_etl_refuses_a_span_with_no_raw_day_the_contract_passes(tmp_path: Path) -> None:
    """The days it does refine, and the ones it skips: tests/integration/test_etl_catalog.py."""
    lake, saturday, friday = LocalLake(tmp_path), date(2025, 7, 12), date(2025, 7, 11)
    write_days(lake, recorded_portfolio(SEGMENT2_2025_07_10), [saturday])
    lake.write_bytes("raw/index=IBOV/dt=2025-07-11/extra.parquet", b"x")  # not a day's data
    refused = "no raw partition of IBOV on 2025-07-12 passed the contract: skipped IBOV 2025-07-12"
    with pytest.raises(NoRawData, match=re.escape(refused + " (Saturday): NotATradingDay: ")):
        validated_objects(lake, saturday, saturday, ("IBOV",))
    with pytest.raises(NoRawData, match="no raw partition for any index on 2025-07-11 under"):
        validated_objects(lake, friday, friday)

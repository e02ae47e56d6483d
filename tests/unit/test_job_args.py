"""The job's ``--key value`` arguments, read without the Glue runtime."""

from __future__ import annotations

import json
import re
from datetime import date

import pytest

from glue.job import RawObject, exactly, parse_args, resolve_engine
from glue.lakeio import NoRawData, RawPartition
from glue.schema import PARTITION_COLUMNS
from services import settings


def test_reads_glue_style_arguments_and_ignores_glues_own() -> None:
    args = parse_args(
        [
            "--JOB_NAME", "bovespa-etl",
            "--job-bookmark-option", "job-bookmark-disable",
            "--TempDir", "s3://tmp/",
            "--lake", "s3://bucket/lake",
            "--dt", "2025-07-10",
            "--index", "ibov,smll",
            "--processing-date=2025-07-14",
            "--catalog", "false",
        ]
    )  # fmt: skip
    assert args.lake == "s3://bucket/lake"
    assert (args.start, args.end) == (date(2025, 7, 10), date(2025, 7, 10))
    assert args.indices == ("IBOV", "SMLL")
    assert args.processing_date == date(2025, 7, 14)
    assert args.catalog is False
    assert (args.database, args.table) == ("default", settings.REFINED_TABLE)


def test_a_range_for_backfills() -> None:
    args = parse_args(["--lake", "/x", "--start", "2025-06-02", "--end", "2025-06-27"])
    assert args.span == "2025-06-02..2025-06-27"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--dt", "2025-07-10"], "missing job argument --lake"),
        (["--lake", "/x"], "missing job argument --start"),
        (["--lake", "/x", "--dt", "10/07/2025"], "Invalid isoformat"),
        (["--lake", "/x", "--start", "2025-07-10", "--end", "2025-07-01"], "is after"),
        (["--lake", "/x", "--dt", "2025-07-10", "--engine", "emr"], "--engine"),
    ],
)
def test_bad_arguments_are_one_clear_error(argv: list[str], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_args(argv)


def test_engine_is_local_without_the_glue_runtime() -> None:
    assert resolve_engine("auto") == "local"
    assert resolve_engine("glue") == "glue"


def test_partition_columns_follow_the_settings() -> None:
    assert tuple(c.name for c in PARTITION_COLUMNS) == settings.REFINED_PARTITION_KEYS


def test_the_state_machines_objects_name_each_index_on_its_own_day() -> None:
    objects = json.dumps([
        {"index": "IBOV", "dt": "2025-07-10", "rows": 84, "uri": "s3://b/raw/…"},
        {"index": "IBRA", "dt": "2021-06-22", "rows": 179, "uri": "s3://b/raw/…"},
    ])  # fmt: skip
    args = parse_args(["--lake", "s3://b", "--objects", objects, "--dt", "2000-01-03"])
    assert args.objects == (
        RawObject(date(2025, 7, 10), "IBOV"),
        RawObject(date(2021, 6, 22), "IBRA"),
    )
    # the span covers both days; only the two objects are refined (glue.job.exactly)
    assert (args.start, args.end, args.indices) == (
        date(2021, 6, 22), date(2025, 7, 10), ("IBOV", "IBRA"),
    )  # fmt: skip


@pytest.mark.parametrize(
    ("objects", "message"),
    [
        ("[{", "--objects is not JSON"),
        ("[]", "must be a non-empty JSON list"),
        ('{"index": "IBOV"}', "must be a non-empty JSON list"),
        ('["IBOV"]', "is not an object with an index and a dt"),
        ('[{"index": "ibov; drop", "dt": "2025-07-10"}]', "is not a B3 index code"),
        ('[{"index": "IBOV", "dt": "10/07/2025"}]', "is not a YYYY-MM-DD day"),
        ('[{"index": "IBOV"}]', "dt None is not a YYYY-MM-DD day"),
        ('[{"index": "IBOV", "dt": "2025-07-10"}, {"index": "IBOV", "dt": "2025-07-10"}]',
         "names IBOV 2025-07-10 more than once"),
    ],
)  # fmt: skip
def test_bad_objects_are_one_clear_error(objects: str, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        parse_args(["--lake", "/x", "--objects", objects])


def test_exactly_the_objects_named_are_refined_and_a_missing_one_is_an_error() -> None:
    found = [
        RawPartition("IBOV", date(2025, 7, 10)),
        RawPartition("IBOV", date(2024, 11, 12)),  # in the span, not named
        RawPartition("IBXX", date(2024, 11, 12)),
    ]
    named = (RawObject(date(2025, 7, 10), "IBOV"), RawObject(date(2024, 11, 12), "IBXX"))
    assert exactly(found, named) == [found[2], found[0]]
    with pytest.raises(NoRawData, match="no raw object for IBRA 2021-06-22"):
        exactly(found, (*named, RawObject(date(2021, 6, 22), "IBRA")))

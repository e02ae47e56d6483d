"""The job's ``--key value`` arguments, read without the Glue runtime."""

from __future__ import annotations

from datetime import date

import pytest

from glue.job import parse_args, resolve_engine
from glue.lakeio import Pin
from glue.schema import PARTITION_COLUMNS
from services import settings
from services.lake.layout import RawDay

SHA = "c25e21ce609e791bb62f8322653816d978311368ea38d94c2623090673e122fe"


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


def test_the_state_machine_pins_the_validated_object() -> None:
    args = parse_args(
        ["--lake", "s3://b", "--dt", "2025-07-10", "--index", "IBOV",
         "--raw-sha256", SHA.upper(), "--raw-version", "3HL4kqtJlcpXroDTDmJ.rmSpXd3dIbrH"]
    )  # fmt: skip
    assert args.pins == {
        RawDay("IBOV", date(2025, 7, 10)): Pin(SHA, "3HL4kqtJlcpXroDTDmJ.rmSpXd3dIbrH")
    }
    unpinned = parse_args(["--lake", "/x", "--dt", "2025-07-10"])
    assert (unpinned.pins, unpinned.raw_version) == (None, "null")


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
        (["--lake", "/x", "--dt", "2025-07-10", "--index", "../x"], "3-8 capitals or digits"),
        (["--lake", "/x", "--dt", "2025-07-10", "--raw-sha256", SHA], "one --dt and one --index"),
        (
            [
                "--lake",
                "/x",
                "--start",
                "2025-07-10",
                "--end",
                "2025-07-11",
                "--index",
                "IBOV",
                "--raw-sha256",
                SHA,
            ],
            "one --dt and one --index",
        ),
        (["--lake", "/x", "--dt", "2025-07-10", "--index", "IBOV", "--raw-sha256", "abc"], "hex"),
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

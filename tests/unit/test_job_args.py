"""The job's ``--key value`` arguments, read without the Glue runtime."""

from __future__ import annotations

import json
import re
from datetime import date
from pathlib import Path

import pytest

from glue import arguments
from glue.arguments import JOB_ARGUMENTS, flag
from glue.job import JobArgs, parse_args, resolve_engine
from glue.lakeio import NoRawData, Pin, discover
from glue.local_launcher import job_argv
from glue.schema import PARTITION_COLUMNS
from services.pipeline import settings
from services.pipeline.b3.indices import INDICES
from services.pipeline.errors import BadArgument
from services.pipeline.lake.layout import RawDay
from services.pipeline.lake.storage import LocalLake

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


def test_a_range_for_backfills() -> None:
    args = parse_args(["--lake", "/x", "--start", "2025-06-02", "--end", "2025-06-27"])
    assert args.span == "2025-06-02..2025-06-27"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--dt", "2025-07-10"], "missing job argument --lake"),
        (["--lake", "/x"], "missing job argument --start"),
        (["--lake", "/x", "--dt", "10/07/2025"], "--dt: '10/07/2025' is not a YYYY-MM-DD day"),
        (["--lake", "--dt", "2025-07-10"], "--lake: expected one argument"),
        (["--lake", "/x", "--start", "2025-07-10", "--end", "2025-07-01"], "is after"),
        (["--lake", "/x", "--dt", "2025-07-10", "--engine", "emr"], "--engine"),
        (["--lake", "/x", "--dt", "2025-07-10", "--index", "../x"], "3-8 capitals or digits"),
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


def test_the_state_machine_pins_each_validated_object() -> None:
    objects = json.dumps([
        {"index": "IBOV", "dt": "2025-07-10", "rows": 84, "uri": "s3://b/raw/…",
         "sha256": SHA.upper(), "version": "3HL4kqtJlcpXroDTDmJ.rmSpXd3dIbrH", "etag": "x"},
        {"index": "IBRA", "dt": "2021-06-22", "rows": 179, "uri": "s3://b/raw/…",
         "sha256": SHA, "version": None},
    ])  # fmt: skip
    args = parse_args(["--lake", "s3://b", "--objects", objects, "--dt", "2000-01-03"])
    assert args.pins == {
        RawDay("IBOV", date(2025, 7, 10)): Pin(SHA, "3HL4kqtJlcpXroDTDmJ.rmSpXd3dIbrH"),
        RawDay("IBRA", date(2021, 6, 22)): Pin(SHA, "null"),  # a store that keeps no versions
    }
    # the span covers both days; only the two objects are refined (glue.lakeio.discover)
    assert (args.start, args.end, args.indices) == (
        date(2021, 6, 22), date(2025, 7, 10), ("IBOV", "IBRA"),
    )  # fmt: skip
    assert parse_args(["--lake", "/x", "--dt", "2025-07-10"]).pins is None


def one(**item: object) -> str:
    return json.dumps([{"index": "IBOV", "dt": "2025-07-10", "sha256": SHA, **item}])


@pytest.mark.parametrize(
    ("objects", "message"),
    [
        ("[{", "--objects is not JSON"),
        ("[]", "must be a non-empty JSON list"),
        ('{"index": "IBOV"}', "must be a non-empty JSON list"),
        ('["IBOV"]', "is not an object with an index and a dt"),
        (one(index="ibov; drop"), "is not 3-8 capitals or digits"),
        (one(index="../x"), "is not 3-8 capitals or digits"),
        (one(dt="10/07/2025"), "is not a YYYY-MM-DD day"),
        (one(dt="2025-02-30"), "is not a YYYY-MM-DD day"),
        (one(dt=None), "dt None is not a YYYY-MM-DD day"),
        (one(sha256=None), "sha256 None is not a SHA-256 in hex"),
        (one(sha256="abc"), "sha256 'abc' is not a SHA-256 in hex"),
        (one(version=7), "version 7 is not a version id"),
        (json.dumps([json.loads(one())[0]] * 2), "names IBOV 2025-07-10 more than once"),
    ],
)  # fmt: skip
def test_bad_objects_are_one_clear_error(objects: str, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        parse_args(["--lake", "/x", "--objects", objects])


def test_exactly_the_objects_named_are_refined_and_a_missing_one_is_an_error(
    tmp_path: Path,
) -> None:
    lake = LocalLake(tmp_path)
    for index, dt in (("IBOV", date(2025, 7, 10)), ("IBOV", date(2024, 11, 12))):
        lake.write_bytes(RawDay(index, dt).key, b"raw")
    lake.write_bytes(RawDay("IBXX", date(2024, 11, 12)).key, b"raw")
    named = {
        RawDay("IBOV", date(2025, 7, 10)): Pin(SHA),
        RawDay("IBXX", date(2024, 11, 12)): Pin(SHA),
    }
    found = discover(lake, date(2024, 11, 12), date(2025, 7, 10), ("IBOV", "IBXX"), pins=named)
    # IBOV 2024-11-12 lies in the span and is not named: it is not refined
    assert [(p.day, p.pin) for p in found.parts] == sorted(named.items())
    missing = {**named, RawDay("IBRA", date(2021, 6, 22)): Pin(SHA)}
    with pytest.raises(NoRawData, match="no raw object for IBRA 2021-06-22"):
        discover(lake, date(2021, 6, 22), date(2025, 7, 10), pins=missing)


def test_one_run_for_every_index_fits_glues_argument_limit() -> None:
    """AWS Glue refuses job arguments over 260 KB ("Using job parameters in AWS Glue jobs");
    the emulator takes any size. --objects for every index, each result as long as Validate
    can make it (a 63-character bucket, S3's 32-character version ids), fits with room."""
    bucket = "b" * 63
    results = [
        {"index": code, "dt": "2025-07-10", "rows": 100_000,
         "uri": f"s3://{bucket}/{RawDay(code, date(2025, 7, 10)).key}",
         "sha256": SHA, "version": "v" * 32, "etag": '"' + "e" * 32 + '-10000"'}
        for code in INDICES
    ]  # fmt: skip
    argument = json.dumps(results)
    assert len(INDICES) >= 34
    assert len(argument.encode()) < 260 * 1024 / 10
    assert parse_args(["--lake", "s3://b", "--objects", argument]).pins is not None


def outcome(argv: list[str]) -> JobArgs | str:
    """What ``parse_args`` makes of ``argv``: the arguments, or its one-line error."""
    try:
        return parse_args(argv)
    except BadArgument as error:
        return str(error)


AHEAD_SUMMARY = json.dumps([
    {"dataset": "theoretical", "index": "IBOV", "dt": "2025-07-10", "status": "stored",
     "object_sha256": SHA, "version": None},
])  # fmt: skip
#: For each job argument: arguments without it, and a value for it that changes what
#: ``parse_args`` returns (so it is read).
WITHOUT_AND_VALUE: dict[str, tuple[list[str], str]] = {
    arguments.LAKE: (["--dt", "2025-07-10"], "/x"),
    arguments.DT: (["--lake", "/x", "--start", "2025-07-01", "--end", "2025-07-31"], "2025-07-10"),
    arguments.START: (["--lake", "/x", "--end", "2025-07-10"], "2025-07-01"),
    arguments.END: (["--lake", "/x", "--start", "2025-07-01"], "2025-07-10"),
    arguments.INDEX: (["--lake", "/x", "--dt", "2025-07-10"], "ibov"),
    arguments.OBJECTS: (["--lake", "/x", "--dt", "2025-07-10"], one()),
    arguments.AHEAD: (["--lake", "/x", "--objects", "[]"], AHEAD_SUMMARY),
    arguments.DATABASE: (["--lake", "/x", "--dt", "2025-07-10"], "other_db"),
    arguments.TABLE: (["--lake", "/x", "--dt", "2025-07-10"], "other_table"),
    arguments.PROCESSING_DATE: (["--lake", "/x", "--dt", "2025-07-10"], "2020-01-02"),
    arguments.ENGINE: (["--lake", "/x", "--dt", "2025-07-10"], "local"),
    arguments.CATALOG: (["--lake", "/x", "--dt", "2025-07-10"], "false"),
}


def test_every_job_argument_is_one_parse_args_reads() -> None:
    assert set(WITHOUT_AND_VALUE) == set(JOB_ARGUMENTS)
    for name, (without, value) in WITHOUT_AND_VALUE.items():
        assert outcome(without) != outcome([*without, flag(name), value]), name


def test_parse_args_reads_nothing_but_the_job_arguments() -> None:
    # a key that is not a job argument changes nothing, however it is spelled
    base = ["--lake", "/x", "--dt", "2025-07-10"]
    for key in ("--tabel", "--Table", "--tab", "--lake-root", "--dt2", "--JOB_NAME"):
        assert outcome([*base, key, "2020-01-02"]) == outcome(base)
    with pytest.raises(ValueError, match="--tabel is not an argument of the Glue job"):
        flag("tabel")


def test_the_local_launcher_forwards_every_job_argument_and_nothing_else() -> None:
    argv = [
        "--lake", "/x", "--objects", "[]", "--ahead", AHEAD_SUMMARY,
        "--database", "db", "--table", "t", "--processing-date", "2025-07-14",
        "--engine", "local", "--catalog", "false",
    ]  # fmt: skip
    # MiniStack hands a pythonshell job each argument as a variable named without "--"
    pairs = zip(argv[::2], argv[1::2], strict=True)
    environ = {key.removeprefix("--"): value for key, value in pairs}
    environ |= {"dt": "2025-07-10", "start": "2025-07-01", "end": "2025-07-31", "index": "IBOV"}
    environ |= {"PATH": "/bin", "AWS_SDK_UA_APP_ID": "bovespa-etl", "JOB_NAME": "x"}
    forwarded = job_argv(environ)
    assert forwarded[::2] == [flag(name) for name in JOB_ARGUMENTS]
    assert outcome(forwarded) == outcome(argv)
    assert job_argv({"lake": "/x", "dt": "", "index": "IBOV"}) == [
        "--lake",
        "/x",
        "--index",
        "IBOV",
    ]


def test_the_state_machine_passes_only_job_arguments() -> None:
    # The refine machine's StartJobRun arguments (``--objects``…) are the job's own names.
    from services.deploy.asl import REFINE, all_states, render
    from services.deploy.deployment import Deployment

    passed = {
        key
        for _, state in all_states(render(REFINE, Deployment().refine_values()))
        if "glue:startJobRun" in state.get("Resource", "")
        for key in state["Arguments"]["Arguments"]
    }
    assert passed == {flag(arguments.OBJECTS), flag(arguments.AHEAD)}

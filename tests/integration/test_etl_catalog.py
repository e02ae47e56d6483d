"""The Glue job against the local emulator: the partitions it registers and an S3 lake.

The deployment declares each refined table (Pulumi, or the local deployment:
``catalog.upsert_table``); the job owns the table's partitions only. So each test
declares its table first, as a deployment does.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from glue import catalog
from glue.job import JobArgs, run
from services.pipeline import settings
from services.pipeline.lake.storage import LocalLake, S3Lake
from tests.aws_clients import aws
from tests.lakes import recorded_portfolio, without, write_days
from tests.recordings import SEGMENT2_2025_07_10

pytestmark = pytest.mark.spark

JULY_10 = date(2025, 7, 10)


def declare(database: str, table: str, lake: str) -> dict[str, Any]:
    """Declare ``database.table`` as the deployment does; the table as the catalogue has it."""
    glue: Any = aws("glue")
    catalog.ensure_database(glue, database)
    catalog.upsert_table(glue, database, table, f"{lake}/{settings.REFINED_PREFIX}/")
    described: dict[str, Any] = glue.get_table(DatabaseName=database, Name=table)["Table"]
    return described


def partitions(database: str, table: str) -> dict[tuple[str, ...], str]:
    glue: Any = aws("glue")
    found = glue.get_partitions(DatabaseName=database, TableName=table)["Partitions"]
    return {tuple(p["Values"]): p["StorageDescriptor"]["Location"] for p in found}


def test_job_keeps_the_declared_tables_partitions_exact(
    spark: Any, aws_endpoint: str, tmp_path: Path
) -> None:
    database, table = f"bovespa_{uuid.uuid4().hex[:8]}", "portfolio"
    declared = declare(database, table, str(tmp_path))
    lake = LocalLake(tmp_path)
    portfolio = recorded_portfolio(SEGMENT2_2025_07_10)
    write_days(lake, portfolio, [JULY_10])
    args = JobArgs(lake=str(tmp_path), start=JULY_10, end=JULY_10, database=database, table=table)
    assert run(args)["table"] == f"{database}.{table}"

    glue: Any = aws("glue")
    # the table is the deployment's, as declared: the job changed its partitions only
    described = glue.get_table(DatabaseName=database, Name=table)["Table"]
    assert described["StorageDescriptor"] == declared["StorageDescriptor"]
    assert described["PartitionKeys"] == declared["PartitionKeys"]
    found = partitions(database, table)
    assert len(found) == 84
    assert found[("2025-07-10", "IBOV", "PETR4")] == (
        f"{tmp_path}/refined/dt=2025-07-10/index_code=IBOV/ticker=PETR4/"
    )

    run(args)  # again: same partitions, no duplicates, still one table
    assert partitions(database, table) == found
    assert [t["Name"] for t in glue.get_tables(DatabaseName=database)["TableList"]] == [table]

    write_days(lake, without(portfolio, "VALE3"), [JULY_10])
    run(args)
    assert set(partitions(database, table)) == set(found) - {("2025-07-10", "IBOV", "VALE3")}


def test_job_on_an_s3_lake_with_local_spark(spark: Any, bucket: str) -> None:
    lake = S3Lake(bucket)
    write_days(lake, recorded_portfolio(SEGMENT2_2025_07_10), [JULY_10])
    table = f"t_{uuid.uuid4().hex[:8]}"
    declare(settings.GLUE_DATABASE, table, f"s3://{bucket}")
    summary = run(JobArgs(lake=f"s3://{bucket}", start=JULY_10, end=JULY_10, table=table))
    assert (summary["rows"], summary["files"]) == (84, 84)
    keys = [k for k in lake.list("refined/")]
    assert len(keys) == 84
    assert "refined/dt=2025-07-10/index_code=IBOV/ticker=VALE3/part-00000.snappy.parquet" in keys
    found = partitions(settings.GLUE_DATABASE, table)
    assert len(found) == 84
    assert found[("2025-07-10", "IBOV", "VALE3")] == (
        f"s3://{bucket}/refined/dt=2025-07-10/index_code=IBOV/ticker=VALE3/"
    )


def test_bovespa_etl_command(aws_endpoint: str, tmp_path: Path) -> None:
    """The done-when command: scrape's raw partition in, refined + catalogue out, JSON last."""
    write_days(LocalLake(tmp_path), recorded_portfolio(SEGMENT2_2025_07_10), [JULY_10])
    table = f"t_{uuid.uuid4().hex[:8]}"
    declare(settings.GLUE_DATABASE, table, str(tmp_path))
    done = subprocess.run(
        [sys.executable, "-m", "services.tool.cli", "etl", "--dt", "2025-07-10",
         "--lake", str(tmp_path),
         "--table", table],
        capture_output=True, text=True, timeout=300, env={**os.environ}, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    assert {k: summary[k] for k in ("dt", "rows", "partitions", "table")} == {
        "dt": "2025-07-10",
        "rows": 84,
        "partitions": 84,
        "table": f"{settings.GLUE_DATABASE}.{table}",
    }
    assert len(partitions(settings.GLUE_DATABASE, table)) == 84

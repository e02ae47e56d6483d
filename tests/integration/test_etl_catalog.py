"""`bovespa etl` on an S3 lake in the local emulator: the days it validates, the files it
publishes and the partitions it keeps in a table the deployment declared (the job owns the
table's partitions only)."""

from __future__ import annotations

import json
import uuid
from datetime import date
from typing import Any

import pytest
from typer.testing import CliRunner

from glue import catalog
from services.pipeline import settings
from services.pipeline.lake.storage import S3Lake
from services.tool.cli import app
from tests.aws_clients import aws
from tests.lakes import recorded_portfolio, without, write_days
from tests.recordings import SEGMENT2_2025_07_10

pytestmark = pytest.mark.spark

JULY_10 = date(2025, 7, 10)


def bovespa_etl(bucket: str, table: str) -> dict[str, Any]:
    argv = ["etl", "--start", "2025-07-10", "--end", "2025-07-14", "--lake", f"s3://{bucket}"]
    done = CliRunner().invoke(app, [*argv, "--table", table])
    assert done.exit_code == 0, done.output
    assert "skipped IBOV 2025-07-12 (Saturday): NotATradingDay: " in done.stderr
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def partitions(glue: Any, table: str) -> dict[tuple[str, ...], str]:
    found = glue.get_partitions(DatabaseName=settings.GLUE_DATABASE, TableName=table)
    return {tuple(p["Values"]): p["StorageDescriptor"]["Location"] for p in found["Partitions"]}


def test_bovespa_etl_refines_the_valid_days_and_keeps_the_declared_tables_partitions(
    spark: Any, bucket: str
) -> None:
    """Each partition one PUT; a re-run replaces the day: the ticker it lost is deleted,
    then uncatalogued; the table stays as the deployment declared it."""
    lake, glue = S3Lake(bucket), aws("glue")
    portfolio = recorded_portfolio(SEGMENT2_2025_07_10)
    write_days(lake, portfolio, [JULY_10, date(2025, 7, 12)])  # a Saturday: skipped
    table = f"t_{uuid.uuid4().hex[:8]}"
    catalog.ensure_database(glue, settings.GLUE_DATABASE)
    catalog.upsert_table(glue, settings.GLUE_DATABASE, table, f"s3://{bucket}/refined/")
    declared = glue.get_table(DatabaseName=settings.GLUE_DATABASE, Name=table)["Table"]
    summary = bovespa_etl(bucket, table)
    facts = [summary[k] for k in ("dt", "rows", "partitions", "files", "table")]
    assert facts == ["2025-07-10", 84, 84, 84, f"{settings.GLUE_DATABASE}.{table}"]
    found = partitions(glue, table)
    assert len(found) == 84
    assert found[("2025-07-10", "IBOV", "VALE3")] == (
        f"s3://{bucket}/refined/dt=2025-07-10/index_code=IBOV/ticker=VALE3/"
    )
    bovespa_etl(bucket, table)  # again: the same partitions, no duplicates
    assert partitions(glue, table) == found

    write_days(lake, without(portfolio, "VALE3"), [JULY_10])  # B3 corrected the day
    assert bovespa_etl(bucket, table)["files"] == 83
    keys = lake.list("refined/")
    assert len(keys) == 83
    assert "refined/dt=2025-07-10/index_code=IBOV/ticker=PETR4/part-00000.snappy.parquet" in keys
    assert not [k for k in keys if "VALE3" in k]
    assert set(partitions(glue, table)) == set(found) - {("2025-07-10", "IBOV", "VALE3")}
    described = glue.get_table(DatabaseName=settings.GLUE_DATABASE, Name=table)["Table"]
    assert described["StorageDescriptor"] == declared["StorageDescriptor"]
    assert described["PartitionKeys"] == declared["PartitionKeys"]

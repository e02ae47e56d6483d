"""Run SQL on Athena (AWS, or the local emulator's) and get the rows back as strings."""

from __future__ import annotations

import functools
import os
import time
from dataclasses import dataclass
from typing import Any

import boto3
from botocore.config import Config

from services.pipeline import settings
from services.tool.analysis.views import inline


class QueryFailed(Exception):
    """Athena ended the query in FAILED or CANCELLED."""


@dataclass(frozen=True)
class Result:
    columns: list[str]
    rows: list[list[str | None]]

    def as_dicts(self) -> list[dict[str, str | None]]:
        return [dict(zip(self.columns, row, strict=True)) for row in self.rows]


@functools.cache
def _client(endpoint: str | None) -> Any:
    """One client per endpoint, shared by threads: clients are thread-safe, making them not.
    A call unanswered for 8 s (an emulator busy building a huge answer) is tried once more,
    then fails: the command never hangs on one call."""
    return boto3.client("athena", config=Config(read_timeout=8, retries={"total_max_attempts": 2}))


def run(
    sql: str, workgroup: str, database: str = settings.GLUE_DATABASE, timeout: float = 300.0
) -> Result:
    """Start ``sql`` (its views inlined, for the local emulator) in ``workgroup``, wait for it
    (stopping it after ``timeout`` seconds) and read every result page."""
    athena = _client(os.environ.get("AWS_ENDPOINT_URL"))
    query_id = athena.start_query_execution(
        QueryString=inline(sql), WorkGroup=workgroup, QueryExecutionContext={"Database": database}
    )["QueryExecutionId"]
    deadline, pause = time.monotonic() + timeout, 0.02  # short queries end in milliseconds
    while True:
        execution = athena.get_query_execution(QueryExecutionId=query_id)["QueryExecution"]
        status = execution["Status"]
        if status["State"] == "SUCCEEDED":
            break
        if status["State"] in {"FAILED", "CANCELLED"}:
            reason = status.get("StateChangeReason", "")
            raise QueryFailed(f"Athena query {status['State']}: {reason}")
        if time.monotonic() > deadline:  # stopped: on AWS it neither runs on nor bills
            athena.stop_query_execution(QueryExecutionId=query_id)
            raise TimeoutError(f"Athena query {query_id} stopped after {timeout:g} s")
        time.sleep(pause)
        pause = min(pause * 2, 1.0)
    columns: list[str] = []
    rows: list[list[str | None]] = []
    pages = athena.get_paginator("get_query_results").paginate(QueryExecutionId=query_id)
    for number, page in enumerate(pages):
        result = page["ResultSet"]
        columns = columns or [c["Name"] for c in result["ResultSetMetadata"]["ColumnInfo"]]
        # Only a DML result's first row is a header (SHOW's and DESCRIBE's are data).
        header = number == 0 and execution.get("StatementType") == "DML"
        rows.extend([d.get("VarCharValue") for d in r["Data"]] for r in result["Rows"][header:])
    return Result(columns, rows)


def catalogue(database: str) -> Result:
    """Each table's columns, then its partition keys, as the Glue Data Catalog holds them
    (what Athena reads; MiniStack's Athena answers no SHOW TABLES or DESCRIBE)."""
    pages = boto3.client("glue").get_paginator("get_tables").paginate(DatabaseName=database)
    rows: list[list[str | None]] = [
        [table["Name"], column["Name"], column["Type"], key]
        for page in pages for table in page["TableList"]
        for key, columns in (("", table.get("StorageDescriptor", {}).get("Columns", [])),
                             ("partition", table.get("PartitionKeys", [])))
        for column in columns
    ]  # fmt: skip
    return Result(["table", "column", "type", "key"], rows)

"""Run SQL on Athena (AWS, or the local emulator's) and get the rows back as strings."""

from __future__ import annotations

import functools
import os
import time
from dataclasses import dataclass
from typing import Any

import boto3

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
    """One client per endpoint, shared by threads: clients are thread-safe, making them not."""
    return boto3.client("athena")


def run(
    sql: str, workgroup: str, database: str = settings.GLUE_DATABASE, timeout: float = 300.0
) -> Result:
    """Start ``sql`` in ``workgroup``, wait for it, and read every result page.

    Views of :mod:`services.tool.analysis.views` that ``sql`` names are inlined first, so the
    same SQL runs where they do not exist (the local emulator).
    """
    athena = _client(os.environ.get("AWS_ENDPOINT_URL"))
    query_id = athena.start_query_execution(
        QueryString=inline(sql), WorkGroup=workgroup, QueryExecutionContext={"Database": database}
    )["QueryExecutionId"]
    deadline, pause = time.monotonic() + timeout, 0.02  # short queries end in milliseconds
    while True:
        status = athena.get_query_execution(QueryExecutionId=query_id)["QueryExecution"]["Status"]
        if status["State"] == "SUCCEEDED":
            break
        if status["State"] in {"FAILED", "CANCELLED"}:
            reason = status.get("StateChangeReason", "")
            raise QueryFailed(f"Athena query {status['State']}: {reason}")
        if time.monotonic() > deadline:
            raise TimeoutError(f"Athena query {query_id} still {status['State']}")
        time.sleep(pause)
        pause = min(pause * 2, 1.0)
    columns: list[str] = []
    rows: list[list[str | None]] = []
    for page in athena.get_paginator("get_query_results").paginate(QueryExecutionId=query_id):
        result_rows = page["ResultSet"]["Rows"]
        if not columns and result_rows:  # a statement without rows has no header row either
            columns = [c.get("VarCharValue", "") for c in result_rows[0]["Data"]]
            result_rows = result_rows[1:]
        rows.extend([d.get("VarCharValue") for d in r["Data"]] for r in result_rows)
    return Result(columns, rows)

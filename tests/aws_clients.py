"""The tests' own AWS clients, for checking what the code under test did."""

from __future__ import annotations

import io
import time
from typing import Any

import pyarrow.parquet as pq
from localstack_client.session import Session

from services.pipeline import settings
from services.pipeline.lake.storage import S3Lake
from services.tool.local.run import refine_executions


def aws(service: str) -> Any:
    """A client from ``localstack-client``: it honours ``AWS_ENDPOINT_URL`` (which the
    ``aws_endpoint`` fixture sets) and otherwise talks to LocalStack's edge port, 4566."""
    return Session(region_name=settings.EMULATOR_REGION).client(service)


#: How long a test waits for one Athena query (the emulator answers in well under a second
#: on a quiet machine; the margin is for a loaded one).
ATHENA_TIMEOUT_S = 60.0


def athena_rows(workgroup: str, sql: str) -> list[list[str]]:
    """The rows of ``sql`` (header dropped, NULL as ``""``), run by Athena in ``workgroup``.

    Fails the test when the query does not succeed within :data:`ATHENA_TIMEOUT_S`.
    """
    client = aws("athena")
    query_id = client.start_query_execution(QueryString=sql, WorkGroup=workgroup)[
        "QueryExecutionId"
    ]
    deadline = time.monotonic() + ATHENA_TIMEOUT_S
    while True:
        status = client.get_query_execution(QueryExecutionId=query_id)["QueryExecution"]["Status"]
        if status["State"] not in {"QUEUED", "RUNNING"} or time.monotonic() > deadline:
            break
        time.sleep(0.25)
    assert status["State"] == "SUCCEEDED", status
    pages = client.get_paginator("get_query_results").paginate(QueryExecutionId=query_id)
    rows = [row for page in pages for row in page["ResultSet"]["Rows"]]
    return [[cell.get("VarCharValue", "") for cell in row["Data"]] for row in rows[1:]]


def refined_rows(bucket: str, index: str, dt: str, table: str = "refined") -> dict[str, Any]:
    """Every refined row of ``index`` on ``dt``, by ticker (a partition: in the path only)."""
    lake = S3Lake(bucket)
    return {
        key.split("ticker=")[1].split("/")[0]: pq.read_table(
            io.BytesIO(lake.read_bytes(key))
        ).to_pylist()[0]
        for key in lake.list(f"{table}/dt={dt}/index_code={index}/")
    }


def crawls(pipeline_execution: str) -> int:
    """The crawls the refine execution of ``pipeline_execution`` started."""
    sfn = aws("stepfunctions")
    (refine,) = refine_executions(sfn, pipeline_execution)
    events = sfn.get_execution_history(executionArn=refine, maxResults=1000)["events"]
    return sum(
        e["taskSucceededEventDetails"]["resource"].endswith("glue:startCrawler")
        for e in events
        if e["type"] == "TaskSucceeded"
    )

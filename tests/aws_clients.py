"""The tests' own AWS clients, for checking what the code under test did."""

from __future__ import annotations

import time
from typing import Any

from localstack_client.session import Session

from services.pipeline import settings
from services.pipeline.lake.storage import S3Lake
from services.tool.local.run import refine_executions
from tests import lakes


def aws(service: str) -> Any:
    """A client that honours ``AWS_ENDPOINT_URL`` (the ``aws_endpoint`` fixture's), else 4566."""
    return Session(region_name=settings.EMULATOR_REGION).client(service)


#: How long a test waits for one Athena query (under a second, unless the machine is loaded).
ATHENA_TIMEOUT_S = 60.0


def athena_rows(workgroup: str, sql: str) -> list[list[str]]:
    """The rows of ``sql`` (header dropped, NULL as ``""``), run by Athena in ``workgroup``."""
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
    return lakes.refined_rows(S3Lake(bucket), f"{table}/dt={dt}/index_code={index}/")


def crawls(pipeline_execution: str) -> int:
    sfn = aws("stepfunctions")
    (refine,) = refine_executions(sfn, pipeline_execution)
    events = sfn.get_execution_history(executionArn=refine, maxResults=1000)["events"]
    succeeded = [e["taskSucceededEventDetails"] for e in events if e["type"] == "TaskSucceeded"]
    return sum(task["resource"].endswith("glue:startCrawler") for task in succeeded)

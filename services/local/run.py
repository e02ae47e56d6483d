"""Start, follow and summarise a pipeline execution (``make run``, ``make demo``, ``ingest``).

The execution history is folded into the pipeline's steps (a polling loop is one step),
shown live while it runs, and summarised at the end with what the data looks like.
"""

from __future__ import annotations

import io
import json
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import boto3
import pyarrow.parquet as pq

from services import settings
from services.b3.calendar import portfolio_label
from services.lake.storage import S3Lake
from services.local.deploy import LocalStack

#: The step each state belongs to; states of no step (routing, the end) are not shown.
STEP_OF = {
    "Scrape": "Scrape",
    "ScrapeFailed": "Scrape",
    "Validate": "Validate",
    "ValidateFailed": "Validate",
    **dict.fromkeys(
        ("StartGlueJob", "WaitForGlueJob", "GetGlueJobRun", "GlueJobDone?", "CountGlueJobPoll",
         "DescribeGlueJobFailure", "GlueJobHasMessage?", "DescribeGlueJobMessage",
         "DescribeGlueJobState", "GlueJobFailed", "GlueJobTimedOut"),
        "Glue job",
    ),
    **dict.fromkeys(
        ("StartCrawler", "WaitForCrawler", "GetCrawler", "CrawlerDone?", "CountCrawlerPoll",
         "GetLastCrawl", "CrawlSucceeded?", "DescribeCrawlFailure", "CrawlerFailed",
         "CrawlerTimedOut"),
        "Crawler",
    ),
    **dict.fromkeys(
        ("StartSmokeQuery", "WaitForSmokeQuery", "GetSmokeQuery", "SmokeQueryDone?",
         "CountSmokeQueryPoll", "DescribeSmokeQueryFailure", "SmokeQueryFailed",
         "SmokeQueryTimedOut", "GetSmokeResult"),
        "Athena smoke query",
    ),
    **dict.fromkeys(("Check", "DescribeCheckFailure", "CheckFailed"), "Check"),
}  # fmt: skip
UNSTEPPED = ("Route", "InputInvalid", "Done")
TERMINAL = ("SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED")


@dataclass
class Step:
    """One step of an execution, folded from its states' history events."""

    name: str
    started: datetime
    ended: datetime | None = None
    status: str = "running"
    retries: int = 0
    polls: int = 0

    @property
    def seconds(self) -> float | None:
        return None if self.ended is None else (self.ended - self.started).total_seconds()


@dataclass
class Progress:
    """What the history says so far."""

    steps: list[Step] = field(default_factory=list)
    failed_state: str | None = None
    error: str | None = None
    cause: str | None = None


def fold(events: Iterable[Mapping[str, Any]]) -> Progress:
    """Fold execution history events into steps (a pure function of the history)."""
    progress = Progress()
    by_name: dict[str, Step] = {}
    current: Step | None = None
    for event in events:
        kind: str = event["type"]
        details: Mapping[str, Any] = next(
            (v for k, v in event.items() if k.endswith("EventDetails")), {}
        )
        state = details.get("name")
        if kind.endswith("StateEntered") and state in STEP_OF:
            step = by_name.get(STEP_OF[state])
            if step is None:
                step = by_name[STEP_OF[state]] = Step(STEP_OF[state], event["timestamp"])
                progress.steps.append(step)
            step.polls += state.startswith("Get")
            step.status = "running"
            current = step
            if kind == "FailStateEntered":
                progress.failed_state = state
                step.status = "failed"
        elif kind.endswith("StateExited") and state in STEP_OF and current is not None:
            current.ended = event["timestamp"]
            if current.status == "running":
                current.status = "succeeded"
        elif kind in {"TaskFailed", "LambdaFunctionFailed", "TaskTimedOut"} and current:
            current.retries += 1
        elif kind == "ExecutionFailed":
            progress.error, progress.cause = details.get("error"), details.get("cause")
            if current is not None:
                current.status, current.ended = "failed", event["timestamp"]
    for step in progress.steps:
        if step.status == "failed":
            step.retries = max(0, step.retries - 1)  # the last failure is not a retry
    return progress


@dataclass(frozen=True)
class Outcome:
    """How an execution ended, with its folded history and final output."""

    execution_arn: str
    status: str
    progress: Progress
    output: dict[str, Any]
    seconds: float


def start(stack: LocalStack, execution_input: Mapping[str, Any]) -> str:
    """Start an execution of the deployed state machine; return its ARN."""
    sfn = boto3.client("stepfunctions")
    arn: str = sfn.start_execution(
        stateMachineArn=stack.state_machine_arn, input=json.dumps(dict(execution_input))
    )["executionArn"]
    return arn


def execution_names(stack: LocalStack) -> set[str]:
    """The names of every execution of the deployed state machine so far."""
    sfn = boto3.client("stepfunctions")
    pages = sfn.get_paginator("list_executions").paginate(stateMachineArn=stack.state_machine_arn)
    return {e["name"] for page in pages for e in page["executions"]}


def wait_for_execution(
    stack: LocalStack, key: str, etag: str, known: set[str], timeout: float = 60.0
) -> str:
    """The ARN of the execution the trigger started for this write of ``key``, once it exists.

    The trigger names executions from the event's sequencer or version id, which only the
    event carries: the execution is found by its input (``key``, ``etag``) among those not
    in ``known`` (the names taken before the write).
    """
    sfn = boto3.client("stepfunctions")
    deadline = time.monotonic() + timeout
    while True:
        for name in sorted(execution_names(stack) - known):
            arn = f"{stack.state_machine_arn.replace(':stateMachine:', ':execution:')}:{name}"
            started = json.loads(sfn.describe_execution(executionArn=arn).get("input") or "{}")
            if started.get("key") == key and started.get("etag") == etag:
                return arn
        if time.monotonic() > deadline:
            raise TimeoutError(f"no execution started for {key} within {timeout:.0f} s")
        time.sleep(0.5)


def follow(
    execution_arn: str,
    on_progress: Callable[[Progress], None] = lambda progress: None,
    timeout: float = 1800.0,
    interval: float = 0.5,
) -> Outcome:
    """Poll the execution until it ends, reporting progress; return how it ended."""
    sfn = boto3.client("stepfunctions")
    began = time.monotonic()
    while True:
        described = sfn.describe_execution(executionArn=execution_arn)
        progress = fold(_history(sfn, execution_arn))
        on_progress(progress)
        if described["status"] in TERMINAL:
            break
        if time.monotonic() - began > timeout:
            raise TimeoutError(f"{execution_arn} still running after {timeout:.0f} s")
        time.sleep(interval)
    output = json.loads(described.get("output") or "{}")
    return Outcome(execution_arn, described["status"], progress, output, time.monotonic() - began)


def summary(stack: LocalStack, outcome: Outcome) -> dict[str, Any]:
    """What the run did, as one JSON-able object (the last line ``make demo`` prints)."""
    result: dict[str, Any] = {
        "status": outcome.status,
        "execution": outcome.execution_arn,
        "seconds": round(outcome.seconds, 1),
        "steps": [
            {"step": s.name, "status": s.status, "seconds": s.seconds, "retries": s.retries}
            for s in outcome.progress.steps
        ],
    }
    if outcome.status != "SUCCEEDED":
        result.update(
            failed_state=outcome.progress.failed_state,
            error=outcome.progress.error,
            cause=outcome.progress.cause,
        )
        return result
    out = outcome.output
    refined_prefix = f"{settings.REFINED_PREFIX}/dt={out['dt']}/index_code={out['index']}/"
    lake = S3Lake(stack.bucket)
    refined = lake.list(refined_prefix)
    refined_rows = sum(
        pq.read_metadata(io.BytesIO(lake.read_bytes(key))).num_rows for key in refined
    )
    result.update(
        dt=out["dt"],
        session=portfolio_label(date.fromisoformat(out["dt"])),
        index=out["index"],
        raw_rows=out["rows"],
        refined_rows=refined_rows,
        refined_files=len(refined),
        athena_smoke_query=stack.deployment.smoke_query(out["dt"], out["index"]),
        athena_count=out["smoke"]["count"],
        raw=out["uri"],
        refined=f"s3://{stack.bucket}/{refined_prefix}",
        table=f"{stack.deployment.database}.{stack.deployment.table}",
    )
    return result


def _history(sfn: Any, execution_arn: str) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    token: str | None = None
    while True:
        page = sfn.get_execution_history(
            executionArn=execution_arn, maxResults=1000, **({"nextToken": token} if token else {})
        )
        events.extend(page["events"])
        token = page.get("nextToken")
        if not token:
            return events

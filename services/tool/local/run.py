"""Start, follow and summarise a pipeline execution (``make run``, ``make demo``, ``ingest``).

The execution history is folded into the pipeline's steps (a polling loop is one step),
shown live while it runs, and summarised at the end with what the data looks like.
"""

from __future__ import annotations

import contextlib
import io
import json
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import boto3
import pyarrow.parquet as pq
from botocore.exceptions import ClientError

from glue.schema import AHEAD_TABLES
from services.deploy.deployment import execution_arn, state_machine_arn
from services.pipeline.b3.calendar import portfolio_label
from services.pipeline.lake.datasets import DAY
from services.pipeline.lake.refined import day_prefix
from services.pipeline.lake.storage import S3Lake
from services.tool.local.deploy import Deployed

#: The steps a run's progress shows: the pipeline's states that do work, and the refine
#: execution's (its poll states, and the local stand-in's ``GlueJobPoll``…, count as polls).
STEPS = {
    "ScrapeIndices": "Scrape and validate",
    "WaitBeforeRetry": "Wait before retry",
    "RetryFailed": "Retry failed",
    "GlueJob": "Glue job",
    "Crawl": "Crawler",
    "WaitForCrawl": "Crawler",
    "GetCrawler": "Crawler",
    "SmokeQuery": "Athena smoke query",
    "SmokeResult": "Athena smoke query",
    "Check": "Check",
    "CountMismatch": "Check",
}
#: The pipeline's refine states: each starts one refine execution.
REFINES = ("Refine", "RefineRetried")
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
    #: The input each state was entered with and the output it exited with, by name (the
    #: last time): what an execution did, failed or not (AWS gives a failed one no output).
    inputs: dict[str, Any] = field(default_factory=dict)
    outputs: dict[str, Any] = field(default_factory=dict)


def step_of(state: str) -> str | None:
    """The step ``state`` belongs to (``GlueJobPoll``, the local stand-in's, is ``GlueJob``'s)."""
    owner = max((name for name in STEPS if state.startswith(name)), key=len, default=None)
    return None if owner is None else STEPS[owner]


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
        state = str(details.get("name"))
        if kind.endswith("StateEntered"):
            progress.inputs[state] = json.loads(details.get("input") or "null")
            progress.failed_state = state
        elif kind.endswith("StateExited"):
            progress.outputs[state] = json.loads(details.get("output") or "null")
        label = step_of(state)
        if kind.endswith("StateEntered") and label:
            step = by_name.get(label)
            if step is None:
                step = by_name[label] = Step(label, event["timestamp"])
                progress.steps.append(step)
            step.polls += state.endswith("Poll") or state == "GetCrawler"
            step.status, step.ended, current = "running", None, step
            if kind == "FailStateEntered":  # CrawlFailed, CountMismatch…
                step.status, step.ended = "failed", event["timestamp"]
        elif kind.endswith("StateExited") and label and current is not None:
            current.ended = event["timestamp"]
            current.status = "succeeded"
        elif kind in {"TaskFailed", "LambdaFunctionFailed", "TaskTimedOut"} and current:
            current.retries += 1
        elif kind == "ExecutionFailed" and progress.error is None:
            # the first to fail is the cause: a refine execution's, before its pipeline's
            progress.error, progress.cause = details.get("error"), details.get("cause")
            if current is not None and current.ended is None:
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


def start(stack: Deployed, execution_input: Mapping[str, Any]) -> str:
    """Start an execution of the deployed state machine; return its ARN."""
    sfn = boto3.client("stepfunctions")
    arn: str = sfn.start_execution(
        stateMachineArn=stack.state_machine_arn, input=json.dumps(dict(execution_input))
    )["executionArn"]
    return arn


def execution_names(stack: Deployed) -> set[str]:
    """The names of every execution of the deployed state machine so far."""
    sfn = boto3.client("stepfunctions")
    pages = sfn.get_paginator("list_executions").paginate(stateMachineArn=stack.state_machine_arn)
    return {e["name"] for page in pages for e in page["executions"]}


def wait_for_execution(
    stack: Deployed, uri: str, version: str | None, known: set[str], timeout: float = 60.0
) -> str:
    """The ARN of the execution the trigger started for this write of ``uri``, once it exists:
    found by its input (``uri``, and ``version`` where the event carried one: MiniStack's
    S3 events carry none) among those not in ``known`` (the names taken before the write)."""
    sfn = boto3.client("stepfunctions")
    deadline = time.monotonic() + timeout
    while True:
        for name in sorted(execution_names(stack) - known):
            arn = execution_arn(stack.state_machine_arn, name)
            started = json.loads(sfn.describe_execution(executionArn=arn).get("input") or "{}")
            if started.get("uri") == uri and started.get("version") in {version, None}:
                return arn
        if time.monotonic() > deadline:
            raise TimeoutError(f"no execution started for {uri} within {timeout:.0f} s")
        time.sleep(0.5)


#: Error codes of an endpoint without RedriveExecution (MiniStack answers InvalidAction).
NO_REDRIVE = frozenset({"InvalidAction", "UnknownOperationException", "NotImplemented"})


def finish(stack: Deployed, arn: str) -> str:
    """Finish what a FAILED execution left: redrive it, or run the same states for it.

    Where the endpoint has RedriveExecution (AWS), the execution is redriven: Step Functions
    reruns the failed iterations of ``RetryFailed`` (or the failed refine), then refines
    them. Where it has not (the local emulator), a new execution is started with the failed
    records as its input: it goes straight to ``RetryFailed`` and ``RefineRetried``, the
    states a redrive runs. Returns the ARN to follow.
    """
    sfn = boto3.client("stepfunctions")
    try:
        sfn.redrive_execution(executionArn=arn)
        return arn
    except ClientError as error:
        if error.response["Error"]["Code"] not in NO_REDRIVE:
            raise
    described = sfn.describe_execution(executionArn=arn)
    if described["status"] != "FAILED":
        raise ValueError(f"{arn} is {described['status']}: nothing to finish")
    progress = fold(_history(sfn, arn))
    failed = (progress.inputs.get("RetryFailed") or {}).get("failed")
    if not failed:
        raise ValueError(
            f"{arn} failed in {progress.failed_state} with no index failed: start it again"
        )
    return start(stack, {"source": "finish", "failed": failed})


def refine_executions(sfn: Any, arn: str) -> list[str]:
    """The refine executions the pipeline execution ``arn`` started, oldest first (each
    names its parent in its input, as Step Functions links a child to its parent)."""
    _, _, _, region, account, _, machine, _ = arn.split(":")
    refine = state_machine_arn(
        machine.removesuffix("-pipeline") + "-refine", region, account, arn.split(":")[1]
    )
    pages = sfn.get_paginator("list_executions").paginate(stateMachineArn=refine)
    children = [e for page in pages for e in page["executions"]]
    found = []
    for child in sorted(children, key=lambda e: e["startDate"]):
        started = json.loads(sfn.describe_execution(executionArn=child["executionArn"])["input"])
        if started.get("AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID") == arn:
            found.append(child["executionArn"])
    return found


def follow(
    arn: str,
    on_progress: Callable[[Progress], None] = lambda progress: None,
    timeout: float = 1800.0,
    interval: float = 0.5,
) -> Outcome:
    """Poll the execution until it ends, reporting progress; return how it ended."""
    sfn = boto3.client("stepfunctions")
    began = time.monotonic()
    while True:
        described = sfn.describe_execution(executionArn=arn)
        events = _history(sfn, arn)
        for child in refine_executions(sfn, arn):
            events += _history(sfn, child)
        progress = fold(sorted(events, key=lambda event: event["timestamp"]))
        on_progress(progress)
        if described["status"] in TERMINAL:
            break
        if time.monotonic() - began > timeout:
            raise TimeoutError(f"{arn} still running after {timeout:.0f} s")
        time.sleep(interval)
    output = json.loads(described.get("output") or "{}")
    return Outcome(arn, described["status"], progress, output, time.monotonic() - began)


def summary(stack: Deployed, outcome: Outcome) -> dict[str, Any]:
    """What the run did, as one JSON-able object (the last line ``make demo`` prints).

    ``indices`` has a row per index and day the execution validated -- refined rows and
    files read back from S3, Athena's count from the smoke query -- and a row per failure;
    ``glue_runs`` and ``crawls`` count the Glue job runs and crawls it started.
    """
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
            cause=_with_failures(outcome.progress),
        )
    done = outcome.progress.outputs
    passes = [done.get(state) or {} for state in ("ScrapeIndices", "RetryFailed")]
    refined = [(done.get(state) or {}).get("refined") or {} for state in REFINES]
    validated = [o for scraped in passes for o in scraped.get("validated", [])]
    counts = {key: n for phase in refined for key, n in phase.get("counts", {}).items()}
    lake = S3Lake(stack.bucket)
    rows = [
        index_row(lake, stack.bucket, o, counts.get(f"{o['index']}/{o['dt']}")) for o in validated
    ]
    failed = passes[0].get("failed", [])
    for failure in failed:
        if failure.get("dataset") == DAY and not _redone(failure, validated):
            rows.append({"index": failure["target"], "status": "failed", "error": failure["error"]})
    result.update(
        indices=rows,
        failed=[{k: f.get(k) for k in ("target", "dataset", "error", "cause")} for f in failed],
        ahead=[ahead_row(lake, stack, a) for scraped in passes for a in scraped.get("ahead", [])],
        glue_runs=sum(1 for phase in refined if "glue_run" in phase),
        crawls=sum(1 for phase in refined if "glue_run" in phase),
        table=f"{stack.deployment.database}.{stack.deployment.table}",
    )
    return result


def index_row(
    lake: S3Lake, bucket: str, validated: Mapping[str, Any], athena: int | None
) -> dict[str, Any]:
    """One validated index and day: what Validate counted, what landed in refined/."""
    prefix = day_prefix((validated["dt"], validated["index"]))
    refined = lake.list(prefix)
    return {
        "index": validated["index"],
        "dt": validated["dt"],
        "session": portfolio_label(date.fromisoformat(validated["dt"])),
        "status": "refined" if athena == validated["rows"] else "validated",
        "raw_rows": validated["rows"],
        "refined_rows": sum(
            pq.read_metadata(io.BytesIO(lake.read_bytes(key))).num_rows for key in refined
        ),
        "refined_files": len(refined),
        "athena_count": athena,
        "raw": validated["uri"],
        "refined": f"s3://{bucket}/{prefix}",
    }


def ahead_row(lake: S3Lake, stack: Deployed, scraped: Mapping[str, Any]) -> dict[str, Any]:
    """A dataset ahead the execution scraped, with what landed in its refined table."""
    row = dict(scraped)
    table = AHEAD_TABLES.get(str(scraped.get("dataset")))
    if table is None or scraped.get("status") not in {"stored", "kept"}:
        return row
    prefix = day_prefix((scraped["dt"], scraped["index"]), table.prefix)
    refined = lake.list(prefix)
    row.update(
        table=f"{stack.deployment.database}.{table.name}",
        refined_rows=sum(
            pq.read_metadata(io.BytesIO(lake.read_bytes(key))).num_rows for key in refined
        ),
        refined_files=len(refined),
        refined=f"s3://{stack.bucket}/{prefix}",
    )
    return row


def _with_failures(progress: Progress) -> str | None:
    """The execution's cause -- a Lambda's error document read as its message, without the
    stack trace -- after the list of everything that failed, where there is one (a Map
    names only the iteration that failed first)."""
    cause = progress.cause
    with contextlib.suppress(ValueError, TypeError, KeyError):
        cause = json.loads(cause or "")["errorMessage"]
    listed = (progress.outputs.get("WaitBeforeRetry") or {}).get("summary")
    return f"{listed}. {cause}" if listed else cause


def _redone(failure: Mapping[str, Any], validated: Sequence[Mapping[str, Any]]) -> bool:
    return any(failure["target"] in (o["index"], o["uri"]) for o in validated)


def _history(sfn: Any, arn: str) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    token: str | None = None
    while True:
        page = sfn.get_execution_history(
            executionArn=arn, maxResults=1000, **({"nextToken": token} if token else {})
        )
        events.extend(page["events"])
        token = page.get("nextToken")
        if not token:
            return events

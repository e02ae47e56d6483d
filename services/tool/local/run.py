"""Start, follow and summarise a pipeline execution (``make run``, ``make demo``, ``ingest``).

The execution history is folded into the pipeline's steps (a polling loop is one step),
shown live while it runs, and summarised at the end with what the data looks like.
"""

from __future__ import annotations

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
from services.deploy.asl import expanded, load_template, polls, steps
from services.deploy.deployment import execution_arn
from services.pipeline.b3.calendar import portfolio_label
from services.pipeline.lake.datasets import DAY
from services.pipeline.lake.refined import day_prefix
from services.pipeline.lake.storage import S3Lake
from services.tool.local.deploy import Deployed

#: The step each state belongs to, from the definition (services/deploy/asl.py): a Map is
#: one step with its iterations' states, the refine phase's states are grouped by step.
STEP_OF = steps()
#: The states of the execution itself (not of a Map's iterations): their output is the
#: execution's data so far.
TOP_LEVEL = frozenset(expanded()["States"])
#: Where each refine block (the first pass, then a redrive's) keeps its results in the
#: execution's data: the Block states' namespaces, in the definition's order.
PHASES = tuple(
    state["Namespace"]
    for state in load_template()["States"].values()
    if state.get("Type") == "Block"
)
#: The states that poll a running Glue job, crawl or query (the ones a Wait leads to).
POLLS = polls()
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
    #: The output of the last top-level state that finished: the execution's data so far
    #: (what a failed execution had done; AWS gives a failed execution no output).
    data: dict[str, Any] = field(default_factory=dict)


def fold(events: Iterable[Mapping[str, Any]]) -> Progress:
    """Fold execution history events into steps (a pure function of the history)."""
    progress = Progress()
    by_name: dict[str, Step] = {}
    current: Step | None = None
    entered: str | None = None
    for event in events:
        kind: str = event["type"]
        details: Mapping[str, Any] = next(
            (v for k, v in event.items() if k.endswith("EventDetails")), {}
        )
        state = details.get("name")
        if kind.endswith("StateEntered") and state in TOP_LEVEL:
            entered = state
        if kind.endswith("StateExited") and state in TOP_LEVEL and details.get("output"):
            progress.data = json.loads(details["output"])
        if kind.endswith("StateEntered") and state in STEP_OF:
            step = by_name.get(STEP_OF[state])
            if step is None:
                step = by_name[STEP_OF[state]] = Step(STEP_OF[state], event["timestamp"])
                progress.steps.append(step)
            step.polls += state in POLLS
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
            # Where the history shows no Fail state (an emulator that records no events
            # inside a Map's iterations), the state that was running failed.
            progress.failed_state = progress.failed_state or entered
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
    stack: Deployed, key: str, etag: str, known: set[str], timeout: float = 60.0
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
            arn = execution_arn(stack.state_machine_arn, name)
            started = json.loads(sfn.describe_execution(executionArn=arn).get("input") or "{}")
            if started.get("key") == key and started.get("etag") == etag:
                return arn
        if time.monotonic() > deadline:
            raise TimeoutError(f"no execution started for {key} within {timeout:.0f} s")
        time.sleep(0.5)


#: Error codes of an endpoint without RedriveExecution (MiniStack answers InvalidAction).
NO_REDRIVE = frozenset({"InvalidAction", "UnknownOperationException", "NotImplemented"})


def finish(stack: Deployed, arn: str) -> list[str]:
    """Finish what a FAILED execution left: redrive it, or start executions for it.

    Where the endpoint has RedriveExecution (AWS), the execution is redriven: Step
    Functions reruns only the failed iterations of ``FinishFailedIndices``, which redo
    their index, and the refine phase then runs for those alone. Where it has not (the
    local emulator), a new execution is started for the failed indices (with the original
    execution's datasets ahead), and one for each failed dropped object. Returns the ARNs
    to follow.
    """
    sfn = boto3.client("stepfunctions")
    try:
        sfn.redrive_execution(executionArn=arn)
        return [arn]
    except ClientError as error:
        if error.response["Error"]["Code"] not in NO_REDRIVE:
            raise
    described = sfn.describe_execution(executionArn=arn)
    if described["status"] != "FAILED":
        raise ValueError(f"{arn} is {described['status']}: nothing to finish")
    progress = fold(_history(sfn, arn))
    failed = (progress.data.get("scraped") or {}).get("failed", [])
    if not failed:
        raise ValueError(
            f"{arn} failed in {progress.failed_state} with no index failed: start it again"
        )
    original = json.loads(described.get("input") or "{}")
    indices = sorted({f["target"] for f in failed if f["mode"] == "index"})
    inputs: list[dict[str, Any]] = [{"uri": f["target"]} for f in failed if f["mode"] == "object"]
    if indices:
        again: dict[str, Any] = {"source": "finish", "indices": indices}
        if "ahead" in original:
            again["ahead"] = original["ahead"]
        inputs.insert(0, again)
    return [start(stack, started) for started in inputs]


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
        progress = fold(_history(sfn, arn))
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
            cause=outcome.progress.cause,
        )
    data = outcome.output if outcome.status == "SUCCEEDED" else outcome.progress.data
    scraped, redo = data.get("scraped") or {}, data.get("redo") or {}
    phases = [data.get(phase) or {} for phase in PHASES]
    validated = [o for phase in phases for o in phase.get("objects", [])]
    counts = {key: n for phase in phases for key, n in athena_counts(phase).items()}
    lake = S3Lake(stack.bucket)
    rows = [index_row(lake, stack.bucket, o, counts.get((o["index"], o["dt"]))) for o in validated]
    for failure in scraped.get("failed", []):
        if failure.get("dataset") == DAY and not _redone(failure, validated):
            rows.append({"index": failure["target"], "status": "failed", "error": failure["error"]})
    result.update(
        indices=rows,
        failed=[
            {k: f.get(k) for k in ("target", "dataset", "error", "cause")}
            for f in scraped.get("failed", [])
        ],
        ahead=[ahead_row(lake, stack, a) for a in scraped.get("ahead", []) + redo.get("ahead", [])],
        glue_runs=sum(1 for phase in phases if "glue" in phase),
        crawls=sum(1 for phase in phases if "crawler" in phase),
        table=f"{stack.deployment.database}.{stack.deployment.table}",
    )
    if validated:
        result["athena_smoke_query"] = stack.deployment.smoke_query(
            phases[0].get("objects") or validated
        )
    return result


def athena_counts(phase: Mapping[str, Any]) -> dict[tuple[str, str], int]:
    """``(index, dt) -> refined rows`` from a refine phase's smoke query result, if it ran."""
    rows = (phase.get("smoke") or {}).get("rows") or []
    found: dict[tuple[str, str], int] = {}
    for row in rows[1:]:  # the first row is the column names
        index, dt, _, refined, _ = (cell.get("VarCharValue") for cell in row["Data"])
        found[(str(index), str(dt))] = int(str(refined))
    return found


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

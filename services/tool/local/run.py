"""Start, follow and summarise a pipeline execution (``make run``, ``make demo``, ``ingest``).

The history (the pipeline's and its refine executions') is folded into steps, a polling
loop being one step; the summary reads back what landed in the lake.
"""

from __future__ import annotations

import contextlib
import io
import json
import time
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import boto3
import pyarrow.parquet as pq
from botocore.exceptions import ClientError

from glue.schema import AHEAD_TABLES
from services.deploy.deployment import state_machine_arn
from services.pipeline.b3.calendar import portfolio_label
from services.pipeline.lake.datasets import DAY
from services.pipeline.lake.refined import day_prefix
from services.pipeline.lake.storage import S3Lake
from services.tool.local.deploy import Deployed

#: The steps a run shows, by the state names that make them (the local ``.sync`` stand-in's
#: ``GlueJobPoll``… belong to ``GlueJob``).
STEPS = {
    "ScrapeIndices": "Scrape and validate", "WaitBeforeRetry": "Wait before retry",
    "RetryFailed": "Retry failed", "GlueJob": "Glue job", "Crawl": "Crawler",
    "WaitForCrawl": "Crawler", "GetCrawler": "Crawler", "SmokeQuery": "Athena smoke query",
    "SmokeResult": "Athena smoke query", "Check": "Check", "CountMismatch": "Check",
}  # fmt: skip
#: The pipeline's refine states: each starts one refine execution.
REFINES = ("Refine", "RefineRetried")
#: The states a failed execution may stop in with work in hand, and what of their input is
#: left to do: failures to retry, pins validated but not refined.
LEFT = {
    "Refine": ("failed", "validated", "ahead"),
    "RetryFailed": ("failed",),
    "RefineRetried": ("validated", "ahead"),
}
#: Error codes of an endpoint without RedriveExecution (MiniStack answers InvalidAction).
NO_REDRIVE = frozenset({"InvalidAction", "UnknownOperationException", "NotImplemented"})


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
    """What the history says so far; each state's last input and output, by name (AWS
    gives a failed execution no output)."""

    steps: list[Step] = field(default_factory=list)
    failed_state: str | None = None
    error: str | None = None
    cause: str | None = None
    inputs: dict[str, Any] = field(default_factory=dict)
    outputs: dict[str, Any] = field(default_factory=dict)


def fold(events: Iterable[Mapping[str, Any]]) -> Progress:
    progress, by_name = Progress(), dict[str, Step]()
    current: Step | None = None
    for event in events:
        kind: str = event["type"]
        details: Mapping[str, Any] = next(
            (v for k, v in event.items() if k.endswith("EventDetails")), {}
        )
        state = str(details.get("name"))
        owner = max((name for name in STEPS if state.startswith(name)), key=len, default=None)
        label = STEPS.get(owner or "")
        if kind.endswith("StateEntered"):
            progress.inputs[state] = json.loads(details.get("input") or "null")
            progress.failed_state = state
        elif kind.endswith("StateExited"):
            progress.outputs[state] = json.loads(details.get("output") or "null")
        if kind.endswith("StateEntered") and label:
            if label not in by_name:
                by_name[label] = Step(label, event["timestamp"])
                progress.steps.append(by_name[label])
            current = by_name[label]
            current.polls += state.endswith("Poll") or state == "GetCrawler"
            current.status, current.ended = "running", None
            if kind == "FailStateEntered":  # CrawlFailed, CountMismatch…
                current.status, current.ended = "failed", event["timestamp"]
        elif kind.endswith("StateExited") and label and current is not None:
            output = progress.outputs[state] or {}  # a Map whose every iteration failed failed
            done = output.get("validated") or output.get("ahead")
            lost = kind == "MapStateExited" and output.get("failed") and not done
            current.status, current.ended = "failed" if lost else "succeeded", event["timestamp"]
        elif kind in {"TaskFailed", "LambdaFunctionFailed", "TaskTimedOut"} and current:
            current.retries += 1
        elif kind == "ExecutionFailed" and progress.error is None:
            # the first to fail is the cause: a refine execution's, before its pipeline's
            progress.error, progress.cause = details.get("error"), details.get("cause")
            if current is not None and current.ended is None:
                current.status, current.ended = "failed", event["timestamp"]
    for step in progress.steps:
        step.retries -= step.status == "failed" and step.retries > 0  # the last is no retry
    return progress


@dataclass(frozen=True)
class Outcome:
    execution_arn: str
    status: str
    progress: Progress
    output: dict[str, Any]
    seconds: float


def start(stack: Deployed, execution_input: Mapping[str, Any]) -> str:
    started = boto3.client("stepfunctions").start_execution(
        stateMachineArn=stack.state_machine_arn, input=json.dumps(dict(execution_input))
    )
    return str(started["executionArn"])


def executions(stack: Deployed) -> dict[str, dict[str, Any]]:
    sfn = boto3.client("stepfunctions")
    pages = sfn.get_paginator("list_executions").paginate(stateMachineArn=stack.state_machine_arn)
    return {e["executionArn"]: e for page in pages for e in page["executions"]}


def wait_for_execution(stack: Deployed, uri: str, known: Iterable[str], timeout: float = 60) -> str:
    """The execution the trigger started for ``uri``, among those not ``known`` (the ARNs
    before the write): MiniStack's S3 events carry no version to name it by."""
    sfn, deadline = boto3.client("stepfunctions"), time.monotonic() + timeout
    while time.monotonic() < deadline:
        for arn in executions(stack).keys() - set(known):
            given = json.loads(sfn.describe_execution(executionArn=arn)["input"])
            if uri in [dropped.get("uri") for dropped in given.get("objects", [])]:
                return arn
        time.sleep(0.2)
    raise TimeoutError(f"no execution started for {uri} within {timeout:.0f} s")


def finish(stack: Deployed, arn: str) -> str:
    """Finish what a FAILED execution left: redrive it (AWS), else (MiniStack) start one with
    what the failed state had in hand (its input: failures to retry, pins validated but not
    refined), straight to ``RetryFailed`` and ``RefineRetried``; return the ARN to follow."""
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
    given, keys = next(
        ((progress.inputs[state] or {}, keys) for state, keys in LEFT.items()
         if state in progress.inputs and state not in progress.outputs),
        ({}, ()),
    )  # fmt: skip
    carried = given.get("unrefined") or {}  # an earlier finish's pins, not yet refined
    left = {
        key: (given.get(key, []) if key in keys else []) + carried.get(key, [])
        for key in ("failed", "validated", "ahead")
    }
    if not any(left.values()):
        raise ValueError(
            f"{arn} failed in {progress.failed_state}, before any work: start it again"
        )
    return start(stack, {"source": "finish", **left})


def refine_executions(sfn: Any, arn: str) -> list[str]:
    """The refine executions the pipeline execution ``arn`` started, oldest first (each
    names its parent in its input, as Step Functions links a child to its parent)."""
    _, _, _, region, account, _, machine, _ = arn.split(":")
    refine = state_machine_arn(machine.removesuffix("-pipeline") + "-refine", region, account)
    began = sfn.describe_execution(executionArn=arn)["startDate"]
    pages = sfn.get_paginator("list_executions").paginate(stateMachineArn=refine)
    children = sorted(
        (e["startDate"], e["executionArn"]) for page in pages for e in page["executions"]
        if e["startDate"] >= began
    )  # fmt: skip
    parent = "AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID"
    inputs = ((c, json.loads(sfn.describe_execution(executionArn=c)["input"])) for _, c in children)
    return [child for child, given in inputs if given.get(parent) == arn]


def follow(
    arn: str, on_progress: Callable[[Progress], None] = lambda _: None, timeout: float = 1800
) -> Outcome:
    sfn, began = boto3.client("stepfunctions"), time.monotonic()
    while True:
        described = sfn.describe_execution(executionArn=arn)
        events = _history(sfn, arn)
        for child in refine_executions(sfn, arn):
            events += _history(sfn, child)
        progress = fold(sorted(events, key=lambda event: event["timestamp"]))
        on_progress(progress)
        if described["status"] in ("SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"):
            output = json.loads(described.get("output") or "{}")
            return Outcome(arn, described["status"], progress, output, time.monotonic() - began)
        if time.monotonic() - began > timeout:
            raise TimeoutError(f"{arn} still running after {timeout:.0f} s")
        time.sleep(0.25)


def summary(stack: Deployed, outcome: Outcome) -> dict[str, Any]:
    """What the run did, as one JSON-able object (the last line ``make demo`` prints): a row
    per index and day validated (refined rows and files read back from S3, Athena's count
    from the smoke query) and per failure, the datasets ahead, the Glue runs and crawls."""
    progress, lake = outcome.progress, S3Lake(stack.bucket)
    passes = [progress.outputs.get(state) or {} for state in ("ScrapeIndices", "RetryFailed")]
    refined = [(progress.outputs.get(state) or {}).get("refined") or {} for state in REFINES]
    validated = [o for scraped in passes for o in scraped.get("validated", [])]
    counts = {key: n for phase in refined for key, n in phase.get("counts", {}).items()}
    rows = []
    for day in validated:
        athena = counts.get(f"{day['index']}/{day['dt']}")
        rows.append({
            "index": day["index"], "dt": day["dt"],
            "session": portfolio_label(date.fromisoformat(day["dt"])),
            "status": "refined" if athena == day["rows"] else "validated",
            "raw_rows": day["rows"], **_refined(lake, day_prefix((day["dt"], day["index"]))),
            "athena_count": athena, "raw": day["uri"],
            **({"kept": day["kept"]} if "kept" in day else {}),
        })  # fmt: skip
    failed = passes[0].get("failed", [])
    redone = {key for day in validated for key in (day["index"], day["uri"])}
    rows += [
        {"index": f["target"], "status": "failed", "error": f["error"]}
        for f in failed if f.get("dataset") == DAY and f["target"] not in redone
    ]  # fmt: skip
    runs = sum(1 for phase in refined if "glue_run" in phase)
    result: dict[str, Any] = {
        "status": outcome.status,
        "execution": outcome.execution_arn,
        "seconds": round(outcome.seconds, 1),
        "steps": [
            {"step": s.name, "status": s.status, "seconds": s.seconds, "retries": s.retries}
            for s in progress.steps
        ],
        "indices": rows,
        "failed": [{k: f.get(k) for k in ("target", "dataset", "error", "cause")} for f in failed],
        "ahead": [_ahead(stack, lake, a) for p in passes for a in p.get("ahead", [])],
        "glue_runs": runs,
        "crawls": runs,
        "table": f"{stack.deployment.database}.{stack.deployment.table}",
    }
    if outcome.status != "SUCCEEDED":
        failure = {"failed_state": progress.failed_state, "error": progress.error}
        result.update(failure, cause=_cause(progress))
    return result


def _ahead(stack: Deployed, lake: S3Lake, scraped: dict[str, Any]) -> dict[str, Any]:
    table = AHEAD_TABLES.get(str(scraped.get("dataset")))
    if table is None or scraped.get("status") not in {"stored", "kept"}:
        return scraped
    where = day_prefix((scraped["dt"], scraped["index"]), table.prefix)
    name = f"{stack.deployment.database}.{table.name}"
    return {**scraped, "table": name, **_refined(lake, where)}


def _refined(lake: S3Lake, prefix: str) -> dict[str, Any]:
    keys = lake.list(prefix)

    def count(key: str) -> int:
        return int(pq.read_metadata(io.BytesIO(lake.read_bytes(key))).num_rows)

    with ThreadPoolExecutor(8) as pool:  # a file per ticker: read them at once
        rows = sum(pool.map(count, keys))
    return {"refined_rows": rows, "refined_files": len(keys), "refined": lake.uri_of(prefix)}


def _cause(progress: Progress) -> str | None:
    """The cause -- a Lambda's error document read as its message -- after the list of
    everything that failed (a Map names only the iteration that failed first)."""
    cause = progress.cause
    with contextlib.suppress(ValueError, TypeError, KeyError):
        cause = json.loads(cause or "")["errorMessage"]
    listed = (progress.outputs.get("WaitBeforeRetry") or {}).get("summary")
    return f"{listed}. {cause}" if listed else cause


def _history(sfn: Any, arn: str) -> list[dict[str, Any]]:
    pages = sfn.get_paginator("get_execution_history").paginate(executionArn=arn)
    return [event for page in pages for event in page["events"]]

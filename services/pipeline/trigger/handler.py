"""Lambda handler of the S3-event trigger (EventBridge rule on ``Object Created`` under ``raw/``).

Starts one execution of the state machine named by ``STATE_MACHINE_ARN`` for each write
of a day's raw object; a duplicated event finds its execution already there, which
counts as done. A write that a running execution validates itself (the scraper's, on the
schedule path) starts nothing: the trigger reads the running executions' histories for a
Scrape summary or a Validate result pinned to exactly this object
(:func:`services.pipeline.trigger.route.coverage`), waiting a few seconds for one that is still
scraping or validating the day's index. The Scrape state exits right after its write,
so the wait only spans the scraper Lambda's return.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict
from typing import Any

import boto3
from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.data_classes import S3EventBridgeNotificationEvent

from services.pipeline import settings
from services.pipeline.lake.layout import RawDay
from services.pipeline.lambda_errors import named_errors
from services.pipeline.trigger.route import ObjectWrite, coverage, decide

logger = Logger(service="bovespa-trigger")

#: How long the trigger waits for a running Scrape/Validate of the day's index to exit.
COVERAGE_WAIT_SECONDS = 20.0
COVERAGE_POLL_SECONDS = 1.0


def covering_execution(
    sfn: Any,
    state_machine_arn: str,
    write: ObjectWrite,
    day: RawDay,
    *,
    wait: float = COVERAGE_WAIT_SECONDS,
    poll: float = COVERAGE_POLL_SECONDS,
) -> str | None:
    """The running execution whose Scrape wrote, or whose Validate pinned, exactly
    ``write``, if there is one."""
    deadline = time.monotonic() + wait
    while True:
        pending = False
        pages = sfn.get_paginator("list_executions").paginate(
            stateMachineArn=state_machine_arn, statusFilter="RUNNING"
        )
        for execution in (e for page in pages for e in page.get("executions", [])):
            verdict = coverage(_history(sfn, execution["executionArn"]), write, day)
            if verdict == "covered":
                return str(execution["executionArn"])
            pending = pending or verdict == "pending"
        if not pending or time.monotonic() > deadline:
            return None
        time.sleep(poll)


def _history(sfn: Any, execution_arn: str) -> list[dict[str, Any]]:
    pages = sfn.get_paginator("get_execution_history").paginate(executionArn=execution_arn)
    return [event for page in pages for event in page.get("events", [])]


@named_errors
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Start (or find) the execution for the raw object in ``event``; say what was done."""
    notification = S3EventBridgeNotificationEvent(event)
    logger.append_keys(event_id=notification.get_id)
    sfn = boto3.client("stepfunctions")
    machine = os.environ[settings.STATE_MACHINE_ARN_ENV]
    decision = decide(event, lambda write, day: covering_execution(sfn, machine, write, day))
    result: dict[str, Any] = asdict(decision)
    if decision.action == "start":
        try:
            started = sfn.start_execution(
                stateMachineArn=machine, name=decision.name, input=json.dumps(decision.input)
            )
            result["executionArn"] = started["executionArn"]
        except sfn.exceptions.ExecutionAlreadyExists:
            result["action"] = "duplicate"
            result["reason"] = "this write of the object already has its execution"
    logger.info("trigger decision", extra={"decision": result})
    return result

"""Lambda handler of the S3-event trigger (EventBridge rule on ``Object Created`` under ``raw/``).

Starts one execution of the state machine named by ``STATE_MACHINE_ARN`` for each raw
object dropped in the bucket; a duplicated event (same bucket, key and ETag) finds its
execution already there, which counts as done.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict
from typing import Any

import boto3
from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.data_classes import S3EventBridgeNotificationEvent

from services import settings
from services.lambda_errors import named_errors
from services.trigger.route import decide

logger = Logger(service="bovespa-trigger")


def writer_of(bucket: str, key: str) -> str | None:
    """The pipeline's metadata mark on the object, if any."""
    head = boto3.client("s3").head_object(Bucket=bucket, Key=key)
    writer: str | None = head.get("Metadata", {}).get(settings.WRITER_METADATA_KEY)
    return writer


@named_errors
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Start (or find) the execution for the raw object in ``event``; say what was done."""
    notification = S3EventBridgeNotificationEvent(event)
    logger.append_keys(event_id=notification.get_id)
    decision = decide(event, writer_of)
    result: dict[str, Any] = asdict(decision)
    if decision.action == "start":
        sfn = boto3.client("stepfunctions")
        try:
            started = sfn.start_execution(
                stateMachineArn=os.environ[settings.STATE_MACHINE_ARN_ENV],
                name=decision.name,
                input=json.dumps(decision.input),
            )
            result["executionArn"] = started["executionArn"]
        except sfn.exceptions.ExecutionAlreadyExists:
            result["action"] = "duplicate"
            result["reason"] = "this object version already has its execution"
    logger.info("trigger decision", extra={"decision": result})
    return result

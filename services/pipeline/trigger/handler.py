"""The S3-event trigger: each write of a day's inbox object (the raw layout under ``inbox/``,
or B3's CSV download: any ``inbox/…csv``) starts one execution, named from the write (its
version id, else the event's sequencer), so an event delivered twice finds its execution
(``ExecutionAlreadyExists``) and every new write, a revert to earlier bytes included,
starts its own. Nothing a writer controls (metadata, tags, bytes) keeps an object from
being processed; anything else is ignored."""

from __future__ import annotations

import hashlib
import json
import os
import re
from typing import Any

import boto3
from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.data_classes import S3EventBridgeNotificationEvent

from services.pipeline import settings
from services.pipeline.lake.layout import NotARawKey, parse_raw_key

logger = Logger(service="bovespa-trigger")

INBOX = f"{settings.INBOX_PREFIX}/"


def decide(event: dict[str, Any]) -> dict[str, Any]:
    """``{"action": "start", "name", "input"}`` for an inbox object's write, else
    ``{"action": "ignore", "reason"}``."""
    try:
        detail = S3EventBridgeNotificationEvent(event).detail
        bucket, key, raw = detail.bucket.name, detail.object.key, detail.raw_event["object"]
        write = raw.get("version-id") or raw["sequencer"]
        if not (re.fullmatch(r"[a-z0-9.-]{3,63}", bucket) and isinstance(write, str)):
            raise TypeError(f"bucket {bucket!r:.80}, version-id or sequencer not as S3 writes them")
    except (KeyError, TypeError, AttributeError) as error:
        return {"action": "ignore", "reason": f"not an S3 object event ({error!r:.300})"}
    created = event.get("source") == "aws.s3" and event.get("detail-type") == "Object Created"
    if not created or not key.startswith(INBOX):
        return {"action": "ignore", "reason": f"not an object created under {INBOX}: {key[:200]!r}"}
    try:
        day = parse_raw_key(f"{settings.RAW_PREFIX}/{key.removeprefix(INBOX)}")
        what = f"{day.index}-{day.dt.isoformat()}"
    except NotARawKey:
        if not key.lower().endswith(".csv"):
            layout = f"{INBOX}index=<INDEX>/dt=<YYYY-MM-DD>/{settings.RAW_OBJECT_NAME} or *.csv"
            return {
                "action": "ignore",
                "reason": f"{key[:200]!r} is not an inbox object ({layout})",
            }
        what = "download"
    digest = hashlib.sha256(f"{bucket}/{key}/{write}".encode()).hexdigest()[:16]
    dropped = {"uri": f"s3://{bucket}/{key}", "version": raw.get("version-id")}
    return {
        "action": "start",
        "name": f"inbox-{what}-{digest}",
        "input": {"source": "s3", "objects": [dropped]},
    }


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Start the execution for the inbox object in ``event``; say what was done."""
    decision = decide(event)
    if decision["action"] == "start":
        sfn = boto3.client("stepfunctions")
        try:
            decision["executionArn"] = sfn.start_execution(
                stateMachineArn=os.environ[settings.STATE_MACHINE_ARN_ENV],
                name=decision["name"],
                input=json.dumps(decision["input"]),
            )["executionArn"]
        except sfn.exceptions.ExecutionAlreadyExists:
            decision["action"] = "duplicate"
    logger.info("trigger decision", extra={"decision": decision})
    return decision

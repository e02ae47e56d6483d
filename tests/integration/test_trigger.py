"""The trigger handler against the emulator: one execution per write, none a writer can stop."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import pytest

from services.pipeline import settings
from services.pipeline.trigger import handler as trigger
from tests.aws_clients import aws
from tests.unit.test_trigger import s3_event

KEY = "raw/index=IBOV/dt=2025-07-10/portfolio.parquet"


def machine(definition: dict[str, Any]) -> str:
    sfn: Any = aws("stepfunctions")
    arn: str = sfn.create_state_machine(
        name=f"trigger-test-{uuid.uuid4().hex[:8]}",
        definition=json.dumps(definition),
        roleArn="arn:aws:iam::000000000000:role/bovespa-test",
    )["stateMachineArn"]
    return arn


@pytest.fixture
def state_machine(aws_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> str:
    arn = machine({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}})
    monkeypatch.setenv(settings.STATE_MACHINE_ARN_ENV, arn)
    return arn


def put(bucket: str, metadata: dict[str, str] | None = None, body: bytes = b"parquet") -> str:
    s3: Any = aws("s3")
    etag: str = s3.put_object(Bucket=bucket, Key=KEY, Body=body, Metadata=metadata or {})["ETag"]
    return etag.strip('"')


def event_for(bucket: str, etag: str, sequencer: str = "00617F08299329D189") -> dict[str, Any]:
    event = s3_event(KEY, etag, sequencer=sequencer)
    event["detail"]["bucket"]["name"] = bucket
    return event


def executions(arn: str) -> list[dict[str, Any]]:
    sfn: Any = aws("stepfunctions")
    found: list[dict[str, Any]] = sfn.list_executions(stateMachineArn=arn)["executions"]
    return found


def test_a_duplicated_event_starts_one_execution(bucket: str, state_machine: str) -> None:
    event = event_for(bucket, put(bucket))
    first = trigger.handler(event, None)
    second = trigger.handler(event, None)
    assert first["action"] == "start"
    assert second["action"] in {"duplicate", "start"}  # AWS answers an identical start idempotently
    runs = executions(state_machine)
    assert [run["name"] for run in runs] == [first["name"]]
    sfn: Any = aws("stepfunctions")
    started = json.loads(sfn.describe_execution(executionArn=runs[0]["executionArn"])["input"])
    assert started["uri"] == f"s3://{bucket}/{KEY}"


def test_metadata_claiming_the_scraper_wrote_an_upload_does_not_stop_it(
    bucket: str, state_machine: str
) -> None:
    """Anyone may set ``pipeline-writer: scraper``: the trigger reads no writer metadata."""
    forged = {settings.WRITER_METADATA_KEY: settings.WRITER_SCRAPER}
    result = trigger.handler(event_for(bucket, put(bucket, forged)), None)
    assert result["action"] == "start"
    assert [run["name"] for run in executions(state_machine)] == [result["name"]]


def test_every_new_write_of_the_key_starts_its_own_execution(
    bucket: str, state_machine: str
) -> None:
    """A, then B, then A's bytes again: three writes, three executions."""
    a = put(bucket, body=b"A")
    b = put(bucket, body=b"B")
    again = put(bucket, body=b"A")
    assert again == a  # the same bytes: the ETag cannot tell the writes apart
    for etag, sequencer in ((a, "0001"), (b, "0002"), (again, "0003")):
        assert trigger.handler(event_for(bucket, etag, sequencer), None)["action"] == "start"
    assert len(executions(state_machine)) == 3


def test_a_write_a_running_execution_validated_starts_nothing(
    bucket: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The scraper's own write: its execution's Validate pinned it, so no second execution."""
    arn = machine(
        {
            "StartAt": "Validate",
            "States": {
                # as in the Map's iterations: Validate's result under "validated"
                "Validate": {
                    "Type": "Pass",
                    "InputPath": "$.pin",
                    "ResultPath": "$.validated",
                    "Next": "Hold",
                },
                "Hold": {"Type": "Wait", "Seconds": 60, "End": True},
            },
        }
    )
    monkeypatch.setenv(settings.STATE_MACHINE_ARN_ENV, arn)
    etag = put(bucket)
    pin = {"uri": f"s3://{bucket}/{KEY}", "etag": etag, "version": "null", "index": "IBOV"}
    sfn: Any = aws("stepfunctions")
    running = sfn.start_execution(
        stateMachineArn=arn, input=json.dumps({"index": "IBOV", "pin": pin})
    )["executionArn"]
    try:
        for _ in range(50):  # until its Validate has exited
            events = sfn.get_execution_history(executionArn=running)["events"]
            if any(e["type"] == "PassStateExited" for e in events):
                break
            time.sleep(0.1)
        result = trigger.handler(event_for(bucket, etag), None)
        assert result["action"] == "ignore", result
        assert running in result["reason"]
        other = trigger.handler(event_for(bucket, put(bucket, body=b"another"), "0002"), None)
        assert other["action"] == "start"  # a write it did not validate
    finally:
        sfn.stop_execution(executionArn=running)

"""The trigger handler against the emulator: one execution per object version."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

from services import settings
from services.trigger import handler as trigger
from tests.integration.conftest import aws
from tests.unit.test_trigger import s3_event

pytestmark = pytest.mark.integration

KEY = "raw/index=IBOV/dt=2025-07-10/portfolio.parquet"


@pytest.fixture
def state_machine(aws_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> str:
    sfn: Any = aws("stepfunctions")
    arn: str = sfn.create_state_machine(
        name=f"trigger-test-{uuid.uuid4().hex[:8]}",
        definition=json.dumps({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}),
        roleArn="arn:aws:iam::000000000000:role/bovespa-test",
    )["stateMachineArn"]
    monkeypatch.setenv(settings.STATE_MACHINE_ARN_ENV, arn)
    return arn


def event_for(bucket: str, writer: str | None) -> dict[str, Any]:
    s3: Any = aws("s3")
    metadata = {settings.WRITER_METADATA_KEY: writer} if writer else {}
    etag = s3.put_object(Bucket=bucket, Key=KEY, Body=b"parquet", Metadata=metadata)["ETag"]
    event = s3_event(KEY, etag.strip('"'))
    event["detail"]["bucket"]["name"] = bucket
    return event


def executions(arn: str) -> list[dict[str, Any]]:
    sfn: Any = aws("stepfunctions")
    found: list[dict[str, Any]] = sfn.list_executions(stateMachineArn=arn)["executions"]
    return found


def test_a_duplicated_event_starts_one_execution(bucket: str, state_machine: str) -> None:
    event = event_for(bucket, writer=None)
    first = trigger.handler(event, None)
    second = trigger.handler(event, None)
    assert first["action"] == "start"
    assert second["action"] in {"duplicate", "start"}  # AWS answers an identical start idempotently
    runs = executions(state_machine)
    assert [run["name"] for run in runs] == [first["name"]]
    sfn: Any = aws("stepfunctions")
    started = json.loads(sfn.describe_execution(executionArn=runs[0]["executionArn"])["input"])
    assert started["uri"] == f"s3://{bucket}/{KEY}"


def test_the_scrapers_own_writes_start_nothing(bucket: str, state_machine: str) -> None:
    result = trigger.handler(event_for(bucket, writer=settings.WRITER_SCRAPER), None)
    assert result["action"] == "ignore"
    assert executions(state_machine) == []


def test_a_new_version_of_the_object_starts_a_new_execution(
    bucket: str, state_machine: str
) -> None:
    trigger.handler(event_for(bucket, writer=None), None)
    event = event_for(bucket, writer=None)
    event["detail"]["object"]["etag"] = "0123456789abcdef"  # another upload of the same key
    assert trigger.handler(event, None)["action"] == "start"
    assert len(executions(state_machine)) == 2

"""The trigger against a real Step Functions endpoint: one event, one execution."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

from services.pipeline import settings
from services.pipeline.trigger import handler as trigger
from tests.aws_clients import aws
from tests.unit.test_trigger import s3_event


def test_a_duplicated_event_starts_one_execution(
    aws_endpoint: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    sfn: Any = aws("stepfunctions")
    arn = sfn.create_state_machine(
        name=f"trigger-test-{uuid.uuid4().hex[:8]}",
        definition=json.dumps({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}),
        roleArn="arn:aws:iam::000000000000:role/bovespa-test",
    )["stateMachineArn"]
    monkeypatch.setenv(settings.STATE_MACHINE_ARN_ENV, arn)
    event = s3_event(version_id="3HL4kqtJlcpXroDTDmjVBH40Nrjfkd")
    first, second = trigger.handler(event, None), trigger.handler(event, None)
    assert first["action"] == "start"
    assert second["action"] in {"duplicate", "start"}  # AWS answers an identical start idempotently
    executions = sfn.list_executions(stateMachineArn=arn)["executions"]
    assert [run["name"] for run in executions] == [first["name"]]

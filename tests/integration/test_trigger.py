"""The trigger on the emulator: an inbox object starts one execution, through the rule."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import pytest

from services.deploy.deployment import TRIGGER_HANDLER, Deployment
from services.pipeline import settings
from services.pipeline.trigger import handler as trigger
from services.tool.local import deploy
from tests.aws_clients import aws
from tests.unit.test_trigger import KEY, s3_event

pytestmark = pytest.mark.network  # the trigger's package is built from its image's pins


def machine() -> str:
    """A state machine that does nothing: what is tested is how executions start."""
    sfn: Any = aws("stepfunctions")
    arn: str = sfn.create_state_machine(
        name=f"trigger-test-{uuid.uuid4().hex[:8]}",
        definition=json.dumps({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}),
        roleArn="arn:aws:iam::000000000000:role/bovespa-test",
    )["stateMachineArn"]
    return arn


def executions(arn: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = aws("stepfunctions").list_executions(stateMachineArn=arn)[
        "executions"
    ]
    return found


@pytest.fixture
def wired(aws_endpoint: str) -> tuple[str, str]:
    """The trigger function and its rule, as ``bovespa local up`` deploys them, on a
    fresh lake bucket; returns the bucket and the state machine the trigger starts."""
    deployment = Deployment(prefix=f"trigger-test-{uuid.uuid4().hex[:8]}")
    bucket, artifacts = deployment.lake_bucket, deployment.artifacts_bucket
    deploy._buckets(bucket, artifacts)
    arn = machine()
    function = deploy._function(
        deployment,
        deployment.trigger_function,
        TRIGGER_HANDLER,
        deployment.trigger_environment(arn),
        artifacts=artifacts,
    )
    deploy._inbox_rule(deployment, bucket, function)
    return bucket, arn


def test_an_inbox_object_starts_one_execution_and_a_raw_one_none(wired: tuple[str, str]) -> None:
    bucket, arn = wired
    s3: Any = aws("s3")
    s3.put_object(Bucket=bucket, Key=KEY.replace("inbox/", "raw/"), Body=b"the pipeline's own")
    # Anyone may set this metadata: the trigger reads none, so it cannot stop an upload.
    forged = {settings.WRITER_METADATA_KEY: settings.WRITER_SCRAPER}
    version = s3.put_object(Bucket=bucket, Key=KEY, Body=b"dropped", Metadata=forged)["VersionId"]
    deadline = time.monotonic() + 60
    while not executions(arn) and time.monotonic() < deadline:
        time.sleep(0.2)
    time.sleep(1)  # time for a second one, if anything were to start it
    (started,) = executions(arn)
    described = aws("stepfunctions").describe_execution(executionArn=started["executionArn"])
    execution_input = json.loads(described["input"])
    assert execution_input["uri"] == f"s3://{bucket}/{KEY}"
    # MiniStack's S3 events carry no version-id (AWS's do, on a versioned bucket): then the
    # sequencer names the execution and Validate reads the latest version.
    assert execution_input["version"] in {version, None}


def test_a_duplicated_event_starts_one_execution(
    aws_endpoint: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    arn = machine()
    monkeypatch.setenv(settings.STATE_MACHINE_ARN_ENV, arn)
    event = s3_event(version_id="3HL4kqtJlcpXroDTDmjVBH40Nrjfkd")
    first, second = trigger.handler(event, None), trigger.handler(event, None)
    assert first["action"] == "start"
    assert second["action"] in {"duplicate", "start"}  # AWS answers an identical start idempotently
    assert [run["name"] for run in executions(arn)] == [first["name"]]

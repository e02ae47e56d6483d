"""The states that describe a failed Glue run, run by the emulator's Step Functions.

GetJobRun leaves ``ErrorMessage`` out for some terminal states (TIMEOUT, STOPPED); reading
it there would be a ``States.Runtime`` error that no Catch sees, and the cause would be
lost. The emulator's runs always carry a message, so these states get their input here.
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

from services.deploy.asl import render
from services.deploy.deployment import role_arn
from services.tool.local.deploy import ACCOUNT, LOCAL, deployed
from tests.aws_clients import aws

DESCRIBING = (
    "GlueJobHasMessage?",
    "DescribeGlueJobMessage",
    "DescribeGlueJobState",
    "GlueJobFailed",
)


def describe(failed_run: dict[str, Any]) -> dict[str, Any]:
    """Run the describing states on ``failed_run`` (GetJobRun's JobRun); the execution."""
    local = deployed(LOCAL)
    full = render(LOCAL.state_machine_values(local.scraper_arn, local.validate_arn))
    part = {"StartAt": DESCRIBING[0], "States": {n: full["States"][n] for n in DESCRIBING}}
    sfn: Any = aws("stepfunctions")
    arn = sfn.create_state_machine(
        name=f"describe-glue-failure-{uuid.uuid4().hex[:8]}",
        definition=json.dumps(part),
        roleArn=role_arn("describe-glue-failure", ACCOUNT),
    )["stateMachineArn"]
    failed = {"State": failed_run["JobRunState"], "Id": failed_run["Id"], "Run": failed_run}
    execution = sfn.start_execution(
        stateMachineArn=arn,
        input=json.dumps({"refine": {"glue": {"JobRunId": failed_run["Id"], "failed": failed}}}),
    )["executionArn"]
    for _ in range(100):
        described: dict[str, Any] = sfn.describe_execution(executionArn=execution)
        if described["status"] != "RUNNING":
            return described
        time.sleep(0.1)
    raise AssertionError(f"{execution} still running")


def test_a_run_without_an_error_message_still_fails_the_glue_step_with_a_cause(
    aws_endpoint: str,
) -> None:
    outcome = describe({"Id": "jr_0123", "JobRunState": "TIMEOUT", "Timeout": 30})
    assert outcome["status"] == "FAILED"
    assert outcome["error"] == "Glue.TIMEOUT"
    assert outcome["cause"] == "the Glue job run jr_0123 ended TIMEOUT without an error message"


def test_a_run_with_an_error_message_keeps_it_as_the_cause(aws_endpoint: str) -> None:
    outcome = describe(
        {"Id": "jr_0456", "JobRunState": "FAILED", "ErrorMessage": "NoSuchBucket: lake"}
    )
    assert (outcome["status"], outcome["error"], outcome["cause"]) == (
        "FAILED",
        "Glue.FAILED",
        "NoSuchBucket: lake",
    )

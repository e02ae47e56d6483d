"""The local deployment and the Pulumi program deploy the same pipeline.

The local side is read back from the emulator after a real deployment; the AWS side is
what the Pulumi program declares under mocks, with the same prefix and poll settings.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from services.tool.local.deploy import LOCAL, deploy
from services.tool.local.recorder import APP_ID_ENV
from tests.aws_clients import aws
from tests.pulumi_mocks import run_program

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

#: What only the AWS job needs: Spark engine, its code package, Glue's own options.
AWS_ONLY_ARGUMENTS = {
    "--engine", "--extra-py-files", "--additional-python-modules", "--enable-metrics",
    "--job-language",
}  # fmt: skip


def test_same_definition_event_pattern_and_job_arguments(aws_endpoint: str) -> None:
    local = deploy(LOCAL)
    cloud = run_program()
    (cloud_bucket,) = [
        d.inputs["bucketPrefix"] + "20251123"
        for d in cloud.of_type("aws:s3/bucket:Bucket")
        if d.name.endswith("-lake")
    ]

    sfn: Any = aws("stepfunctions")
    deployed = sfn.describe_state_machine(stateMachineArn=local.state_machine_arn)
    declared = cloud.one("aws:sfn/stateMachine:StateMachine").inputs
    assert json.loads(deployed["definition"]) == json.loads(declared["definition"])
    assert deployed["type"] == declared["type"] == "STANDARD"

    events: Any = aws("events")
    local_pattern = json.loads(events.describe_rule(Name=LOCAL.raw_object_rule)["EventPattern"])
    cloud_pattern = json.loads(
        cloud.one("aws:cloudwatch/eventRule:EventRule").inputs["eventPattern"]
    )
    assert local_pattern["detail"]["bucket"]["name"] == [local.bucket]
    assert cloud_pattern["detail"]["bucket"]["name"] == [cloud_bucket]
    assert json.dumps(local_pattern).replace(local.bucket, "BUCKET") == json.dumps(
        cloud_pattern
    ).replace(cloud_bucket, "BUCKET")

    glue: Any = aws("glue")
    local_arguments = {
        k: v
        for k, v in glue.get_job(JobName=LOCAL.glue_job)["Job"]["DefaultArguments"].items()
        if k != f"--{APP_ID_ENV}"  # local only: names the job in its calls
    }
    cloud_arguments = cloud.one("aws:glue/job:Job").inputs["defaultArguments"]
    shared = {k: v for k, v in cloud_arguments.items() if k not in AWS_ONLY_ARGUMENTS}
    assert json.dumps(local_arguments, sort_keys=True).replace(
        local.bucket, "BUCKET"
    ) == json.dumps(shared, sort_keys=True).replace(cloud_bucket, "BUCKET")
    assert cloud_arguments["--engine"] == "glue"


def test_same_function_limits(aws_endpoint: str) -> None:
    """Each function's timeout and memory on the emulator are those the program declares."""
    deploy(LOCAL)
    cloud = run_program()
    aws_lambda: Any = aws("lambda")
    for declared in cloud.of_type("aws:lambda/function:Function"):
        name = declared.inputs["name"]
        local = aws_lambda.get_function_configuration(FunctionName=name)
        assert (local["Timeout"], local["MemorySize"]) == (
            declared.inputs["timeout"],
            declared.inputs["memorySize"],
        ), name

"""The local deployment and the Pulumi program deploy the same pipeline.

The local side is read back from the emulator after a real deployment; the AWS side is
what the Pulumi program declares under mocks, with the same prefix.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from services.tool.local.deploy import LOCAL, deploy
from services.tool.local.recorder import APP_ID_ENV
from services.tool.local.sync import without_sync
from tests.aws_clients import aws
from tests.pulumi_mocks import run_program

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

#: What only the AWS job needs: Spark engine, its code package, Glue's own options (metrics,
#: its log groups).
AWS_ONLY_ARGUMENTS = {
    "--engine", "--extra-py-files", "--additional-python-modules", "--enable-metrics",
    "--job-language", "--custom-logGroup-prefix",
}  # fmt: skip


def lower_first(value: Any) -> Any:
    """``value`` with every key as Pulumi spells it (``S3Targets`` -> ``s3Targets``)."""
    if isinstance(value, dict):
        return {k[0].lower() + k[1:]: lower_first(v) for k, v in value.items()}
    if isinstance(value, list):
        return [lower_first(v) for v in value]
    return value


def test_same_definitions_event_pattern_crawler_and_job_arguments(aws_endpoint: str) -> None:
    local = deploy(LOCAL)
    cloud = run_program()
    (cloud_bucket,) = [
        d.inputs["bucketPrefix"] + "20251123"
        for d in cloud.of_type("aws:s3/bucket:Bucket")
        if d.name.endswith("-lake")
    ]

    # Both machines; locally the refine machine's .sync Tasks are their start and poll
    # calls (MiniStack runs no .sync integration), and that is the only difference.
    sfn: Any = aws("stepfunctions")
    for name, local_only in (
        (LOCAL.state_machine, lambda d: d),
        (LOCAL.refine_state_machine, without_sync),
    ):
        arn = local.state_machine_arn.replace(LOCAL.state_machine, name)
        deployed = sfn.describe_state_machine(stateMachineArn=arn)
        declared = cloud.one("aws:sfn/stateMachine:StateMachine", name).inputs
        assert json.loads(deployed["definition"]) == local_only(json.loads(declared["definition"]))
        assert deployed["type"] == declared["type"] == "STANDARD"

    events: Any = aws("events")
    local_pattern = json.loads(events.describe_rule(Name=LOCAL.inbox_rule)["EventPattern"])
    cloud_pattern = json.loads(
        cloud.one("aws:cloudwatch/eventRule:EventRule", LOCAL.inbox_rule).inputs["eventPattern"]
    )
    assert local_pattern["detail"]["bucket"]["name"] == [local.bucket]
    assert local_pattern["detail"]["object"]["key"] == [{"prefix": "inbox/"}]
    assert json.dumps(local_pattern).replace(local.bucket, "BUCKET") == json.dumps(
        cloud_pattern
    ).replace(cloud_bucket, "BUCKET")

    glue: Any = aws("glue")
    crawler = glue.get_crawler(Name=LOCAL.crawler)["Crawler"]
    declared_crawler = cloud.one("aws:glue/crawler:Crawler").inputs
    fields = ("TablePrefix", "SchemaChangePolicy", "RecrawlPolicy", "DatabaseName")
    assert lower_first({k: crawler[k] for k in fields}) == {
        k: declared_crawler[k] for k in lower_first({k: None for k in fields})
    }
    local_targets = json.dumps(lower_first(crawler["Targets"]["S3Targets"]), sort_keys=True)
    assert local_targets.replace(local.bucket, "BUCKET") == json.dumps(
        declared_crawler["s3Targets"], sort_keys=True
    ).replace(cloud_bucket, "BUCKET")

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

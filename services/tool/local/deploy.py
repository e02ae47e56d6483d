"""Deploy the pipeline onto the local emulator, from the same description as the Pulumi program
(:class:`services.deploy.deployment.Deployment`, :func:`services.deploy.asl.render`); what
differs from AWS, and why: docs/emulator.md. Deploying again updates only what changed (an
updated function loses its warm workers)."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import boto3

from glue import catalog
from glue.arguments import PROCESSING_DATE, flag
from glue.schema import TABLES
from services.deploy.asl import PIPELINE, REFINE, all_states, render
from services.deploy.deployment import (
    SCRAPER_HANDLER,
    TRIGGER_HANDLER,
    VALIDATE_HANDLER,
    Deployment,
    athena_results_location,
    role_arn,
    state_machine_arn,
)
from services.pipeline import settings
from services.pipeline.b3.calendar import SAO_PAULO, to_sao_paulo
from services.tool.local.packages import CLOCK_ENV, RUNTIME, function_zip
from services.tool.local.recorder import APP_ID_ENV
from services.tool.local.sync import without_sync

ACCOUNT = "000000000000"
REGION = settings.EMULATOR_REGION
LAUNCHER = settings.REPO_ROOT / "glue" / "local_launcher.py"

#: The local deployment: the scraper tries each page once itself, so that B3 outages show
#: as retries in the execution history.
LOCAL = Deployment(prefix="bovespa-local", scraper_http_attempts=1)


@dataclass(frozen=True)
class Deployed:
    """What was deployed: the names and ARNs a run needs."""

    deployment: Deployment
    bucket: str
    artifacts_bucket: str
    state_machine_arn: str
    scraper_arn: str
    validate_arn: str
    trigger_arn: str

    @property
    def lake_uri(self) -> str:
        return f"s3://{self.bucket}"


def deployed(deployment: Deployment = LOCAL) -> Deployed:
    d = deployment
    functions = (d.scraper_function, d.validate_function, d.trigger_function)
    arns = (d.function_arn(f, REGION, ACCOUNT) for f in functions)
    machine = state_machine_arn(d.state_machine, REGION, ACCOUNT)
    return Deployed(d, d.lake_bucket, d.artifacts_bucket, machine, *arns)


def deploy(
    deployment: Deployment = LOCAL, *, b3_base_url: str | None = None, now: datetime | None = None
) -> Deployed:
    """Create or update every resource of the pipeline in the emulator; ``now`` freezes the
    clock of this deployment (deploying again without it puts the real clock back)."""
    stack = deployed(deployment)
    bucket, artifacts = stack.bucket, deployment.artifacts_bucket
    _buckets(bucket, artifacts)
    scraper_env = deployment.scraper_environment(bucket)
    validate_env = deployment.validate_environment(bucket)
    if b3_base_url:
        scraper_env[settings.B3_BASE_URL_ENV] = b3_base_url
    job_arguments = deployment.glue_job_arguments(bucket)
    if now is not None:
        frozen = to_sao_paulo(now)
        scraper_env[CLOCK_ENV] = validate_env[CLOCK_ENV] = frozen.isoformat()
        job_arguments[flag(PROCESSING_DATE)] = frozen.date().isoformat()
    scraper = _function(deployment, deployment.scraper_function, SCRAPER_HANDLER, scraper_env)
    validate = _function(deployment, deployment.validate_function, VALIDATE_HANDLER, validate_env)
    trigger_env = deployment.trigger_environment(stack.state_machine_arn)
    trigger = _function(deployment, deployment.trigger_function, TRIGGER_HANDLER, trigger_env)
    events, rule = _client("events"), deployment.inbox_rule
    pattern = json.dumps(deployment.inbox_event_pattern(bucket))
    events.put_rule(Name=rule, EventPattern=pattern, State="ENABLED")
    events.put_targets(Rule=rule, Targets=[{"Id": "trigger", "Arn": trigger}])
    _glue(deployment, bucket, artifacts, job_arguments)
    _athena(deployment, artifacts)
    refine = deployment.refine_state_machine
    _state_machine(refine, without_sync(render(REFINE, deployment.refine_values())))
    refine_arn = state_machine_arn(refine, REGION, ACCOUNT)
    pipeline = render(PIPELINE, deployment.pipeline_values(scraper, validate, refine_arn))
    for _, state in all_states(pipeline):
        if state["Type"] == "Map":  # its functions share this machine's cores: one at a time
            state["MaxConcurrency"] = 1
    _state_machine(deployment.state_machine, pipeline)
    return stack


def served_at(body: bytes) -> datetime:
    """When a replay of B3's ``body`` pretends to run (the local functions' clock): 08:00
    in São Paulo, the schedule's hour, on the session its header names."""
    served = datetime.strptime(json.loads(body)["header"]["date"], "%d/%m/%y")
    return served.replace(hour=8, tzinfo=SAO_PAULO)


def _client(service: str) -> Any:
    return boto3.client(service, region_name=REGION)


def _upsert(create: Callable[[], Any], exists: type[Exception], update: Callable[[], Any]) -> Any:
    try:
        return create()
    except exists:
        return update()


def _buckets(bucket: str, artifacts: str) -> None:
    s3 = _client("s3")
    exists = (s3.exceptions.BucketAlreadyOwnedByYou, s3.exceptions.BucketAlreadyExists)
    for name in (bucket, artifacts):
        with contextlib.suppress(*exists):
            s3.create_bucket(Bucket=name)
    # As on AWS (infra/storage.py): versioned, so the job reads the version Validate passed.
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    s3.put_bucket_notification_configuration(
        Bucket=bucket, NotificationConfiguration={"EventBridgeConfiguration": {}}
    )


def _function(deployment: Deployment, name: str, handler: str, environment: dict[str, str]) -> str:
    aws_lambda, s3 = _client("lambda"), _client("s3")
    limits, package = deployment.function_limits(name), function_zip(handler)
    digest = hashlib.sha256(package)
    # Through S3, as AWS needs for a zip over 50 MB; named by content, uploaded once.
    code = {"S3Bucket": deployment.artifacts_bucket, "S3Key": f"lambda/{digest.hexdigest()}.zip"}
    listed = s3.list_objects_v2(Bucket=code["S3Bucket"], Prefix=code["S3Key"])
    if not listed.get("KeyCount"):
        s3.put_object(Bucket=code["S3Bucket"], Key=code["S3Key"], Body=package)
    config: dict[str, Any] = {
        "Role": role_arn(name, ACCOUNT),
        "Handler": handler,
        "Runtime": RUNTIME,
        "Timeout": limits.timeout_seconds,  # MiniStack enforces it
        "MemorySize": limits.memory_mb,
        # Local only: the function names itself in its AWS calls (services.tool.local.recorder).
        "Environment": {"Variables": {**environment, APP_ID_ENV: name}},
    }
    with contextlib.suppress(aws_lambda.exceptions.ResourceNotFoundException):
        current = aws_lambda.get_function_configuration(FunctionName=name)
        if current["CodeSha256"] != base64.b64encode(digest.digest()).decode():
            aws_lambda.update_function_code(FunctionName=name, **code)
        if any(current.get(key) != value for key, value in config.items()):
            aws_lambda.update_function_configuration(FunctionName=name, **config)
        return str(current["FunctionArn"])
    return str(aws_lambda.create_function(FunctionName=name, Code=code, **config)["FunctionArn"])


def _glue(deployment: Deployment, bucket: str, artifacts: str, arguments: dict[str, str]) -> None:
    glue = _client("glue")
    script = "glue/local_launcher.py"
    _client("s3").put_object(Bucket=artifacts, Key=script, Body=LAUNCHER.read_bytes())
    job = {
        "Role": role_arn(deployment.glue_job, ACCOUNT),
        "Command": {
            "Name": "pythonshell",
            "ScriptLocation": f"s3://{artifacts}/{script}",
            "PythonVersion": "3.9",
        },
        # MiniStack hands a pythonshell job its arguments as environment variables.
        "DefaultArguments": {**arguments, f"--{APP_ID_ENV}": deployment.glue_job},
        "MaxRetries": 0,
        "Timeout": 600,  # MiniStack reads it as seconds (at most 600) for pythonshell
    }
    _upsert(
        lambda: glue.create_job(Name=deployment.glue_job, **job),
        glue.exceptions.AlreadyExistsException,
        lambda: glue.update_job(JobName=deployment.glue_job, JobUpdate=job),
    )
    catalog.ensure_database(glue, deployment.database)
    for name, table in zip(deployment.tables, TABLES, strict=True):  # the day's, then ahead's
        location = f"s3://{bucket}/{table.prefix}/"
        catalog.upsert_table(glue, deployment.database, name, location, table)
    crawler = {
        "Name": deployment.crawler,
        "Role": role_arn(deployment.crawler, ACCOUNT),
        "DatabaseName": deployment.database,
        "Targets": deployment.crawler_targets(bucket),
        "TablePrefix": deployment.crawler_table_prefix,
        "SchemaChangePolicy": Deployment.CRAWLER_SCHEMA_CHANGE_POLICY,
        "RecrawlPolicy": Deployment.CRAWLER_RECRAWL_POLICY,
    }
    # The crawler's and the workgroup's settings follow from the deployment's names alone.
    with contextlib.suppress(glue.exceptions.AlreadyExistsException):
        glue.create_crawler(**crawler)


def _athena(deployment: Deployment, artifacts: str) -> None:
    athena = _client("athena")
    results = {"OutputLocation": athena_results_location(artifacts)}
    config = {"ResultConfiguration": results, "EnforceWorkGroupConfiguration": True}
    with contextlib.suppress(athena.exceptions.InvalidRequestException):  # it exists
        athena.create_work_group(Name=deployment.workgroup, Configuration=config)


def _state_machine(name: str, definition: dict[str, Any]) -> None:
    sfn = _client("stepfunctions")
    text, role = json.dumps(definition), role_arn(name, ACCOUNT)
    _upsert(
        lambda: sfn.create_state_machine(name=name, definition=text, roleArn=role),
        sfn.exceptions.StateMachineAlreadyExists,
        lambda: sfn.update_state_machine(
            stateMachineArn=state_machine_arn(name, REGION, ACCOUNT), definition=text, roleArn=role
        ),
    )

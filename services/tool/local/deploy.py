"""Deploy the pipeline onto the local emulator, from the same description as the Pulumi program.

What differs from AWS, and why (see docs/emulator.md, "What the emulator does"):

* the functions are zip packages instead of container images, each built from its image's
  requirements file and Dockerfile and run by the runtime client the images run
  (:mod:`services.tool.local.packages`);
* the Glue job is a ``pythonshell`` job running ``glue/local_launcher.py``, which runs the
  real PySpark job in the emulator's warm local Spark session
  (:mod:`services.tool.local.glue_runtime`; MiniStack does not run ``glueetl`` jobs);
* the emulator runs every wait and retry interval at 1/100 of its time (``SFN_WAIT_SCALE``),
  and ``.sync`` Tasks as their start call and poll loop (:mod:`services.tool.local.sync`);
* a test may freeze the clock (``now``): the functions then judge dates at that instant
  (``BOVESPA_NOW``) and the Glue job uses its São Paulo date as the processing date.

Everything else — names, the state machine definition, the event pattern, the job's
arguments, the crawler's catalog target, the refined table — comes from
:class:`services.deploy.deployment.Deployment` and :func:`services.deploy.asl.render`, exactly as
for AWS. Deploying again updates what exists.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any

import boto3
import botocore.exceptions

from glue import catalog
from glue.arguments import PROCESSING_DATE, flag
from glue.schema import TABLES
from services.deploy.asl import PIPELINE, REFINE, render
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
from services.pipeline.b3.calendar import to_sao_paulo
from services.tool.local.packages import RUNTIME, function_zip
from services.tool.local.recorder import APP_ID_ENV
from services.tool.local.sync import without_sync

ACCOUNT = "000000000000"
REGION = settings.EMULATOR_REGION
LAUNCHER = settings.REPO_ROOT / "glue" / "local_launcher.py"

#: The local deployment: the scraper tries each page once itself, so that B3 outages show
#: as retries in the execution history (the emulator scales the waits: ``SFN_WAIT_SCALE``).
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


def deploy(
    deployment: Deployment = LOCAL,
    *,
    b3_base_url: str | None = None,
    now: datetime | None = None,
) -> Deployed:
    """Create or update every resource of the pipeline in the emulator.

    ``now`` freezes the clock of this deployment (tests); deploying again without it
    puts the real clock back.
    """
    bucket, artifacts = deployment.lake_bucket, deployment.artifacts_bucket
    machine_arn = deployment.state_machine_arn(REGION, ACCOUNT)
    _buckets(bucket, artifacts)
    scraper_env = deployment.scraper_environment(bucket)
    validate_env = deployment.validate_environment(bucket)
    if b3_base_url:
        scraper_env[settings.B3_BASE_URL_ENV] = b3_base_url
    job_arguments = deployment.glue_job_arguments(bucket)
    if now is not None:
        frozen = to_sao_paulo(now)
        scraper_env[settings.CLOCK_ENV] = validate_env[settings.CLOCK_ENV] = frozen.isoformat()
        job_arguments[flag(PROCESSING_DATE)] = frozen.date().isoformat()
    function = partial(_function, deployment, artifacts=artifacts)
    scraper = function(deployment.scraper_function, SCRAPER_HANDLER, scraper_env)
    validate = function(deployment.validate_function, VALIDATE_HANDLER, validate_env)
    trigger_env = deployment.trigger_environment(machine_arn)
    trigger = function(deployment.trigger_function, TRIGGER_HANDLER, trigger_env)
    _inbox_rule(deployment, bucket, trigger)
    _glue(deployment, bucket, artifacts, job_arguments)
    _athena(deployment, artifacts)
    refine = deployment.refine_state_machine
    _state_machine(refine, without_sync(render(REFINE, deployment.refine_values())))
    refine_arn = state_machine_arn(refine, REGION, ACCOUNT)
    pipeline = render(PIPELINE, deployment.pipeline_values(scraper, validate, refine_arn))
    _state_machine(deployment.state_machine, pipeline)
    return Deployed(deployment, bucket, artifacts, machine_arn, scraper, validate, trigger)


def deployed(deployment: Deployment = LOCAL) -> Deployed:
    """The names and ARNs of what :func:`deploy` made, without deploying again."""
    return Deployed(
        deployment,
        deployment.lake_bucket,
        deployment.artifacts_bucket,
        deployment.state_machine_arn(REGION, ACCOUNT),
        *(
            deployment.function_arn(name, REGION, ACCOUNT)
            for name in (
                deployment.scraper_function,
                deployment.validate_function,
                deployment.trigger_function,
            )
        ),
    )


def _client(service: str) -> Any:
    return boto3.client(service, region_name=REGION)


def _buckets(bucket: str, artifacts: str) -> None:
    s3 = _client("s3")
    for name in (bucket, artifacts):
        with contextlib.suppress(
            s3.exceptions.BucketAlreadyOwnedByYou, s3.exceptions.BucketAlreadyExists
        ):
            s3.create_bucket(Bucket=name)
    # As on AWS (infra/storage.py): the lake is versioned, so the job can read exactly the
    # version of a raw object that Validate passed.
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    s3.put_bucket_notification_configuration(
        Bucket=bucket, NotificationConfiguration={"EventBridgeConfiguration": {}}
    )


def _function(
    deployment: Deployment, name: str, handler: str, environment: dict[str, str], artifacts: str
) -> str:
    aws_lambda = _client("lambda")
    limits = deployment.function_limits(name)
    package = function_zip(handler)
    digest = hashlib.sha256(package)
    # Through S3, as AWS needs for a zip over 50 MB (the scraper's is larger); named by
    # content, so deploying unchanged code uploads and replaces nothing.
    code = {"S3Bucket": artifacts, "S3Key": f"lambda/{name}/{digest.hexdigest()[:16]}.zip"}
    s3 = _client("s3")
    try:
        s3.head_object(Bucket=artifacts, Key=code["S3Key"])
    except botocore.exceptions.ClientError:
        s3.put_object(Bucket=artifacts, Key=code["S3Key"], Body=package)
    config: dict[str, Any] = {
        "Role": role_arn(name, ACCOUNT),
        "Handler": handler,
        # A bootstrap running AWS's runtime interface client on the emulator's Python (the
        # one the package was built for), so errors are named as on AWS (packages.RUNTIME).
        "Runtime": RUNTIME,
        # As on AWS (infra/functions.py): MiniStack enforces the timeout.
        "Timeout": limits.timeout_seconds,
        "MemorySize": limits.memory_mb,
        # Local only: the function names itself in its AWS calls (services.tool.local.recorder).
        "Environment": {"Variables": {**environment, APP_ID_ENV: name}},
    }
    try:
        arn: str = aws_lambda.create_function(FunctionName=name, Code=code, **config)["FunctionArn"]
    except aws_lambda.exceptions.ResourceConflictException:
        deployed = aws_lambda.get_function_configuration(FunctionName=name)["CodeSha256"]
        if deployed != base64.b64encode(digest.digest()).decode():
            aws_lambda.update_function_code(FunctionName=name, **code)
        arn = aws_lambda.update_function_configuration(FunctionName=name, **config)["FunctionArn"]
    return arn


def _inbox_rule(deployment: Deployment, bucket: str, trigger_arn: str) -> None:
    events = _client("events")
    events.put_rule(
        Name=deployment.inbox_rule,
        EventPattern=json.dumps(deployment.inbox_event_pattern(bucket)),
        State="ENABLED",
    )
    events.put_targets(Rule=deployment.inbox_rule, Targets=[{"Id": "trigger", "Arn": trigger_arn}])


def _glue(deployment: Deployment, bucket: str, artifacts: str, arguments: dict[str, str]) -> None:
    glue = _client("glue")
    script_key = "glue/local_launcher.py"
    _client("s3").put_object(Bucket=artifacts, Key=script_key, Body=LAUNCHER.read_bytes())
    job = {
        "Role": role_arn(deployment.glue_job, ACCOUNT),
        "Command": {
            "Name": "pythonshell",
            "ScriptLocation": f"s3://{artifacts}/{script_key}",
            "PythonVersion": "3.9",
        },
        # Local only: MiniStack hands a pythonshell job its arguments as environment
        # variables, so the job names itself in its AWS calls (services.tool.local.recorder).
        "DefaultArguments": {**arguments, f"--{APP_ID_ENV}": deployment.glue_job},
        "MaxRetries": 0,
        # MiniStack reads Timeout as seconds (capped at 600) for pythonshell scripts.
        "Timeout": 600,
    }
    try:
        glue.create_job(Name=deployment.glue_job, **job)
    except glue.exceptions.AlreadyExistsException:
        glue.update_job(JobName=deployment.glue_job, JobUpdate=job)
    catalog.ensure_database(glue, deployment.database)
    for name, table in zip(deployment.tables, TABLES, strict=True):  # the day's, then ahead's
        catalog.upsert_table(
            glue, deployment.database, name, f"s3://{bucket}/{table.prefix}/", table
        )
    crawler = {
        "Role": role_arn(deployment.crawler, ACCOUNT),
        "DatabaseName": deployment.database,
        "Targets": deployment.crawler_targets(bucket),
        "TablePrefix": deployment.crawler_table_prefix,
        "SchemaChangePolicy": Deployment.CRAWLER_SCHEMA_CHANGE_POLICY,
        "RecrawlPolicy": Deployment.CRAWLER_RECRAWL_POLICY,
    }
    try:
        glue.create_crawler(Name=deployment.crawler, **crawler)
    except glue.exceptions.AlreadyExistsException:
        glue.update_crawler(Name=deployment.crawler, **crawler)


def _athena(deployment: Deployment, artifacts: str) -> None:
    athena = _client("athena")
    configuration = {
        "ResultConfiguration": {"OutputLocation": athena_results_location(artifacts)},
        "EnforceWorkGroupConfiguration": True,
    }
    try:
        athena.create_work_group(Name=deployment.workgroup, Configuration=configuration)
    except athena.exceptions.InvalidRequestException:
        athena.update_work_group(
            WorkGroup=deployment.workgroup,
            ConfigurationUpdates={
                "ResultConfigurationUpdates": configuration["ResultConfiguration"],
                "EnforceWorkGroupConfiguration": True,
            },
        )


def _state_machine(name: str, definition: dict[str, Any]) -> None:
    sfn = _client("stepfunctions")
    text, role = json.dumps(definition), role_arn(name, ACCOUNT)
    try:
        sfn.create_state_machine(name=name, definition=text, roleArn=role, type="STANDARD")
    except sfn.exceptions.StateMachineAlreadyExists:
        sfn.update_state_machine(
            stateMachineArn=state_machine_arn(name, REGION, ACCOUNT), definition=text, roleArn=role
        )

"""The Pulumi program: one stack of the pipeline, built from a few components.

Reading order: ``Storage`` (buckets) → ``Functions`` (images, Lambdas) → ``Etl`` (Glue
job, tables, crawler) → ``Analytics`` (Athena) → ``Orchestration`` (the pipeline and
refine state machines, the inbox rule, the schedule) → ``Monitoring`` (alarms). Names
come from ``services/deploy/deployment.py``, shared with the local deployment.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from infra.analytics import Analytics, AnalyticsArgs
from infra.config import StackConfig, load
from infra.etl import CRAWLER_LOG_GROUP, Etl, EtlArgs, build_job_code, resource_exists
from infra.functions import Functions, FunctionsArgs
from infra.monitoring import Monitoring, MonitoringArgs
from infra.orchestration import Orchestration, OrchestrationArgs
from infra.storage import Storage, StorageArgs


@dataclass(frozen=True)
class Components:
    """The components of one stack, as :func:`build` declared them."""

    storage: Storage
    functions: Functions
    etl: Etl
    analytics: Analytics
    orchestration: Orchestration
    monitoring: Monitoring


@dataclass(frozen=True)
class Where:
    """The account and region the stack deploys to (its ARNs are built from them)."""

    account: str
    region: str


def build(config: StackConfig) -> Components:
    """Declare every resource of the stack."""
    where = Where(aws.get_caller_identity().account_id, aws.get_region().region)
    storage = Storage(f"{config.prefix}-storage", StorageArgs(config.deployment))
    functions = _functions(config, where, storage)
    etl = _etl(config, where, storage)
    analytics = _analytics(config, storage, etl)
    orchestration = _orchestration(config, where, storage, functions, etl, analytics)
    monitoring = _monitoring(config, functions, orchestration)
    _exports(config, where, storage, analytics, orchestration, monitoring)
    return Components(storage, functions, etl, analytics, orchestration, monitoring)


def _functions(config: StackConfig, where: Where, storage: Storage) -> Functions:
    deployment = config.deployment
    return Functions(
        f"{config.prefix}-functions",
        FunctionsArgs(
            deployment=deployment,
            lake_bucket=storage.lake.bucket,
            lake_arn=storage.lake.arn,
            state_machine_arn=deployment.state_machine_arn(where.region, where.account),
            log_retention_days=config.log_retention_days,
            image_history=config.image_history,
        ),
    )


def _etl(config: StackConfig, where: Where, storage: Storage) -> Etl:
    deployment = config.deployment
    return Etl(
        f"{config.prefix}-etl",
        EtlArgs(
            deployment=deployment,
            lake_bucket=storage.lake.bucket,
            lake_arn=storage.lake.arn,
            artifacts_bucket=storage.artifacts.bucket,
            artifacts_arn=storage.artifacts.arn,
            worker_type=config.glue_worker_type,
            workers=config.glue_workers,
            timeout_minutes=config.glue_timeout_minutes,
            database_exists=resource_exists("AWS::Glue::Database", deployment.database),
            # Each execution runs the job once for all its indices (the schedule's, files
            # dropped under inbox/, redrives): as many at once as indices, more queue.
            max_concurrent_runs=len(deployment.indices),
            log_retention_days=config.log_retention_days,
            crawler_logs_exist=resource_exists("AWS::Logs::LogGroup", CRAWLER_LOG_GROUP),
            account=where.account,
            region=where.region,
            code=build_job_code(),
        ),
    )


def _analytics(config: StackConfig, storage: Storage, etl: Etl) -> Analytics:
    return Analytics(
        f"{config.prefix}-analytics",
        AnalyticsArgs(
            deployment=config.deployment,
            results_location=storage.athena_results,
            bytes_scanned_cutoff=config.athena_bytes_scanned_cutoff,
            depends_on=(etl.table,),
        ),
    )


def _orchestration(
    config: StackConfig,
    where: Where,
    storage: Storage,
    functions: Functions,
    etl: Etl,
    analytics: Analytics,
) -> Orchestration:
    return Orchestration(
        f"{config.prefix}-workflow",
        OrchestrationArgs(
            deployment=config.deployment,
            account=where.account,
            region=where.region,
            lake_bucket=storage.lake.bucket,
            lake_arn=storage.lake.arn,
            artifacts_arn=storage.artifacts.arn,
            scraper_arn=functions.scraper.arn,
            validate_arn=functions.validate.arn,
            trigger_arn=functions.trigger.arn,
            trigger_name=functions.trigger.name,
            glue_job_arn=etl.job.arn,
            crawler_arn=etl.crawler.arn,
            workgroup_arn=analytics.workgroup.arn,
            schedule_cron=config.schedule_cron,
            schedule_timezone=config.schedule_timezone,
            log_retention_days=config.log_retention_days,
        ),
    )


def _monitoring(
    config: StackConfig, functions: Functions, orchestration: Orchestration
) -> Monitoring:
    return Monitoring(
        f"{config.prefix}-monitoring",
        MonitoringArgs(
            prefix=config.prefix,
            state_machine_arn=orchestration.state_machine.arn,
            function_names=[
                functions.scraper.name,
                functions.validate.name,
                functions.trigger.name,
            ],
            alarm_email=config.alarm_email,
        ),
    )


def _exports(
    config: StackConfig,
    where: Where,
    storage: Storage,
    analytics: Analytics,
    orchestration: Orchestration,
    monitoring: Monitoring,
) -> None:
    region = where.region
    console = f"https://{region}.console.aws.amazon.com"
    pulumi.export("lake_bucket", storage.lake.bucket)
    pulumi.export("artifacts_bucket", storage.artifacts.bucket)
    pulumi.export("state_machine_arn", orchestration.state_machine.arn)
    pulumi.export(
        "state_machine_console",
        orchestration.state_machine.arn.apply(
            lambda arn: f"{console}/states/home?region={region}#/statemachines/view/{arn}"
        ),
    )
    pulumi.export(
        "athena_console",
        analytics.workgroup.name.apply(
            lambda wg: f"{console}/athena/home?region={region}#/query-editor?workgroup={wg}"
        ),
    )
    deployment = config.deployment
    pulumi.export("refined_table", f"{deployment.database}.{deployment.table}")
    pulumi.export("alarm_topic", monitoring.topic.arn)


def main() -> None:
    build(load())

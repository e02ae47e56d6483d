"""Orchestration: the state machine, the S3-event rule to the trigger, and the daily schedule.

The Pulumi component that deploys the state machine; ``services/deploy/asl.py`` renders its
definition (the same for AWS and for the local deployment).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from infra.policies import ServiceRole, allow, confused_deputy, role
from services.deploy.asl import render_json
from services.deploy.deployment import (
    ATHENA_RESULTS_PREFIX,
    Deployment,
    regional_arn,
    state_machine_arn,
)
from services.pipeline import settings

#: Log delivery and X-Ray calls that AWS does not let a policy scope to a resource.
UNSCOPABLE = [
    "logs:CreateLogDelivery", "logs:GetLogDelivery", "logs:UpdateLogDelivery",
    "logs:DeleteLogDelivery", "logs:ListLogDeliveries", "logs:PutResourcePolicy",
    "logs:DescribeResourcePolicies", "logs:DescribeLogGroups",
    "xray:PutTraceSegments", "xray:PutTelemetryRecords", "xray:GetSamplingRules",
    "xray:GetSamplingTargets",
]  # fmt: skip


#: What Athena asks the Glue catalogue, as the state machine, for the smoke query
#: ("Configure access to databases and tables in the AWS Glue Data Catalog", Athena).
ATHENA_CATALOG_ACTIONS = [
    "glue:GetDatabase", "glue:GetTable", "glue:GetPartition", "glue:GetPartitions",
    "glue:BatchGetPartition",
]  # fmt: skip


#: The smoke query's calls to Athena, on the workgroup.
ATHENA_QUERY_ACTIONS = [
    "athena:StartQueryExecution", "athena:GetQueryExecution", "athena:GetQueryResults",
]  # fmt: skip
#: Athena writes the smoke query's results, as the state machine, under athena-results/.
ATHENA_RESULTS_ACTIONS = [
    "s3:GetObject", "s3:PutObject", "s3:ListBucket", "s3:GetBucketLocation",
    "s3:AbortMultipartUpload",
]  # fmt: skip


@dataclass(frozen=True)
class OrchestrationArgs:
    deployment: Deployment
    account: str
    region: str
    lake_bucket: pulumi.Input[str]
    lake_arn: pulumi.Input[str]
    artifacts_arn: pulumi.Input[str]
    scraper_arn: pulumi.Input[str]
    validate_arn: pulumi.Input[str]
    trigger_arn: pulumi.Input[str]
    trigger_name: pulumi.Input[str]
    glue_job_arn: pulumi.Input[str]
    crawler_arn: pulumi.Input[str]
    workgroup_arn: pulumi.Input[str]
    schedule_cron: str
    schedule_timezone: str
    log_retention_days: int


class Orchestration(pulumi.ComponentResource):
    """The pipeline's state machine and the two ways it starts (the S3-event rule, the
    schedule). Its definition is rendered by ``services/deploy/asl.py``."""

    def __init__(
        self, name: str, args: OrchestrationArgs, opts: pulumi.ResourceOptions | None = None
    ):
        # The type keeps its first name: renaming it would change every child's URN, and
        # Pulumi would replace the state machine of a deployed stack.
        super().__init__("bovespa:workflow:Workflow", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        deployment = args.deployment
        # The definition, rendered from statemachine/pipeline.asl.json like the local one.
        self.definition = pulumi.Output.all(args.scraper_arn, args.validate_arn).apply(
            lambda arns: render_json(deployment.state_machine_values(arns[0], arns[1]))
        )
        self.state_machine = self._state_machine(args, child)
        self.event_pattern = self._raw_object_rule(args, child)
        self.schedule = self._schedule(name, args, child)
        self.register_outputs({"state_machine": self.state_machine.arn})

    def _state_machine(
        self, args: OrchestrationArgs, child: pulumi.ResourceOptions
    ) -> aws.sfn.StateMachine:
        deployment = args.deployment
        machine_role = self._machine_role(args, child)
        log_group = aws.cloudwatch.LogGroup(
            f"{deployment.state_machine}-logs",
            name=f"/aws/vendedlogs/states/{deployment.state_machine}",
            retention_in_days=args.log_retention_days,
            opts=child,
        )
        # Standard (so failed runs can be redriven), logged and traced.
        return aws.sfn.StateMachine(
            deployment.state_machine,
            name=deployment.state_machine,
            type="STANDARD",
            role_arn=machine_role.arn,
            definition=self.definition,
            logging_configuration={
                "log_destination": log_group.arn.apply(lambda arn: f"{arn}:*"),
                "include_execution_data": True,
                "level": "ERROR",
            },
            tracing_configuration={"enabled": True},
            # CreateStateMachine checks that the role may deliver logs: after its policy.
            opts=machine_role.user(self, log_group),
        )

    @staticmethod
    def _machine_role(args: OrchestrationArgs, child: pulumi.ResourceOptions) -> ServiceRole:
        # Its role: exactly the calls the definition makes (and what Athena needs for them).
        deployment, account, region = args.deployment, args.account, args.region
        lake = pulumi.Output.from_input(args.lake_arn)
        return role(
            deployment.state_machine,
            "states.amazonaws.com",
            [
                pulumi.Output.all(args.scraper_arn, args.validate_arn).apply(
                    lambda arns: allow(
                        ["lambda:InvokeFunction"], [*arns, *(f"{a}:*" for a in arns)]
                    )
                ),
                pulumi.Output.from_input(args.glue_job_arn).apply(
                    lambda arn: allow(["glue:StartJobRun", "glue:GetJobRun"], [arn])
                ),
                pulumi.Output.from_input(args.crawler_arn).apply(
                    lambda arn: allow(["glue:StartCrawler", "glue:GetCrawler"], [arn])
                ),
                pulumi.Output.from_input(args.workgroup_arn).apply(
                    lambda arn: allow(ATHENA_QUERY_ACTIONS, [arn])
                ),
                # Athena reads the catalogue with the caller's credentials (the table, and
                # its partitions one by one, in pages or in batches).
                allow(ATHENA_CATALOG_ACTIONS, deployment.glue_catalog_arns(region, account)),
                lake.apply(lambda a: allow(["s3:GetObject"], [f"{a}/{settings.REFINED_PREFIX}/*"])),
                lake.apply(lambda a: allow(["s3:ListBucket", "s3:GetBucketLocation"], [a])),
                pulumi.Output.from_input(args.artifacts_arn).apply(
                    lambda a: allow(ATHENA_RESULTS_ACTIONS, [a, f"{a}/{ATHENA_RESULTS_PREFIX}/*"])
                ),
                allow(UNSCOPABLE, ["*"]),
            ],
            child,
            # Step Functions documents both keys for the role it assumes (confused deputy).
            trust_conditions=confused_deputy(account, state_machine_arn("*", region, account)),
        )

    def _raw_object_rule(
        self, args: OrchestrationArgs, child: pulumi.ResourceOptions
    ) -> pulumi.Output[str]:
        # S3 "Object Created" under raw/ (*.parquet) -> the trigger function.
        deployment = args.deployment
        event_pattern = pulumi.Output.from_input(args.lake_bucket).apply(
            lambda bucket: json.dumps(deployment.raw_object_event_pattern(bucket))
        )
        rule = aws.cloudwatch.EventRule(
            deployment.raw_object_rule,
            name=deployment.raw_object_rule,
            event_pattern=event_pattern,
            opts=child,
        )
        aws.cloudwatch.EventTarget(
            f"{deployment.raw_object_rule}-trigger",
            rule=rule.name,
            arn=args.trigger_arn,
            opts=child,
        )
        aws.lambda_.Permission(
            f"{deployment.raw_object_rule}-may-invoke-trigger",
            action="lambda:InvokeFunction",
            function=args.trigger_name,
            principal="events.amazonaws.com",
            source_arn=rule.arn,
            opts=child,
        )
        return event_pattern

    def _schedule(
        self, name: str, args: OrchestrationArgs, child: pulumi.ResourceOptions
    ) -> aws.scheduler.Schedule:
        # The daily schedule: ONE execution for every configured index (the Map scrapes
        # them), on B3's weekdays, São Paulo time -- one schedule whatever their number.
        deployment, account, region = args.deployment, args.account, args.region
        scheduler_role = role(
            f"{name}-scheduler",
            "scheduler.amazonaws.com",
            [self.state_machine.arn.apply(lambda arn: allow(["states:StartExecution"], [arn]))],
            child,
            # EventBridge Scheduler documents both keys; schedules live in the default group.
            trust_conditions=confused_deputy(
                account, regional_arn("scheduler", region, account, "schedule-group/default")
            ),
        )
        return aws.scheduler.Schedule(
            deployment.schedule,
            name=deployment.schedule,
            schedule_expression=args.schedule_cron,
            schedule_expression_timezone=args.schedule_timezone,
            flexible_time_window={"mode": "OFF"},
            target={
                "arn": self.state_machine.arn,
                "role_arn": scheduler_role.arn,
                "input": json.dumps(deployment.schedule_input()),
                "retry_policy": {"maximum_retry_attempts": 3},
            },
            opts=scheduler_role.user(self),
        )

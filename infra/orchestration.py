"""Orchestration: the two state machines, the inbox rule to the trigger, and the daily schedule.

The pipeline (scrape, validate, then the refine machine) and the refine machine (Glue job,
crawl, smoke query); ``services/deploy/asl.py`` renders both definitions from
``statemachine/`` (the same for AWS and for the local deployment).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from infra.policies import ServiceRole, allow, confused_deputy, role
from services.deploy.asl import PIPELINE, REFINE, render_json
from services.deploy.deployment import (
    ATHENA_RESULTS_PREFIX,
    Deployment,
    execution_arn,
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

# Each role allows the calls its machine's integrations make, as the Step Functions
# Developer Guide's "IAM policies for ..." sections list them per integration pattern:
# https://docs.aws.amazon.com/step-functions/latest/dg/connect-stepfunctions.html (Step Functions),
# https://docs.aws.amazon.com/step-functions/latest/dg/connect-glue.html (AWS Glue),
# https://docs.aws.amazon.com/step-functions/latest/dg/connect-athena.html (Amazon Athena).

#: startExecution.sync:2 waits for the child through this managed EventBridge rule.
SYNC_EXECUTION_RULE = "rule/StepFunctionsGetEventsForStepFunctionsExecutionRule"
#: glue:startJobRun.sync starts the run, polls it and stops it if the Task is stopped.
GLUE_JOB_ACTIONS = ["glue:StartJobRun", "glue:GetJobRun", "glue:GetJobRuns", "glue:BatchStopJobRun"]
#: athena:startQueryExecution.sync (start, poll, stop) and getQueryResults, on the workgroup.
ATHENA_QUERY_ACTIONS = [
    "athena:StartQueryExecution", "athena:GetQueryExecution", "athena:StopQueryExecution",
    "athena:GetQueryResults",
]  # fmt: skip
#: What Athena asks the Glue catalogue, as the refine machine, for the smoke query
#: ("Configure access to databases and tables in the AWS Glue Data Catalog", Athena).
ATHENA_CATALOG_ACTIONS = [
    "glue:GetDatabase", "glue:GetTable", "glue:GetPartition", "glue:GetPartitions",
    "glue:BatchGetPartition",
]  # fmt: skip
#: Athena writes the smoke query's results, as the refine machine, under athena-results/.
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
    """The pipeline and refine state machines and the two ways the pipeline starts (an
    object dropped under inbox/, the schedule)."""

    def __init__(
        self, name: str, args: OrchestrationArgs, opts: pulumi.ResourceOptions | None = None
    ):
        # The type keeps its first name: renaming it would change every child's URN, and
        # Pulumi would replace the state machine of a deployed stack.
        super().__init__("bovespa:workflow:Workflow", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        deployment = args.deployment
        self.refine_machine = self._machine(
            deployment.refine_state_machine,
            self._refine_role(args, child),
            render_json(REFINE, deployment.refine_values()),
            args,
            child,
        )
        self.definition = pulumi.Output.all(
            args.scraper_arn, args.validate_arn, self.refine_machine.arn
        ).apply(lambda arns: render_json(PIPELINE, deployment.pipeline_values(*arns)))
        self.state_machine = self._machine(
            deployment.state_machine, self._pipeline_role(args, child), self.definition, args, child
        )
        self.event_pattern = self._inbox_rule(args, child)
        self.schedule = self._schedule(name, args, child)
        self.register_outputs(
            {"state_machine": self.state_machine.arn, "refine_machine": self.refine_machine.arn}
        )

    def _machine(
        self,
        machine: str,
        machine_role: ServiceRole,
        definition: pulumi.Input[str],
        args: OrchestrationArgs,
        child: pulumi.ResourceOptions,
    ) -> aws.sfn.StateMachine:
        log_group = aws.cloudwatch.LogGroup(
            f"{machine}-logs",
            name=f"/aws/vendedlogs/states/{machine}",
            retention_in_days=args.log_retention_days,
            opts=child,
        )
        # Standard (so failed runs can be redriven), logged and traced.
        return aws.sfn.StateMachine(
            machine,
            name=machine,
            type="STANDARD",
            role_arn=machine_role.arn,
            definition=definition,
            logging_configuration={
                "log_destination": log_group.arn.apply(lambda arn: f"{arn}:*"),
                "include_execution_data": True,
                "level": "ERROR",
            },
            tracing_configuration={"enabled": True},
            # CreateStateMachine checks that the role may deliver logs: after its policy.
            opts=machine_role.user(self, log_group),
        )

    def _pipeline_role(self, args: OrchestrationArgs, child: pulumi.ResourceOptions) -> ServiceRole:
        # Invoke the scraper and validate; run the refine machine and wait for it.
        return _machine_role(
            args.deployment.state_machine,
            args,
            child,
            pulumi.Output.all(args.scraper_arn, args.validate_arn).apply(
                lambda arns: allow(["lambda:InvokeFunction"], [*arns, *(f"{a}:*" for a in arns)])
            ),
            self.refine_machine.arn.apply(lambda arn: allow(["states:StartExecution"], [arn])),
            # IAM's reference authorises DescribeExecution on an execution or an express one;
            # the refine machine is STANDARD, so the express ARN names nothing of ours.
            self.refine_machine.arn.apply(
                lambda arn: allow(["states:DescribeExecution"], [execution_arn(arn), express(arn)])
            ),
            self.refine_machine.arn.apply(
                lambda arn: allow(["states:StopExecution"], [execution_arn(arn)])
            ),
            allow(
                ["events:PutTargets", "events:PutRule", "events:DescribeRule"],
                [regional_arn("events", args.region, args.account, SYNC_EXECUTION_RULE)],
            ),
        )

    @staticmethod
    def _refine_role(args: OrchestrationArgs, child: pulumi.ResourceOptions) -> ServiceRole:
        # Run the Glue job and the crawler; run the smoke query (and what Athena does for it).
        deployment = args.deployment
        lake = pulumi.Output.from_input(args.lake_arn)
        return _machine_role(
            deployment.refine_state_machine,
            args,
            child,
            pulumi.Output.from_input(args.glue_job_arn).apply(
                lambda arn: allow(GLUE_JOB_ACTIONS, [arn])
            ),
            pulumi.Output.from_input(args.crawler_arn).apply(
                lambda arn: allow(["glue:StartCrawler", "glue:GetCrawler"], [arn])
            ),
            pulumi.Output.from_input(args.workgroup_arn).apply(
                lambda arn: allow(ATHENA_QUERY_ACTIONS, [arn])
            ),
            # Athena reads the catalogue with the caller's credentials (the table, and its
            # partitions one by one, in pages or in batches), and the refined objects.
            allow(ATHENA_CATALOG_ACTIONS, deployment.glue_catalog_arns(args.region, args.account)),
            lake.apply(lambda a: allow(["s3:GetObject"], [f"{a}/{settings.REFINED_PREFIX}/*"])),
            lake.apply(lambda a: allow(["s3:ListBucket", "s3:GetBucketLocation"], [a])),
            pulumi.Output.from_input(args.artifacts_arn).apply(
                lambda a: allow(ATHENA_RESULTS_ACTIONS, [a, f"{a}/{ATHENA_RESULTS_PREFIX}/*"])
            ),
        )

    def _inbox_rule(
        self, args: OrchestrationArgs, child: pulumi.ResourceOptions
    ) -> pulumi.Output[str]:
        # S3 "Object Created" under inbox/ -> the trigger function (one execution per object).
        deployment = args.deployment
        event_pattern = pulumi.Output.from_input(args.lake_bucket).apply(
            lambda bucket: json.dumps(deployment.inbox_event_pattern(bucket))
        )
        rule = aws.cloudwatch.EventRule(
            deployment.inbox_rule,
            name=deployment.inbox_rule,
            event_pattern=event_pattern,
            opts=child,
        )
        aws.cloudwatch.EventTarget(
            f"{deployment.inbox_rule}-trigger", rule=rule.name, arn=args.trigger_arn, opts=child
        )
        aws.lambda_.Permission(
            f"{deployment.inbox_rule}-may-invoke-trigger",
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


def express(machine_arn: str) -> str:
    """Every express execution of the state machine ``machine_arn``, as IAM spells them."""
    return f"{machine_arn.replace(':stateMachine:', ':express:', 1)}:*:*"


def _machine_role(
    machine: str,
    args: OrchestrationArgs,
    child: pulumi.ResourceOptions,
    *statements: pulumi.Input[dict[str, Any]],
) -> ServiceRole:
    """The role of the state machine ``machine``: ``statements``, and log delivery and X-Ray."""
    return role(
        machine,
        "states.amazonaws.com",
        [*statements, allow(UNSCOPABLE, ["*"])],
        child,
        # Step Functions documents both keys for the role it assumes (confused deputy).
        trust_conditions=confused_deputy(
            args.account, state_machine_arn("*", args.region, args.account)
        ),
    )

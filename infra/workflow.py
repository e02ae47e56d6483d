"""Workflow: the state machine, the S3-event rule to the trigger, and the daily schedule."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from infra.policies import allow, confused_deputy, role
from services import settings
from services.deployment import Deployment
from services.workflow import render_json

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


@dataclass(frozen=True)
class WorkflowArgs:
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


def state_machine_arn(deployment: Deployment, region: str, account: str) -> str:
    """Known before the state machine exists (the trigger needs it)."""
    return f"arn:aws:states:{region}:{account}:stateMachine:{deployment.state_machine}"


class Workflow(pulumi.ComponentResource):
    """The pipeline's state machine and the two ways it starts."""

    def __init__(self, name: str, args: WorkflowArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("bovespa:workflow:Workflow", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        deployment = args.deployment
        account, region = args.account, args.region
        catalog = f"arn:aws:glue:{region}:{account}"
        lake = pulumi.Output.from_input(args.lake_arn)

        # The definition, rendered from statemachine/pipeline.asl.json like the local one.
        self.definition = pulumi.Output.all(args.scraper_arn, args.validate_arn).apply(
            lambda arns: render_json(deployment.state_machine_values(arns[0], arns[1]))
        )
        # Its role: exactly the calls the definition makes (and what Athena needs for them).
        machine_role = role(
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
                    lambda arn: allow(
                        [
                            "athena:StartQueryExecution",
                            "athena:GetQueryExecution",
                            "athena:GetQueryResults",
                        ],
                        [arn],
                    )
                ),
                # Athena reads the catalogue with the caller's credentials (the table, and
                # its partitions one by one, in pages or in batches).
                allow(
                    ATHENA_CATALOG_ACTIONS,
                    [
                        f"{catalog}:catalog",
                        f"{catalog}:database/{deployment.database}",
                        f"{catalog}:table/{deployment.database}/{deployment.table}",
                    ],
                ),
                lake.apply(lambda a: allow(["s3:GetObject"], [f"{a}/{settings.REFINED_PREFIX}/*"])),
                lake.apply(lambda a: allow(["s3:ListBucket", "s3:GetBucketLocation"], [a])),
                pulumi.Output.from_input(args.artifacts_arn).apply(
                    lambda a: allow(
                        [
                            "s3:GetObject",
                            "s3:PutObject",
                            "s3:ListBucket",
                            "s3:GetBucketLocation",
                            "s3:AbortMultipartUpload",
                        ],
                        [a, f"{a}/athena-results/*"],
                    )
                ),
                allow(UNSCOPABLE, ["*"]),
            ],
            child,
            # Step Functions documents both keys for the role it assumes (confused deputy).
            trust_conditions=confused_deputy(
                account, f"arn:aws:states:{region}:{account}:stateMachine:*"
            ),
        )
        log_group = aws.cloudwatch.LogGroup(
            f"{deployment.state_machine}-logs",
            name=f"/aws/vendedlogs/states/{deployment.state_machine}",
            retention_in_days=args.log_retention_days,
            opts=child,
        )
        # Standard (so failed runs can be redriven), logged and traced.
        self.state_machine = aws.sfn.StateMachine(
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

        # S3 "Object Created" under raw/ (*.parquet) -> the trigger function.
        self.event_pattern = pulumi.Output.from_input(args.lake_bucket).apply(
            lambda bucket: json.dumps(deployment.raw_object_event_pattern(bucket))
        )
        rule = aws.cloudwatch.EventRule(
            deployment.raw_object_rule,
            name=deployment.raw_object_rule,
            event_pattern=self.event_pattern,
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

        # The daily schedule: ONE execution for every configured index (the Map scrapes
        # them), on B3's weekdays, São Paulo time -- one schedule whatever their number.
        scheduler_role = role(
            f"{name}-scheduler",
            "scheduler.amazonaws.com",
            [self.state_machine.arn.apply(lambda arn: allow(["states:StartExecution"], [arn]))],
            child,
            # EventBridge Scheduler documents both keys; schedules live in the default group.
            trust_conditions=confused_deputy(
                account, f"arn:aws:scheduler:{region}:{account}:schedule-group/default"
            ),
        )
        self.schedule = aws.scheduler.Schedule(
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
        self.register_outputs({"state_machine": self.state_machine.arn})

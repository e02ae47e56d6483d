"""The two state machines, the inbox rule to the trigger, and the daily schedule. Each role
allows what its integrations call (Step Functions Developer Guide, "IAM policies for …")."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import pulumi
import pulumi_aws as aws

from infra.config import Stack
from infra.policies import allow, confused_deputy, role, sub
from services.deploy.asl import PIPELINE, REFINE, render_json
from services.deploy.deployment import (
    ATHENA_RESULTS_PREFIX,
    execution_arn,
    regional_arn,
    state_machine_arn,
)
from services.pipeline import settings

if TYPE_CHECKING:
    from infra.analytics import Analytics
    from infra.etl import Etl
    from infra.functions import Functions
    from infra.storage import Storage

#: Log delivery and X-Ray calls that AWS does not let a policy scope to a resource.
UNSCOPABLE = [
    "logs:CreateLogDelivery", "logs:GetLogDelivery", "logs:UpdateLogDelivery",
    "logs:DeleteLogDelivery", "logs:ListLogDeliveries", "logs:PutResourcePolicy",
    "logs:DescribeResourcePolicies", "logs:DescribeLogGroups",
    "xray:PutTraceSegments", "xray:PutTelemetryRecords", "xray:GetSamplingRules",
    "xray:GetSamplingTargets",
]  # fmt: skip
#: startExecution.sync:2 waits for the child through this managed EventBridge rule.
SYNC_EXECUTION_RULE = "rule/StepFunctionsGetEventsForStepFunctionsExecutionRule"
#: What Athena asks the Glue catalogue, as the refine machine, for the smoke query.
ATHENA_CATALOG_ACTIONS = ["glue:GetDatabase", "glue:GetTable", "glue:GetPartition",
                          "glue:GetPartitions", "glue:BatchGetPartition"]  # fmt: skip


class Orchestration(pulumi.ComponentResource):
    """The state machines and what starts the pipeline: an object under inbox/, the schedule."""

    def __init__(self, name: str, stack: Stack, storage: Storage, functions: Functions,
                 etl: Etl, analytics: Analytics):  # fmt: skip
        # The type keeps its first name: renaming it would change every child's URN, and
        # Pulumi would replace the state machine of a deployed stack.
        super().__init__("bovespa:workflow:Workflow", name)
        self._stack = stack
        deployment, account, region = stack.deployment, stack.account, stack.region
        lake, artifacts = storage.lake.arn, storage.artifacts.arn
        # The Glue run (.sync: start, poll, stop), the crawler, the smoke query (.sync) and
        # what Athena does for it with the caller's credentials: read the catalogue and the
        # refined objects, write the results under athena-results/.
        self.refine_machine = self._machine(
            deployment.refine_state_machine,
            render_json(REFINE, deployment.refine_values()),
            allow(["glue:StartJobRun", "glue:GetJobRun", "glue:GetJobRuns",
                   "glue:BatchStopJobRun"], [etl.job.arn]),
            allow(["glue:StartCrawler", "glue:GetCrawler"], [etl.crawler.arn]),
            allow(["athena:StartQueryExecution", "athena:GetQueryExecution",
                   "athena:StopQueryExecution", "athena:GetQueryResults"],
                  [analytics.workgroup.arn]),
            allow(ATHENA_CATALOG_ACTIONS, deployment.glue_catalog_arns(region, account)),
            allow(["s3:GetObject"], [sub(lake, f"/{settings.REFINED_PREFIX}/*")]),
            allow(["s3:ListBucket", "s3:GetBucketLocation"], [lake]),
            allow(["s3:GetObject", "s3:PutObject", "s3:ListBucket", "s3:GetBucketLocation",
                   "s3:AbortMultipartUpload"],
                  [artifacts, sub(artifacts, f"/{ATHENA_RESULTS_PREFIX}/*")]),
        )  # fmt: skip
        refine = self.refine_machine.arn
        invoked = [functions.scraper.arn, functions.validate.arn]
        # Invoke the scraper and validate; run the refine machine and wait for it. IAM's
        # reference authorises DescribeExecution on an execution or an express one; the
        # refine machine is STANDARD, so the express ARN names nothing of ours.
        executions = refine.apply(execution_arn)
        express = refine.apply(lambda arn: f"{arn.replace(':stateMachine:', ':express:', 1)}:*:*")
        self.state_machine = self._machine(
            deployment.state_machine,
            pulumi.Output.all(*invoked, refine).apply(
                lambda arns: render_json(PIPELINE, deployment.pipeline_values(*arns))
            ),
            allow(["lambda:InvokeFunction"], [*invoked, *(sub(a, ":*") for a in invoked)]),
            allow(["states:StartExecution"], [refine]),
            allow(["states:DescribeExecution"], [executions, express]),
            allow(["states:StopExecution"], [executions]),
            allow(
                ["events:PutTargets", "events:PutRule", "events:DescribeRule"],
                [regional_arn("events", region, account, SYNC_EXECUTION_RULE)],
            ),
        )
        self._inbox_rule(storage, functions)
        self._schedule(name)
        self.register_outputs({"state_machine": self.state_machine.arn, "refine_machine": refine})

    def _machine(
        self, machine: str, definition: pulumi.Input[str], *statements: dict[str, Any]
    ) -> aws.sfn.StateMachine:
        """A Standard state machine (redrivable), logged and traced, and its role."""
        stack = self._stack
        machine_role = role(
            machine,
            "states.amazonaws.com",
            [*statements, allow(UNSCOPABLE, ["*"])],
            self,
            # Step Functions documents both keys for the role it assumes (confused deputy).
            trust_conditions=confused_deputy(
                stack.account, state_machine_arn("*", stack.region, stack.account)
            ),
        )
        log_group = stack.log_group(f"{machine}-logs", f"/aws/vendedlogs/states/{machine}", self)
        return aws.sfn.StateMachine(
            machine,
            name=machine,
            type="STANDARD",
            role_arn=machine_role.arn,
            definition=definition,
            logging_configuration={
                "log_destination": sub(log_group.arn, ":*"),
                "include_execution_data": True,
                "level": "ERROR",
            },
            tracing_configuration={"enabled": True},
            # CreateStateMachine checks that the role may deliver logs: after its policy.
            opts=machine_role.user(self, log_group),
        )

    def _inbox_rule(self, storage: Storage, functions: Functions) -> None:
        # S3 "Object Created" under inbox/ -> the trigger function (one execution per object).
        deployment, child = self._stack.deployment, pulumi.ResourceOptions(parent=self)
        name = deployment.inbox_rule
        pattern = storage.lake.bucket.apply(lambda b: json.dumps(deployment.inbox_event_pattern(b)))
        rule = aws.cloudwatch.EventRule(name, name=name, event_pattern=pattern, opts=child)
        trigger = functions.trigger
        aws.cloudwatch.EventTarget(f"{name}-trigger", rule=rule.name, arn=trigger.arn, opts=child)
        aws.lambda_.Permission(f"{name}-may-invoke-trigger", action="lambda:InvokeFunction",
                               function=trigger.name, principal="events.amazonaws.com",
                               source_arn=rule.arn, opts=child)  # fmt: skip

    def _schedule(self, name: str) -> None:
        # ONE execution a day for every configured index (the Map scrapes them), on B3's
        # weekdays, São Paulo time: one schedule whatever their number.
        stack = self._stack
        account, region = stack.account, stack.region
        scheduler_role = role(
            f"{name}-scheduler",
            "scheduler.amazonaws.com",
            [allow(["states:StartExecution"], [self.state_machine.arn])],
            self,
            # EventBridge Scheduler documents both keys; schedules live in the default group.
            trust_conditions=confused_deputy(
                account, regional_arn("scheduler", region, account, "schedule-group/default")
            ),
        )
        aws.scheduler.Schedule(
            stack.deployment.schedule,
            name=stack.deployment.schedule,
            schedule_expression=stack.config.schedule_cron,
            schedule_expression_timezone=stack.config.schedule_timezone,
            flexible_time_window={"mode": "OFF"},
            target={
                "arn": self.state_machine.arn,
                "role_arn": scheduler_role.arn,
                "input": json.dumps(stack.deployment.schedule_input()),
                "retry_policy": {"maximum_retry_attempts": 3},
            },
            opts=scheduler_role.user(self),
        )

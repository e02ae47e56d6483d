"""Monitoring: an SNS topic (optionally e-mailed) and alarms on failed runs and function errors."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import pulumi
import pulumi_aws as aws

from infra.config import Stack

if TYPE_CHECKING:
    from infra.functions import Functions
    from infra.orchestration import Orchestration


class Monitoring(pulumi.ComponentResource):
    """Someone hears about a failed or timed-out execution and about Lambda errors."""

    def __init__(self, name: str, stack: Stack, functions: Functions, orchestration: Orchestration):
        super().__init__("bovespa:monitoring:Monitoring", name)
        child = pulumi.ResourceOptions(parent=self)
        prefix = stack.config.prefix
        self.topic = aws.sns.Topic(f"{prefix}-alarms", name=f"{prefix}-alarms", opts=child)
        if stack.config.alarm_email:
            aws.sns.TopicSubscription(
                f"{prefix}-alarms-email", topic=self.topic.arn, protocol="email",
                endpoint=stack.config.alarm_email, opts=child,
            )  # fmt: skip
        machine = {"StateMachineArn": orchestration.state_machine.arn}
        for metric in ("ExecutionsFailed", "ExecutionsTimedOut"):
            self._alarm(f"{prefix}-{metric}", f"{prefix}-{metric}", "AWS/States", metric, machine)
        names = [functions.scraper.name, functions.validate.name, functions.trigger.name]
        for index, function in enumerate(names):
            errors = function.apply(lambda f: f"{f}-errors")
            dimensions = {"FunctionName": function}
            self._alarm(
                f"{prefix}-lambda-errors-{index}", errors, "AWS/Lambda", "Errors", dimensions
            )
        self.register_outputs({"topic": self.topic.arn})

    def _alarm(self, resource: str, name: pulumi.Input[str], namespace: str, metric: str,
               dimensions: Mapping[str, pulumi.Input[str]]) -> None:  # fmt: skip
        # One or more in five minutes is worth an e-mail.
        aws.cloudwatch.MetricAlarm(
            resource, name=name, namespace=namespace, metric_name=metric, dimensions=dimensions,
            statistic="Sum", period=300, evaluation_periods=1, threshold=1,
            comparison_operator="GreaterThanOrEqualToThreshold", treat_missing_data="notBreaching",
            alarm_actions=[self.topic.arn], opts=pulumi.ResourceOptions(parent=self),
        )  # fmt: skip

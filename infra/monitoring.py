"""Monitoring: an SNS topic (optionally e-mailed) and alarms on failed runs and function errors."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws


@dataclass(frozen=True)
class MonitoringArgs:
    prefix: str
    state_machine_arn: pulumi.Input[str]
    function_names: list[pulumi.Input[str]]
    alarm_email: str | None


class Monitoring(pulumi.ComponentResource):
    """Someone hears about a failed or timed-out execution and about Lambda errors."""

    def __init__(self, name: str, args: MonitoringArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("bovespa:monitoring:Monitoring", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.topic = aws.sns.Topic(
            f"{args.prefix}-alarms", name=f"{args.prefix}-alarms", opts=child
        )
        if args.alarm_email:
            aws.sns.TopicSubscription(
                f"{args.prefix}-alarms-email",
                topic=self.topic.arn,
                protocol="email",
                endpoint=args.alarm_email,
                opts=child,
            )
        for metric in ("ExecutionsFailed", "ExecutionsTimedOut"):
            self._alarm(
                f"{args.prefix}-{metric}",
                f"{args.prefix}-{metric}",
                "AWS/States",
                metric,
                {"StateMachineArn": args.state_machine_arn},
            )
        for index, function in enumerate(args.function_names):
            self._alarm(
                f"{args.prefix}-lambda-errors-{index}",
                pulumi.Output.from_input(function).apply(lambda f: f"{f}-errors"),
                "AWS/Lambda",
                "Errors",
                {"FunctionName": function},
            )
        self.register_outputs({"topic": self.topic.arn})

    def _alarm(
        self,
        resource_name: str,
        name: pulumi.Input[str],
        namespace: str,
        metric: str,
        dimensions: dict[str, pulumi.Input[str]],
    ) -> None:
        # One or more in five minutes is worth an e-mail.
        aws.cloudwatch.MetricAlarm(
            resource_name,
            name=name,
            namespace=namespace,
            metric_name=metric,
            dimensions=dimensions,
            statistic="Sum",
            period=300,
            evaluation_periods=1,
            threshold=1,
            comparison_operator="GreaterThanOrEqualToThreshold",
            treat_missing_data="notBreaching",
            alarm_actions=[self.topic.arn],
            opts=pulumi.ResourceOptions(parent=self),
        )

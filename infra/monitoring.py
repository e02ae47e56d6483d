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
            aws.cloudwatch.MetricAlarm(
                f"{args.prefix}-{metric}",
                name=f"{args.prefix}-{metric}",
                namespace="AWS/States",
                metric_name=metric,
                dimensions={"StateMachineArn": args.state_machine_arn},
                statistic="Sum",
                period=300,
                evaluation_periods=1,
                threshold=1,
                comparison_operator="GreaterThanOrEqualToThreshold",
                treat_missing_data="notBreaching",
                alarm_actions=[self.topic.arn],
                opts=child,
            )
        for index, function in enumerate(args.function_names):
            aws.cloudwatch.MetricAlarm(
                f"{args.prefix}-lambda-errors-{index}",
                name=pulumi.Output.from_input(function).apply(lambda f: f"{f}-errors"),
                namespace="AWS/Lambda",
                metric_name="Errors",
                dimensions={"FunctionName": function},
                statistic="Sum",
                period=300,
                evaluation_periods=1,
                threshold=1,
                comparison_operator="GreaterThanOrEqualToThreshold",
                treat_missing_data="notBreaching",
                alarm_actions=[self.topic.arn],
                opts=child,
            )
        self.register_outputs({"topic": self.topic.arn})

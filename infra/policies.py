"""IAM policy documents, written out so every statement is scoped and readable."""

from __future__ import annotations

import json
from typing import Any

import pulumi
import pulumi_aws as aws


def document(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def allow(actions: list[str], resources: list[str], **extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": actions, "Resource": resources, **extra}


def assume_role(service: str) -> str:
    return document(
        {"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}
    )


def policy(*statements: pulumi.Input[dict[str, Any]]) -> pulumi.Output[str]:
    """A policy document from statements that may hold Outputs (ARNs)."""
    return pulumi.Output.all(*statements).apply(lambda resolved: document(*resolved))


def log_writer(log_group_arn: pulumi.Input[str]) -> pulumi.Output[dict[str, Any]]:
    """Write to one log group (not ``logs:*`` on ``*``)."""
    return pulumi.Output.from_input(log_group_arn).apply(
        lambda arn: allow(["logs:CreateLogStream", "logs:PutLogEvents"], [arn, f"{arn}:*"])
    )


def role(
    name: str,
    service: str,
    statements: list[pulumi.Input[dict[str, Any]]],
    opts: pulumi.ResourceOptions,
) -> aws.iam.Role:
    """A role that ``service`` assumes, with one inline policy of exactly ``statements``."""
    created = aws.iam.Role(f"{name}-role", assume_role_policy=assume_role(service), opts=opts)
    aws.iam.RolePolicy(f"{name}-policy", role=created.id, policy=policy(*statements), opts=opts)
    return created

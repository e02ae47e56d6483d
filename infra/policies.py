"""IAM policy documents, written out so every statement is scoped and readable."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from services.deploy.deployment import role_name


def document(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def allow(actions: list[str], resources: list[str], **extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": actions, "Resource": resources, **extra}


def assume_role(service: str, conditions: dict[str, Any] | None = None) -> str:
    """The trust policy: ``service`` may assume the role, under ``conditions`` if given."""
    statement: dict[str, Any] = {
        "Effect": "Allow",
        "Principal": {"Service": service},
        "Action": "sts:AssumeRole",
    }
    if conditions:
        statement["Condition"] = conditions
    return document(statement)


def confused_deputy(account: str, source_arn: str | None = None) -> dict[str, Any]:
    """Trust conditions against the confused deputy: only this account's resources
    (``aws:SourceAccount``), and only those matching ``source_arn`` (``aws:SourceArn``).

    See IAM's "Cross-service confused deputy prevention"; use them only for services that
    document them for the role they assume (a condition the service does not send denies).
    """
    conditions: dict[str, Any] = {"StringEquals": {"aws:SourceAccount": account}}
    if source_arn is not None:
        conditions["ArnLike"] = {"aws:SourceArn": source_arn}
    return conditions


def policy(*statements: pulumi.Input[dict[str, Any]]) -> pulumi.Output[str]:
    """A policy document from statements that may hold Outputs (ARNs)."""
    return pulumi.Output.all(*statements).apply(lambda resolved: document(*resolved))


def log_writer(log_group_arn: pulumi.Input[str]) -> pulumi.Output[dict[str, Any]]:
    """Write to one log group (not ``logs:*`` on ``*``)."""
    return pulumi.Output.from_input(log_group_arn).apply(
        lambda arn: allow(["logs:CreateLogStream", "logs:PutLogEvents"], [arn, f"{arn}:*"])
    )


@dataclass(frozen=True)
class ServiceRole:
    """A role and its inline policy: what uses the role must wait for the policy."""

    role: aws.iam.Role
    policy: aws.iam.RolePolicy

    @property
    def arn(self) -> pulumi.Output[str]:
        return self.role.arn

    def user(self, parent: pulumi.Resource, *after: pulumi.Resource) -> pulumi.ResourceOptions:
        """Options for a resource that runs as this role: created only once the role's
        policy exists (IAM is eventually consistent, and some services — Step Functions'
        ``CreateStateMachine`` — check the role's permissions when the resource is made)."""
        return pulumi.ResourceOptions(parent=parent, depends_on=[self.policy, *after])


def role(
    name: str,
    service: str,
    statements: list[pulumi.Input[dict[str, Any]]],
    opts: pulumi.ResourceOptions,
    *,
    trust_conditions: dict[str, Any] | None = None,
) -> ServiceRole:
    """A role that ``service`` assumes, with one inline policy of exactly ``statements``."""
    created = aws.iam.Role(
        role_name(name),
        assume_role_policy=assume_role(service, trust_conditions),
        opts=opts,
    )
    inline = aws.iam.RolePolicy(
        f"{name}-policy", role=created.id, policy=policy(*statements), opts=opts
    )
    return ServiceRole(created, inline)

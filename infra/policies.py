"""IAM policy documents, written out so every statement is scoped and readable."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from services.deploy.deployment import role_name


def document(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def allow(
    actions: list[str], resources: Sequence[pulumi.Input[str]], **extra: Any
) -> dict[str, Any]:
    """A statement; its resources may be Outputs (ARNs), which :func:`policy` resolves."""
    return {"Effect": "Allow", "Action": actions, "Resource": list(resources), **extra}


def sub(arn: pulumi.Input[str], suffix: str) -> pulumi.Output[str]:
    return pulumi.Output.concat(arn, suffix)


def confused_deputy(account: str, source_arn: str) -> dict[str, Any]:
    """Trust conditions against the confused deputy: only for services that document them
    for the role they assume (a condition the service does not send denies)."""
    return {
        "StringEquals": {"aws:SourceAccount": account},
        "ArnLike": {"aws:SourceArn": source_arn},
    }


def policy(*statements: pulumi.Input[Any]) -> pulumi.Output[str]:
    """A policy document from statements (or lists of them) that may hold Outputs."""
    return pulumi.Output.all(*statements).apply(
        lambda resolved: document(
            *(s for r in resolved for s in (r if isinstance(r, list) else [r]))
        )
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
        """Created after the role's policy: IAM is eventually consistent, and Step Functions'
        ``CreateStateMachine`` checks the role's permissions."""
        return pulumi.ResourceOptions(parent=parent, depends_on=[self.policy, *after])


def role(
    name: str, service: str, statements: Sequence[pulumi.Input[Any]], parent: pulumi.Resource,
    *, trust_conditions: dict[str, Any] | None = None,
) -> ServiceRole:  # fmt: skip
    """A role that ``service`` assumes, with one inline policy of exactly ``statements``."""
    opts = pulumi.ResourceOptions(parent=parent)
    trust = {"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}
    conditions = {"Condition": trust_conditions} if trust_conditions else {}
    created = aws.iam.Role(
        role_name(name), assume_role_policy=document({**trust, **conditions}), opts=opts
    )
    inline = aws.iam.RolePolicy(
        f"{name}-policy", role=created.id, policy=policy(*statements), opts=opts
    )
    return ServiceRole(created, inline)

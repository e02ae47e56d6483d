"""The stack's settings, read once from ``pulumi.Config`` (``Pulumi.<stack>.yaml``)."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from services.deploy.deployment import Deployment
from services.deploy.stack_settings import BadSetting, StackConfig, parse


@dataclass(frozen=True)
class Stack:
    """What every component reads: the settings, the shared description, where it deploys."""

    config: StackConfig
    account: str
    region: str

    @property
    def deployment(self) -> Deployment:
        return Deployment(self.config.prefix, self.config.indices, self.config.ahead_datasets)

    def log_group(
        self, resource: str, name: str, parent: pulumi.Resource, *, retain: bool = False
    ) -> aws.cloudwatch.LogGroup:
        """A log group with the stack's retention (AWS would create one keeping logs forever)."""
        days, opts = self.config.log_retention_days, pulumi.ResourceOptions(parent=parent)
        opts.retain_on_delete = retain
        return aws.cloudwatch.LogGroup(resource, name=name, retention_in_days=days, opts=opts)


def load() -> StackConfig:
    """The stack's settings; a bad one stops ``pulumi up`` in one line (a RunError: no
    traceback), before anything is deployed or the schedule fires."""
    try:
        config, notes = parse(pulumi.Config().get, pulumi.get_stack())
    except BadSetting as error:
        raise pulumi.RunError(str(error)) from None
    for note in notes:
        pulumi.log.info(note)
    return config

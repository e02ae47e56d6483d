"""The Pulumi program: one stack of the pipeline, from components declared in reading
order; names come from ``services/deploy/deployment.py``, shared with the local deployment.
"""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

from infra.analytics import Analytics
from infra.config import Stack, load
from infra.etl import Etl, build_job_code
from infra.functions import Functions
from infra.monitoring import Monitoring
from infra.orchestration import Orchestration
from infra.storage import Storage


def build(stack: Stack) -> None:
    prefix, region = stack.config.prefix, stack.region
    storage = Storage(f"{prefix}-storage", stack)
    functions = Functions(f"{prefix}-functions", stack, storage)
    etl = Etl(f"{prefix}-etl", stack, storage, build_job_code())
    analytics = Analytics(f"{prefix}-analytics", stack, storage, etl.table)
    orchestration = Orchestration(f"{prefix}-workflow", stack, storage, functions, etl, analytics)
    monitoring = Monitoring(f"{prefix}-monitoring", stack, functions, orchestration)
    console = f"https://{region}.console.aws.amazon.com"
    machine, workgroup = orchestration.state_machine.arn, analytics.workgroup.name
    pulumi.export("lake_bucket", storage.lake.bucket)
    pulumi.export("artifacts_bucket", storage.artifacts.bucket)
    pulumi.export("state_machine_arn", machine)
    states = f"{console}/states/home?region={region}#/statemachines/view/"
    pulumi.export("state_machine_console", pulumi.Output.concat(states, machine))
    athena = f"{console}/athena/home?region={region}#/query-editor?workgroup="
    pulumi.export("athena_console", pulumi.Output.concat(athena, workgroup))
    pulumi.export("refined_table", f"{stack.deployment.database}.{stack.deployment.table}")
    pulumi.export("alarm_topic", monitoring.topic.arn)


def main() -> None:
    identity, region = aws.get_caller_identity(), aws.get_region()
    build(Stack(load(), identity.account_id, region.region))

"""One execution on the local stack, followed live (``bovespa run``, ``demo``, ``ingest``,
``finish``): emulator up, stack deployed, execution started, its steps shown as they change,
its summary on stderr and as the last line of stdout; exit 1 when it fails."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import boto3
from rich.live import Live
from rich.markup import escape

from services.pipeline import settings
from services.pipeline.lake.layout import RawDay, partition
from services.tool.console import err, print_result, steps_table, write_json
from services.tool.exits import fail, or_exit
from services.tool.local.deploy import LOCAL, Deployed, deploy, deployed
from services.tool.local.emulator import use_endpoint
from services.tool.local.run import Progress, executions, follow, summary, wait_for_execution

#: Starts the execution on the deployed stack and returns its ARN.
Begin = Callable[[Deployed], str]


def run_pipeline(
    begin: Begin, b3_base_url: str | None = None, *, redeploy: bool = True
) -> dict[str, Any]:
    """Emulator up, deploy (unless ``redeploy`` is false: the stack as deployed, its B3
    address kept), start (``begin``), follow live, summarise; exit 1 on failure."""
    clock = time.monotonic()
    endpoint = or_exit(lambda: use_endpoint(start=True))
    timings = {"emulator_start_s": round(time.monotonic() - clock, 2)}
    stack = deployed(LOCAL)
    if redeploy:
        clock = time.monotonic()
        stack = or_exit(lambda: deploy(LOCAL, b3_base_url=b3_base_url))
        timings["deploy_s"] = round(time.monotonic() - clock, 2)
        err.print(f"[bold]Deployed[/] to {endpoint} in {timings['deploy_s']} s")
    execution = or_exit(lambda: begin(stack))
    with Live(steps_table(Progress()), console=err, auto_refresh=False) as live:
        outcome = or_exit(
            lambda: follow(execution, lambda p: live.update(steps_table(p), refresh=True))
        )
    err.print()
    result = {**summary(stack, outcome), **timings}
    print_result(result, endpoint)
    write_json(result)
    if outcome.status != "SUCCEEDED":
        fail(
            f"the pipeline failed in {result.get('failed_state')}: "
            f"{result.get('error')}: {escape(str(result.get('cause')))}"
        )
    return result


def dropped(day: RawDay, data: bytes) -> Begin:
    """A ``begin`` that puts ``data`` as ``day``'s inbox object: the execution it starts."""

    def drop(stack: Deployed) -> str:
        known = executions(stack)
        key = f"{partition(day.index, day.dt, settings.INBOX_PREFIX)}/{settings.RAW_OBJECT_NAME}"
        boto3.client("s3").put_object(Bucket=stack.bucket, Key=key, Body=data)
        err.print(f"[bold]Dropped[/] s3://{stack.bucket}/{key}; waiting for the trigger")
        return wait_for_execution(stack, f"s3://{stack.bucket}/{key}", known)

    return drop

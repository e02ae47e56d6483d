"""One execution on the local stack, followed live (``bovespa run``, ``demo``, ``ingest``).

The emulator up (or the one ``AWS_ENDPOINT_URL`` names), the stack deployed, the execution
started by the command's ``begin``, its steps shown as they change, its summary printed on
stderr and written as the last line of stdout; exit 1 when the execution fails.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import boto3
from rich.live import Live
from rich.markup import escape

from services.pipeline.lake.layout import RawDay
from services.tool.console import err, print_result, steps_table, write_json
from services.tool.exits import fail, or_exit
from services.tool.local.deploy import LOCAL, Deployed, deploy, deployed
from services.tool.local.emulator import use_endpoint
from services.tool.local.run import (
    Progress,
    execution_names,
    finish,
    follow,
    summary,
    wait_for_execution,
)

#: Starts the execution on the deployed stack and returns its ARN.
Begin = Callable[[Deployed], str]


def run_pipeline(
    begin: Begin, b3_base_url: str | None = None, *, redeploy: bool = True
) -> dict[str, Any]:
    """Emulator up, deploy, start (``begin``), follow live, summarise; exit 1 on failure.

    ``redeploy=False`` uses the stack as deployed (finishing an execution must not change
    the B3 address its functions were deployed with).
    """
    timings: dict[str, float] = {}
    clock = time.monotonic()
    endpoint = or_exit(lambda: use_endpoint(start=True))
    timings["emulator_start_s"] = round(time.monotonic() - clock, 2)
    clock = time.monotonic()
    if redeploy:
        stack = or_exit(lambda: deploy(LOCAL, b3_base_url=b3_base_url))
        timings["deploy_s"] = round(time.monotonic() - clock, 2)
        err.print(f"[bold]Deployed[/] to {endpoint} in {timings['deploy_s']} s")
    else:
        stack = deployed(LOCAL)
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
    """A ``begin`` that puts ``data`` as ``day``'s raw object: the execution it starts."""

    def drop(stack: Deployed) -> str:
        known = execution_names(stack)
        etag = boto3.client("s3").put_object(Bucket=stack.bucket, Key=day.key, Body=data)["ETag"]
        err.print(f"[bold]Dropped[/] s3://{stack.bucket}/{day.key}; waiting for the trigger")
        return wait_for_execution(stack, day.key, etag.strip('"'), known)

    return drop


def finish_pipeline(execution: str) -> None:
    """Finish what the failed ``execution`` left, following each execution that does it.

    Uses the stack as deployed; see :func:`services.tool.local.run.finish`.
    """
    more: list[str] = []

    def begin(stack: Deployed) -> str:
        first, *rest = finish(stack, execution)
        more.extend(rest)
        return first

    run_pipeline(begin, redeploy=False)
    for arn in more:
        run_pipeline(_started(arn), redeploy=False)


def _started(arn: str) -> Begin:
    """A ``begin`` for an execution that is already started."""
    return lambda _stack: arn

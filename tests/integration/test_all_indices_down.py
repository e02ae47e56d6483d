"""Every index of the registry in one execution while B3 is down for all of them.

Each index fails in the Map (caught), is tried once more in ``RetryFailed`` and fails again:
the execution ends FAILED naming every index, with no Glue run, and the execution's data
stays small enough -- Step Functions refuses a state's input or output over 256 KB with a
``States.DataLimitExceeded`` that no Catch sees. Every state's input and output in the
history is held under 64 KB here, a quarter of the limit.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest

from services.pipeline.b3.indices import INDICES
from services.tool.local.deploy import LOCAL, Deployed, deploy
from services.tool.local.replay import Fault, ReplayServer
from services.tool.local.run import Outcome, follow, start, summary
from tests.aws_clients import aws

DOWN = replace(LOCAL, prefix="bovespa-down", table="b3_down_test")
LIMIT = 64 * 1024


@pytest.fixture(scope="module")
def outcome(aws_endpoint: str) -> Iterator[tuple[Deployed, Outcome]]:
    with ReplayServer() as replay:
        for code in INDICES:
            replay.outage(
                code, Fault(status=503, body=b"<html>busy</html>", content_type="text/html")
            )
        stack = deploy(DOWN, b3_base_url=replay.base_url)
        yield stack, follow(start(stack, DOWN.schedule_input(sorted(INDICES), ahead=())))


def test_the_execution_fails_naming_every_index(outcome: tuple[Deployed, Outcome]) -> None:
    stack, done = outcome
    assert (done.status, done.progress.error) == ("FAILED", "B3Unavailable")
    failed = done.progress.inputs["RetryFailed"]["failed"]
    assert sorted(f["target"] for f in failed) == sorted(INDICES)
    result = summary(stack, done)
    assert all(f"{code} day: B3Unavailable" in result["cause"] for code in INDICES)
    assert {row["index"]: row["status"] for row in result["indices"]} == dict.fromkeys(
        INDICES, "failed"
    )
    assert result["glue_runs"] == 0
    glue: Any = aws("glue")
    assert glue.get_job_runs(JobName=DOWN.glue_job)["JobRuns"] == []


def test_no_state_input_or_output_passes_64_kb(outcome: tuple[Deployed, Outcome]) -> None:
    _, done = outcome
    sfn: Any = aws("stepfunctions")
    pages = sfn.get_paginator("get_execution_history").paginate(executionArn=done.execution_arn)
    sizes = {
        (event["type"], details.get("name")): len(str(details.get(field, "")).encode())
        for page in pages
        for event in page["events"]
        for key, details in event.items()
        if key.endswith("EventDetails")
        for field in ("input", "output")
    }
    assert max(sizes.values()) > 10_000  # the failure records of 34 indices are in there
    assert max(sizes.values()) <= LIMIT, max(sizes.items(), key=lambda item: item[1])

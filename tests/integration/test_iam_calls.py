"""Sufficient IAM: the calls the components really make, against the Pulumi roles.

The local deployment runs the pipeline (the schedule path, the datasets ahead, an inbox/
drop) while the emulator records every AWS call a component makes
(``services.tool.local.recorder``). Each must be allowed by the policy the Pulumi program
gives that component's role, as MiniStack's IAM evaluator decides it. The state machines'
calls are read from their definitions (``tests/unit/test_infra.py``).
"""

from __future__ import annotations

import os
import re
from dataclasses import replace
from datetime import date
from functools import partial
from pathlib import Path
from typing import Any

import pytest

from glue import catalog
from services.pipeline import settings
from services.pipeline.lake.refined import refined_key
from services.tool.cli import dropped
from services.tool.local.deploy import ACCOUNT as LOCAL_ACCOUNT
from services.tool.local.deploy import LOCAL, REGION, deploy, served_at
from services.tool.local.recorder import CALL_LOG_ENV, read_calls
from services.tool.local.replay import ReplayServer, demo_ahead
from services.tool.local.run import Outcome, follow, start
from tests.ahead import configuration
from tests.aws_clients import aws
from tests.iam import Request, decision, requests_of_call
from tests.pulumi_mocks import ACCOUNT, bucket, run_program
from tests.recordings import FIXTURES, SEGMENT2_2025_07_10, load

pytestmark = [pytest.mark.spark, pytest.mark.filterwarnings("ignore::DeprecationWarning")]

#: The components whose calls are recorded, by the name they call with (= their role's).
RECORDED = (LOCAL.scraper_function, LOCAL.validate_function, LOCAL.trigger_function, LOCAL.glue_job)

GLUE = "arn:aws:glue:us-east-1:000000000000"
JULY_10 = "2025-07-10"
#: Before the run, the catalogue and refined/ hold July 10th without this ticker and with a
#: made-up one, so the run creates, updates and deletes partitions, whatever ran before.
MISSING, LEFT_OVER = "ALOS3", "ZZZZ3"


def arrange_july_10(bucket: str) -> None:
    """Set the day's partitions and files up (the tests' own client: not recorded)."""
    tickers = [r["cod"] for r in load(SEGMENT2_2025_07_10)["results"]]
    wanted = [(JULY_10, "IBOV", t) for t in [*tickers, LEFT_OVER] if t != MISSING]
    glue: Any = aws("glue")
    location = f"s3://{bucket}/{settings.REFINED_PREFIX}/"
    catalog.publish(LOCAL.database, LOCAL.table, location, [(JULY_10, "IBOV")], wanted, glue)
    s3: Any = aws("s3")
    s3.put_object(Bucket=bucket, Key=refined_key((JULY_10, "IBOV", LEFT_OVER)), Body=b"stale")


@pytest.fixture(scope="module")
def exercise(aws_endpoint: str) -> list[Request]:
    log = os.environ.get(CALL_LOG_ENV)
    if not log:
        pytest.skip("an external AWS endpoint: the calls are not recorded")
    # B3 has no current preview (a test-made answer): the scraper leaves its marker instead.
    with ReplayServer(answers={("GetConfigurations", "IBOV"): configuration(0)}) as server:
        frozen = partial(deploy, LOCAL, b3_base_url=server.base_url)  # at the body's session
        stack = frozen(now=served_at(server.cases["IBOV", "2"]))
        arrange_july_10(stack.bucket)
        before = len(read_calls(Path(log)))
        scheduled = follow(start(stack, LOCAL.schedule_input("IBOV", ahead=["preview"])))
        assert scheduled.status == "SUCCEEDED", scheduled.progress
        assert refined(scheduled) == {f"IBOV/{JULY_10}": 84}
        scraped = scheduled.progress.outputs["ScrapeIndices"]["ahead"]
        assert [a["status"] for a in scraped] == ["none"]
        # The datasets ahead, into their own tables: IBOV on 2022-12-08 (the demo's answers).
        server.serve(*demo_ahead())
        frozen(now=served_at(server.cases["IBOV", "2"]))
        ahead = follow(start(stack, LOCAL.schedule_input("IBOV")))
        assert ahead.status == "SUCCEEDED", ahead.progress
        statuses = [a["status"] for a in ahead.progress.outputs["ScrapeIndices"]["ahead"]]
        assert statuses == ["stored", "stored"]
        # B3's CSV download dropped under inbox/: the trigger starts it, Validate lands it.
        frozen(now=None)
        day = date(2025, 7, 17)
        csv = (FIXTURES / "IBOVDia_10-07-25.csv").read_bytes().replace(b"10/07/25", b"17/07/25")
        inbox = follow(dropped("inbox/IBOVDia_17-07-25.csv", csv)(stack))
        assert refined(inbox) == {f"IBOV/{day}": 84}, inbox.progress
    requests = [
        r
        for call in read_calls(Path(log))[before:]
        for r in requests_of_call(call, REGION, LOCAL_ACCOUNT)
    ]
    # the local buckets' names as the Pulumi stack's
    named = {
        f"arn:aws:s3:::{stack.bucket}": f"arn:aws:s3:::{bucket('lake')}",
        f"arn:aws:s3:::{stack.artifacts_bucket}": f"arn:aws:s3:::{bucket('artifacts')}",
    }
    for local, declared in named.items():
        requests = [
            replace(r, resource=re.sub(rf"^{re.escape(local)}(?=/|$)", declared, r.resource))
            for r in requests
        ]
    return requests


def refined(outcome: Outcome) -> Any:
    """Athena's count of each (index, dt) the execution refined (its smoke query's)."""
    return outcome.progress.outputs["Refine"]["refined"]["counts"]


def test_every_component_made_the_calls_it_is_there_for(exercise: list[Request]) -> None:
    made = {(r.component, r.action) for r in exercise}
    assert {
        (LOCAL.scraper_function, "s3:PutObject"),
        (LOCAL.validate_function, "s3:GetObject"),
        (LOCAL.validate_function, "s3:GetObjectVersion"),
        (LOCAL.validate_function, "s3:PutObject"),  # the promotion to raw/
        (LOCAL.trigger_function, "states:StartExecution"),
        (LOCAL.glue_job, "s3:GetObjectVersion"),
        (LOCAL.glue_job, "s3:PutObject"),
        (LOCAL.glue_job, "glue:BatchCreatePartition"),
        (LOCAL.glue_job, "glue:BatchUpdatePartition"),
        (LOCAL.glue_job, "glue:DeletePartition"),
    } <= made
    assert {r.component for r in exercise} == set(RECORDED)


def test_the_job_read_and_wrote_the_datasets_ahead(exercise: list[Request]) -> None:
    """The grants on the datasets ahead's prefixes and tables are exercised, not assumed."""
    job = {(r.action, r.resource) for r in exercise if r.component == LOCAL.glue_job}
    for dataset in ("theoretical", "preview"):
        raw, refined = f"/raw-{dataset}/index=IBOV/", f"/refined-{dataset}/dt=2022-12-08/"
        assert [r for a, r in job if a == "s3:GetObjectVersion" and raw in r], dataset
        assert [r for a, r in job if a == "s3:PutObject" and refined in r], dataset
        table = f"{GLUE}:table/default/b3_index_{dataset}"  # new, or there from another module
        assert {(f"glue:Batch{v}Partition", table) for v in ("Create", "Update")} & job, dataset


def test_every_call_is_allowed_by_the_role_the_pulumi_program_gives(
    exercise: list[Request],
) -> None:
    roles = run_program().of_type("aws:iam/rolePolicy:RolePolicy")
    documents = {p.name.removesuffix("-policy"): p.inputs["policy"] for p in roles}
    denied = {
        f"{r.component}: {r.action} on {r.resource} {dict(r.context)} ({r.source})"
        for r in exercise
        if decision(documents[r.component], r, ACCOUNT, REGION) != "Allow"
    }
    assert not denied, "\n".join(sorted(denied))

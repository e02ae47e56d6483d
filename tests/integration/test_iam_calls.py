"""Sufficient and least IAM: the calls the components really make, against the Pulumi roles.

The emulator enforces no IAM. Here the local deployment runs the pipeline — the schedule
path end to end (creating, updating and deleting partitions), the datasets ahead, and a raw
file dropped under inbox/ (the trigger, and Validate promoting it to raw/) — while the
emulator records every AWS call a component makes (``services.tool.local.recorder``: the
scraper, validate and trigger functions and the Glue job name themselves in their
User-Agent) and both state machines' Tasks are read from their executions' histories (the
refine machine's as deployed locally: each ``.sync`` Task as the start and poll calls Step
Functions makes for it). Each call must be allowed by the policy the Pulumi program gives
that component's role (declared under ``pulumi.runtime.set_mocks``), as MiniStack's IAM
evaluator decides it; and each granted action no call needed must have a written reason
below — AWS making that call with the role on the component's behalf — or go.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from glue import catalog
from infra.orchestration import UNSCOPABLE
from services.pipeline import settings
from services.pipeline.lake.layout import RawDay
from services.pipeline.lake.raw import to_parquet_bytes, to_table
from services.pipeline.lake.refined import refined_key
from services.tool.local.deploy import ACCOUNT as LOCAL_ACCOUNT
from services.tool.local.deploy import LOCAL, REGION, deploy
from services.tool.local.live import dropped
from services.tool.local.recorder import CALL_LOG_ENV, read_calls
from services.tool.local.replay import DEMO_AHEAD_DATASETS, ReplayServer, demo_ahead
from services.tool.local.run import Outcome, follow, refine_executions, start
from tests.ahead import configuration
from tests.aws_clients import aws
from tests.iam import Request, decision, requests_of_call, requests_of_execution, unexercised
from tests.lakes import on_day, recorded_portfolio
from tests.pulumi_mocks import ACCOUNT, Mocks, run_program
from tests.recordings import SEGMENT2_2025_07_10, load

pytestmark = [
    pytest.mark.spark,
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
]

#: The components whose calls are recorded, by the name they call with (= their role's).
FUNCTIONS = (LOCAL.scraper_function, LOCAL.validate_function, LOCAL.trigger_function)
MACHINES = (LOCAL.state_machine, LOCAL.refine_state_machine)
RECORDED = (*FUNCTIONS, LOCAL.glue_job, *MACHINES)

GLUE = "arn:aws:glue:us-east-1:000000000000"
#: The day's table's catalogue resources (the smoke query's Athena reads it alone)…
CATALOG = (
    f"{GLUE}:catalog",
    f"{GLUE}:database/default",
    f"{GLUE}:table/default/b3_index_portfolio",
)
REFINED = ("{lake}/refined/*", "{lake}/refined-theoretical/*", "{lake}/refined-preview/*")
LOGS = "arn:aws:logs:us-east-1:000000000000:log-group"
STATES = "arn:aws:states:us-east-1:000000000000"
MACHINE = f"{STATES}:stateMachine:{LOCAL.state_machine}"
REFINE_EXECUTIONS = f"{STATES}:execution:{LOCAL.refine_state_machine}"
REFINE_EXPRESS = f"{STATES}:express:{LOCAL.refine_state_machine}:*:*"
SYNC_RULE = (
    "arn:aws:events:us-east-1:000000000000:rule/StepFunctionsGetEventsForStepFunctionsExecutionRule"
)
WORKGROUP = f"arn:aws:athena:us-east-1:000000000000:workgroup/{LOCAL.workgroup}"
#: The crawler's own table, the raw layer's (``<table>_raw``: its prefix and the folder).
RAW_CATALOG = (*CATALOG[:2], f"{GLUE}:table/default/{LOCAL.crawler_table_prefix}*")


def log_groups(*groups: str) -> tuple[str, ...]:
    """A statement's resources for writing to ``groups`` (the group and its streams)."""
    return tuple(f"{LOGS}:{group}{suffix}" for group in groups for suffix in ("", ":*"))


LAMBDA_LOGS = (
    "Lambda writes the function's logs and, with active tracing, its X-Ray traces with the "
    "execution role (Lambda: 'Using source function ARN to control function access behavior' "
    "lists CreateLogStream, PutLogEvents, PutTraceSegments as calls it makes on the function's "
    "behalf; PutTelemetryRecords: 'Using AWS Lambda with AWS X-Ray', execution role permissions)"
)
CRAWLER = (
    "the crawler runs inside AWS Glue with its role: it lists and reads the new folders of its "
    "S3 target (raw/), creates and updates its own table and adds its partitions, logs to "
    "/aws-glue/crawlers (Glue: 'Crawler prerequisites', the AWSGlueServiceRole policy or a "
    "scoped-down version); the emulator's crawler makes no call"
)
ATHENA_CATALOG = (
    "Athena reads the table and its partitions from the Glue catalogue with the caller's "
    "credentials, the refine machine's (Athena: 'Configure access to databases and tables in "
    "the AWS Glue Data Catalog'); the emulator's Athena reads its catalogue directly"
)
SYNC_EXECUTION = (
    "startExecution.sync:2: Step Functions waits for the refine execution through the managed "
    "rule StepFunctionsGetEventsForStepFunctionsExecutionRule and DescribeExecution, and stops "
    "it if the Task is stopped, with the pipeline's role (Step Functions: 'IAM policies for "
    "AWS Step Functions', Run a Job .sync); MiniStack waits for the child itself"
)
SYNC_GLUE = (
    "glue:startJobRun.sync: Step Functions polls the run (GetJobRun, GetJobRuns) and stops it "
    "if the Task is stopped (BatchStopJobRun) with the refine machine's role (Step Functions: "
    "'IAM policies for AWS Glue'); the local stand-in polls with GetJobRun only"
)
SYNC_ATHENA = (
    "athena:startQueryExecution.sync: Step Functions stops the query if the Task is stopped, "
    "with the refine machine's role (Step Functions: 'IAM policies for Amazon Athena')"
)
ATHENA_S3 = (
    "Athena reads the table's files and writes, reads and lists the query results with the "
    "caller's credentials (Athena: 'Identity and access management in Athena', Amazon S3 "
    "permissions for the data and the query result location)"
)
SFN_LOGS = (
    "Step Functions delivers the execution logs to CloudWatch Logs and traces to X-Ray with "
    "the state machine's role; AWS allows no resource here (Step Functions: 'IAM policies "
    "for logging to CloudWatch Logs', 'IAM policies for using AWS X-Ray')"
)
GLUE_LOGS = (
    "Glue 5.0 writes the job's driver and executor logs to <prefix>/error and <prefix>/output, "
    "the prefix its --custom-logGroup-prefix names, with the job's role (Glue: 'Logging for "
    "AWS Glue jobs'); the local job logs to no log group"
)
#: The job's own log groups (its --custom-logGroup-prefix).
JOB_LOGS = tuple(f"/aws-glue/jobs/{LOCAL.glue_job}/{stream}" for stream in ("error", "output"))

#: Granted actions no local call needs, each with the reason it stays. Keys: role, action,
#: the statement's resources (placeholders below). Sources: AWS documentation, named.
REASONS: dict[tuple[str, str, tuple[str, ...]], str] = {
    **{
        (function, action, log_groups(f"/aws/lambda/{LOCAL.prefix}-{function}")): LAMBDA_LOGS
        for function in ("scraper", "validate", "trigger")
        for action in ("logs:CreateLogStream", "logs:PutLogEvents")
    },
    **{
        (function, action, ("*",)): LAMBDA_LOGS
        for function in ("scraper", "validate", "trigger")
        for action in ("xray:PutTraceSegments", "xray:PutTelemetryRecords")
    },
    ("scraper", "s3:DeleteObject", ("{lake}/raw/*", "{lake}/raw-theoretical/*",
                                     "{lake}/raw-preview/*")): (
        "the scraper deletes what it wrote when a later write of the same scrape fails, so no "
        "partial day stays (services/pipeline/scraper; "
        "test_failed_scrape_leaves_the_bucket_empty), and a dataset ahead's files an earlier "
        "scrape of the partition left (services/pipeline/lake/ahead.py)"
    ),
    ("scraper", "s3:GetObject", ("{lake}/raw-preview/*",)): (
        "'no preview now' keeps a preview stored earlier for the session and reads its row "
        "count (services/pipeline/lake/ahead.py; "
        "test_ahead.py::test_a_stored_preview_outlives_a_later_no_preview_answer)"
    ),
    ("etl", "s3:GetObject", ("{artifacts}/glue/*",)): (
        "Glue downloads the job's script (--scriptLocation) and --extra-py-files with the job's "
        "role (Glue: 'Setting up IAM permissions for AWS Glue', the role reads the script "
        "location); the emulator reads them itself"
    ),
    (
        "etl",
        "s3:GetObject",
        (
            *REFINED,
            "{lake}/refined_$folder$",
            "{lake}/staging/*",
            "{lake}/staging_$folder$",
        ),
    ): (
        "on AWS Spark writes the run's staging/ itself: its output committer renames each "
        "file by CopyObject, which needs GetObject on the source (S3: CopyObject permissions), "
        "Hadoop's S3 file system reads its directory markers, and the job copies each staged "
        "file into refined/ (CopyObject again); the local job stages in a local directory"
    ),
    ("etl", "s3:AbortMultipartUpload", (*REFINED, "{lake}/staging/*")): (
        "Spark uploads large files in parts and aborts an unfinished upload when a task fails "
        "(S3: 'Multipart upload API and permissions')"
    ),
    ("etl", "cloudwatch:PutMetricData", ("*",)): (
        "--enable-metrics: Glue publishes the job's metrics to CloudWatch (namespace Glue) with "
        "the job's role (Glue: 'Monitoring AWS Glue using Amazon CloudWatch metrics')"
    ),
    **{
        ("etl", action, log_groups(*JOB_LOGS)): GLUE_LOGS
        for action in ("logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents")
    },
    **{
        ("raw-crawler", f"glue:{action}", RAW_CATALOG): CRAWLER
        for action in (
            "GetDatabase", "GetTable", "CreateTable", "UpdateTable", "GetPartition",
            "GetPartitions", "BatchGetPartition", "BatchCreatePartition", "UpdatePartition",
            "BatchUpdatePartition",
        )
    },
    ("raw-crawler", "s3:GetObject", ("{lake}/raw/*",)): CRAWLER,
    ("raw-crawler", "s3:ListBucket", ("{lake}",)): CRAWLER,
    **{
        ("raw-crawler", action, log_groups("/aws-glue/crawlers")): CRAWLER
        for action in ("logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents")
    },
    ("validate", "s3:ListBucket", ("{lake}",)): (
        "with s3:ListBucket a GetObject of a missing key is 404 NoSuchKey, without it 403 "
        "AccessDenied (S3: GetObject, 'Permissions'); every object the runs read exists"
    ),
    ("pipeline", "states:DescribeExecution", (f"{REFINE_EXECUTIONS}:*", REFINE_EXPRESS)): (
        SYNC_EXECUTION
    ),
    ("pipeline", "states:StopExecution", (f"{REFINE_EXECUTIONS}:*",)): SYNC_EXECUTION,
    **{
        ("pipeline", f"events:{action}", (SYNC_RULE,)): SYNC_EXECUTION
        for action in ("PutTargets", "PutRule", "DescribeRule")
    },
    **{
        ("refine", f"glue:{action}", (f"{GLUE}:job/{LOCAL.glue_job}",)): SYNC_GLUE
        for action in ("GetJobRuns", "BatchStopJobRun")
    },
    ("refine", "athena:StopQueryExecution", (WORKGROUP,)): SYNC_ATHENA,
    **{
        ("refine", f"glue:{action}", CATALOG): ATHENA_CATALOG
        for action in (
            "GetDatabase", "GetTable", "GetPartition", "GetPartitions", "BatchGetPartition",
        )
    },
    ("refine", "s3:GetObject", ("{lake}/refined/*",)): ATHENA_S3,
    **{
        ("refine", action, ("{lake}",)): ATHENA_S3
        for action in ("s3:ListBucket", "s3:GetBucketLocation")
    },
    **{
        ("refine", action, ("{artifacts}", "{artifacts}/athena-results/*")): ATHENA_S3
        for action in (
            "s3:GetObject", "s3:PutObject", "s3:ListBucket", "s3:GetBucketLocation",
            "s3:AbortMultipartUpload",
        )
    },
    **{(machine, action, ("*",)): SFN_LOGS for machine in ("pipeline", "refine")
       for action in UNSCOPABLE},
    ("workflow-scheduler", "states:StartExecution", (MACHINE,)): (
        "EventBridge Scheduler starts the daily executions with this role (Scheduler: 'Set up "
        "the execution role'); the local deployment has no schedule"
    ),
}  # fmt: skip


@dataclass(frozen=True)
class Exercise:
    """What the pipeline did on the emulator: the requests, by component."""

    requests: list[Request]
    executions: list[str]


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
def exercise(aws_endpoint: str) -> Exercise:
    log = os.environ.get(CALL_LOG_ENV)
    if not log:
        pytest.skip("an external AWS endpoint: the calls are not recorded")
    # B3 has no current preview (a test-made GetConfigurations answer): the scraper checks
    # and leaves its marker under raw-preview/.
    with ReplayServer(answers={("GetConfigurations", "IBOV"): configuration(0)}) as server:
        stack = deploy(LOCAL, b3_base_url=server.base_url)
        arrange_july_10(stack.bucket)
        before = len(read_calls(Path(log)))
        scheduled = follow(start(stack, LOCAL.schedule_input("IBOV", ahead=["preview"])))
        assert scheduled.status == "SUCCEEDED", scheduled.progress
        assert refined(scheduled) == {f"IBOV/{JULY_10}": 84}
        assert [a["status"] for a in scheduled.progress.outputs["ScrapeIndices"]["ahead"]] == [
            "none"
        ]
        # The datasets ahead refined into their own tables: IBOV on 2022-12-08 with its
        # recorded theoretical portfolio and a preview made from it (the demo's answers).
        server.serve(*demo_ahead())
        ahead = follow(start(stack, LOCAL.schedule_input("IBOV", ahead=DEMO_AHEAD_DATASETS)))
        assert ahead.status == "SUCCEEDED", ahead.progress
        assert [a["status"] for a in ahead.progress.outputs["ScrapeIndices"]["ahead"]] == [
            "stored",
            "stored",
        ]
        # A day dropped by hand under inbox/: the trigger starts the execution, Validate
        # promotes the file to raw/, and it is refined.
        day = date(2025, 7, 17)
        table = to_table(on_day(recorded_portfolio(SEGMENT2_2025_07_10), day))
        inbox = follow(dropped(RawDay("IBOV", day), to_parquet_bytes(table))(stack))
        assert refined(inbox) == {f"IBOV/{day}": 84}, inbox.progress
    requests = [
        r
        for call in read_calls(Path(log))[before:]
        for r in requests_of_call(call, REGION, LOCAL_ACCOUNT)
    ]
    sfn: Any = aws("stepfunctions")
    athena: Any = aws("athena")
    pipelines = [scheduled.execution_arn, ahead.execution_arn, inbox.execution_arn]
    executions = {
        LOCAL.state_machine: pipelines,
        LOCAL.refine_state_machine: [r for arn in pipelines for r in refine_executions(sfn, arn)],
    }
    for machine, arns in executions.items():
        # The definition as deployed: locally, the refine machine's .sync Tasks are polled.
        arn = stack.state_machine_arn.replace(LOCAL.state_machine, machine)
        definition = json.loads(sfn.describe_state_machine(stateMachineArn=arn)["definition"])
        for execution in arns:
            events = sfn.get_execution_history(executionArn=execution, maxResults=1000)["events"]
            started = [
                json.loads(e["taskSucceededEventDetails"]["output"])["QueryExecutionId"]
                for e in events
                if e["type"] == "TaskSucceeded"
                and e["taskSucceededEventDetails"]["resource"].endswith("startQueryExecution")
            ]

            def workgroup(query: str, started: list[str] = started) -> str:
                """The query's workgroup; a query whose id is a JSONata expression (not in
                the history) is one this execution started."""
                (found,) = {
                    athena.get_query_execution(QueryExecutionId=q)["QueryExecution"]["WorkGroup"]
                    for q in ([query] if query else started)
                }
                return str(found)

            requests += requests_of_execution(
                machine, events, definition, REGION, LOCAL_ACCOUNT, workgroup
            )
    return Exercise(
        [as_declared(r, stack.bucket, stack.artifacts_bucket) for r in requests],
        [arn for arns in executions.values() for arn in arns],
    )


def refined(outcome: Outcome) -> dict[str, int]:
    """Athena's count of each (index, dt) the execution refined (its smoke query's)."""
    counts: dict[str, int] = outcome.progress.outputs["Refine"]["refined"]["counts"]
    return counts


@pytest.fixture(scope="module")
def declared() -> Mocks:
    return run_program()


def bucket_of(stack: Mocks, label: str) -> str:
    (bucket,) = [b for b in stack.of_type("aws:s3/bucket:Bucket") if b.name.endswith(f"-{label}")]
    return f"{bucket.inputs['bucketPrefix']}20251123"


def policies(stack: Mocks) -> dict[str, str]:
    """The inline policy document of each role, by the role's base name."""
    return {
        p.name.removesuffix("-policy"): p.inputs["policy"]
        for p in stack.of_type("aws:iam/rolePolicy:RolePolicy")
    }


LOCAL_BUCKETS = {"lake": f"{LOCAL.prefix}-lake", "artifacts": f"{LOCAL.prefix}-artifacts"}


def as_declared(request: Request, lake: str, artifacts: str) -> Request:
    """The request with the local bucket names (placeholders until the stack is read)."""
    resource = request.resource
    for label, bucket in (("lake", lake), ("artifacts", artifacts)):
        resource = re.sub(rf"^arn:aws:s3:::{re.escape(bucket)}(?=/|$)", f"{{{label}}}", resource)
    return Request(request.component, request.action, resource, request.context, request.source)


def on_stack(request: Request, stack: Mocks) -> Request:
    resource = request.resource
    for label in ("lake", "artifacts"):
        resource = resource.replace(f"{{{label}}}", f"arn:aws:s3:::{bucket_of(stack, label)}")
    return Request(request.component, request.action, resource, request.context, request.source)


def test_every_component_made_the_calls_it_is_there_for(exercise: Exercise) -> None:
    made = {(r.component, r.action) for r in exercise.requests}
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
        (LOCAL.state_machine, "lambda:InvokeFunction"),
        (LOCAL.state_machine, "states:StartExecution"),
        (LOCAL.refine_state_machine, "glue:StartJobRun"),
        (LOCAL.refine_state_machine, "glue:GetJobRun"),
        (LOCAL.refine_state_machine, "glue:StartCrawler"),
        (LOCAL.refine_state_machine, "athena:StartQueryExecution"),
        (LOCAL.refine_state_machine, "athena:GetQueryResults"),
    } <= made
    assert {r.component for r in exercise.requests} == set(RECORDED)


def test_the_job_read_and_wrote_the_datasets_ahead(exercise: Exercise) -> None:
    """The grants on the datasets ahead's prefixes and tables are exercised, not assumed."""
    job = {(r.action, r.resource) for r in exercise.requests if r.component == LOCAL.glue_job}
    for dataset in ("theoretical", "preview"):
        assert any(
            action == "s3:GetObjectVersion" and f"/raw-{dataset}/index=IBOV/" in resource
            for action, resource in job
        ), dataset
        assert any(
            action == "s3:PutObject" and f"/refined-{dataset}/dt=2022-12-08/" in resource
            for action, resource in job
        ), dataset
        assert ("glue:BatchCreatePartition", f"{GLUE}:table/default/b3_index_{dataset}") in job


def test_every_call_is_allowed_by_the_role_the_pulumi_program_gives(
    exercise: Exercise, declared: Mocks
) -> None:
    documents = policies(declared)
    denied = sorted(
        {
            f"{r.component}: {r.action} on {r.resource} {dict(r.context)} ({r.source})"
            for r in map(lambda r: on_stack(r, declared), exercise.requests)
            if decision(documents[r.component], r, ACCOUNT, REGION) != "Allow"
        }
    )
    assert not denied, "\n".join(denied)


def test_the_evaluator_denies_what_the_roles_do_not_grant(declared: Mocks) -> None:
    documents = policies(declared)
    lake = f"arn:aws:s3:::{bucket_of(declared, 'lake')}"
    scraper = LOCAL.scraper_function

    def verdict(action: str, resource: str, **context: str) -> str:
        request = Request(scraper, action, resource, tuple(context.items()))
        return decision(documents[scraper], request, ACCOUNT, REGION)

    assert (
        verdict("s3:PutObject", f"{lake}/raw/index=IBOV/dt=2025-07-10/portfolio.parquet") == "Allow"
    )
    assert verdict("s3:PutObject", f"{lake}/refined/x.parquet") == "ImplicitDeny"
    assert verdict("s3:GetObject", f"{lake}/raw/x") == "ImplicitDeny"
    assert verdict("s3:ListBucket", lake, **{"s3:prefix": "raw/index=IBOV/"}) == "Allow"
    assert verdict("s3:ListBucket", lake, **{"s3:prefix": "refined/"}) == "ImplicitDeny"
    assert verdict("s3:ListBucket", lake) == "ImplicitDeny"


def test_every_granted_action_is_needed_or_has_a_reason(
    exercise: Exercise, declared: Mocks
) -> None:
    requests = [on_stack(r, declared) for r in exercise.requests]
    labels = {f"arn:aws:s3:::{bucket_of(declared, k)}": f"{{{k}}}" for k in ("lake", "artifacts")}
    idle: set[tuple[str, str, tuple[str, ...]]] = set()
    for role, document in policies(declared).items():
        mine = [r for r in requests if r.component == role]
        for action, resources in unexercised(document, mine, ACCOUNT, REGION):
            named = tuple(_label(resource, labels) for resource in resources)
            idle.add((role.removeprefix(f"{LOCAL.prefix}-"), action, named))
    missing = sorted(idle - REASONS.keys())
    stale = sorted(REASONS.keys() - idle)
    assert not missing, "granted, never needed, no reason:\n" + "\n".join(map(str, missing))
    assert not stale, "a reason for a grant that is needed or gone:\n" + "\n".join(map(str, stale))


def _label(resource: str, labels: dict[str, str]) -> str:
    for arn, label in labels.items():
        resource = resource.replace(arn, label)
    return resource


def test_the_recorded_calls_are_json_lines(exercise: Exercise) -> None:
    log = Path(os.environ[CALL_LOG_ENV])
    first = json.loads(log.read_text().splitlines()[0])
    assert set(first) == {"component", "method", "path", "query", "headers", "body", "status"}

"""The Pulumi program under ``pulumi.runtime.set_mocks``: resources, protections, privileges."""

from __future__ import annotations

import fnmatch
import json
import re
from typing import Any

import pulumi
import pytest

from glue.schema import TABLES
from infra.etl import CRAWLER_LOG_GROUP, NOT_FOUND
from infra.orchestration import ATHENA_CATALOG_ACTIONS
from services.deploy.asl import all_states
from services.deploy.deployment import IMAGE_OF_HANDLER, execution_arn, state_machine_arn
from services.deploy.stack_settings import DEFAULTS, read_stack_file
from services.pipeline import settings
from services.pipeline.lake.datasets import RAW_PREFIXES
from services.tool.analysis.queries import saved_queries
from services.tool.analysis.views import views
from services.tool.local.deploy import LOCAL, deployed
from tests.iam import Request, api_resources, arguments, decision, integration_calls
from tests.pulumi_mocks import ACCOUNT, CONFIG, DIGEST, REGION, Declared, Mocks, bucket, run_program

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

SFN = "aws:sfn/stateMachine:StateMachine"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
LIFECYCLE = "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration"
FUNCTION = "aws:lambda/function:Function"
TABLE = "aws:glue/catalogTable:CatalogTable"
MACHINES = (LOCAL.state_machine, LOCAL.refine_state_machine)


@pytest.fixture(scope="module")
def stack() -> Mocks:
    return run_program()


LAKE = bucket("lake")


def definition(stack: Mocks, machine: str) -> Any:
    return json.loads(stack.one(SFN, machine).inputs["definition"])


def statements(stack: Mocks, role_fragment: str) -> Any:
    (policy,) = [p for p in stack.of_type(ROLE_POLICY) if role_fragment in p.name]
    return json.loads(policy.inputs["policy"])["Statement"]


def waits_for(stack: Mocks, declared: Declared) -> set[str]:
    by_name, found, pending = {d.name: d for d in stack.declared}, set(), set(declared.dependencies)
    while pending:
        found.add(name := pending.pop())
        pending |= by_name[name].dependencies - found
    return found


def test_buckets_are_private_encrypted_tls_only_and_the_lake_keeps_versions(stack: Mocks) -> None:
    buckets = {b.name.rsplit("-", 1)[1]: b.inputs for b in stack.of_type("aws:s3/bucket:Bucket")}
    # `pulumi destroy` empties the artifacts (code, Athena results); the lake never.
    assert buckets["artifacts"]["forceDestroy"] is True
    assert not buckets["lake"].get("forceDestroy")
    blocks = stack.of_type("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock")
    blocked = ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
    assert [[block.inputs[k] for k in blocked] for block in blocks] == [[True] * 4] * 2
    for policy in stack.of_type("aws:s3/bucketPolicy:BucketPolicy"):
        (statement,) = json.loads(policy.inputs["policy"])["Statement"]
        assert statement["Effect"] == "Deny"
        assert statement["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    (versioning,) = stack.of_type("aws:s3/bucketVersioning:BucketVersioning")
    assert versioning.inputs["versioningConfiguration"]["status"] == "Enabled"
    assert "lake" in versioning.name
    (notification,) = stack.of_type("aws:s3/bucketNotification:BucketNotification")
    assert notification.inputs["eventbridge"] is True


def test_replaced_versions_expire_under_every_refined_table_and_no_raw_prefix(stack: Mocks) -> None:
    """Raw versions are what B3 sent, kept on purpose; replaced refined files are noise."""
    (lake,) = [lc for lc in stack.of_type(LIFECYCLE) if lc.name.endswith("-lake-lifecycle")]
    rules = lake.inputs["rules"]
    expiring = {
        r["filter"]["prefix"]: r["noncurrentVersionExpiration"]["noncurrentDays"]
        for r in rules
        if "noncurrentVersionExpiration" in r
    }
    refined = {f"{table.prefix}/": 30 for table in TABLES}
    assert expiring == {**refined, f"{settings.STAGING_PREFIX}/": 1}
    assert not [r for r in rules if r["filter"]["prefix"].split("/")[0] in RAW_PREFIXES]
    # S3 refuses ExpiredObjectDeleteMarker beside Days in one expiration: a rule of its own.
    assert {"id": "remove-expired-delete-markers", "status": "Enabled", "filter": {"prefix": ""},
            "expiration": {"expiredObjectDeleteMarker": True}} in rules  # fmt: skip
    (results,) = [lc for lc in stack.of_type(LIFECYCLE) if "artifacts" in lc.name]
    assert results.inputs["rules"][0]["filter"]["prefix"] == "athena-results/"


def test_each_function_runs_its_image_by_digest_once_pushed(stack: Mocks) -> None:
    for image in stack.of_type("docker-build:index:Image"):
        assert image.inputs["platforms"] == ["linux/amd64"]
        # Lambda refuses an image index with attestations; push=True would push twice.
        assert image.inputs["exports"] == [{"registry": {"ociMediaTypes": False}}]
        assert not image.inputs.get("push")
    functions = {f.inputs["name"]: f.inputs for f in stack.of_type(FUNCTION)}
    for name, function in functions.items():
        (handler,) = function["imageConfig"]["commands"]
        repository, digest = function["imageUri"].split("@")
        assert digest == DIGEST
        assert repository.endswith(f"-{IMAGE_OF_HANDLER[handler]}"), name
        assert function["tracingConfig"] == {"mode": "Active"}
        assert any("xray:PutTraceSegments" in s["Action"] for s in statements(stack, name))
        limits = LOCAL.function_limits(name)
        assert (function["timeout"], function["memorySize"]) == tuple(vars(limits).values())
    scraper = functions[LOCAL.scraper_function]["environment"]["variables"]
    assert scraper[settings.LAKE_URI_ENV] == f"s3://{LAKE}"
    machine = state_machine_arn(LOCAL.state_machine, REGION, ACCOUNT)
    assert functions[LOCAL.trigger_function]["environment"]["variables"] == {
        settings.STATE_MACHINE_ARN_ENV: machine
    }


def test_every_log_group_keeps_logs_for_the_stacks_retention(stack: Mocks) -> None:
    """Lambda, Step Functions and Glue would keep logs for ever in groups they create."""
    groups = {g.inputs["name"]: g.inputs["retentionInDays"] for g in stack.of_type(LOG_GROUP)}
    job_logs = {f"/aws-glue/jobs/{LOCAL.glue_job}/error", f"/aws-glue/jobs/{LOCAL.glue_job}/output"}
    assert set(groups) == {
        *(f"/aws/lambda/{f.inputs['name']}" for f in stack.of_type(FUNCTION)),
        *(f"/aws/vendedlogs/states/{machine}" for machine in MACHINES),
        *job_logs,
        CRAWLER_LOG_GROUP,
    }
    assert set(groups.values()) == {30}
    for machine in MACHINES:  # Standard (redrivable), traced, logged
        inputs = stack.one(SFN, machine).inputs
        assert (inputs["type"], inputs["tracingConfiguration"]) == ("STANDARD", {"enabled": True})
        destination = inputs["loggingConfiguration"]["logDestination"]
        assert destination.split(":log-group:")[1].removesuffix(":*") in groups
    job = stack.one("aws:glue/job:Job").inputs["defaultArguments"]
    assert {f"{job['--custom-logGroup-prefix']}/{s}" for s in ("error", "output")} == job_logs
    for owner, written in ((LOCAL.glue_job, job_logs), (LOCAL.crawler, {CRAWLER_LOG_GROUP})):
        policy = statements(stack, f"{owner}-policy")
        logs = [r for s in policy if "logs:PutLogEvents" in s["Action"] for r in s["Resource"]]
        assert {r.split(":log-group:")[1].removesuffix(":*") for r in logs} == written
    # the account's crawlers all log there: kept on destroy
    assert stack.one(LOG_GROUP, CRAWLER_LOG_GROUP).retain_on_delete is True


def test_an_existing_crawler_log_group_is_left_alone() -> None:
    mocks = run_program(mocks=Mocks(existing_log_groups={CRAWLER_LOG_GROUP}))
    assert CRAWLER_LOG_GROUP not in {g.inputs["name"] for g in mocks.of_type(LOG_GROUP)}


def test_every_policy_passes_parliament_and_none_allows_a_whole_service(stack: Mocks) -> None:
    from parliament import analyze_policy_string

    policies = [("identity", p.name, p.inputs["policy"]) for p in stack.of_type(ROLE_POLICY)]
    policies += [("trust", r.name, r.inputs["assumeRolePolicy"]) for r in stack.of_type(ROLE)]
    policies += [("bucket", b.name, b.inputs["policy"])
                 for b in stack.of_type("aws:s3/bucketPolicy:BucketPolicy")]  # fmt: skip
    # accepted: a trust policy names no Resource (parliament reads it as an identity policy)
    no_resource = {("MALFORMED", "Statement contains neither Resource nor NotResource")}
    for kind, name, document in policies:
        findings = {(f.issue, str(f.detail)) for f in analyze_policy_string(document).findings}
        assert findings <= (no_resource if kind == "trust" else set()), name
        if kind == "identity":
            for statement in json.loads(document)["Statement"]:
                assert statement["Effect"] == "Allow"
                assert not [a for a in statement["Action"] if a == "*" or a.endswith(":*")], name


def test_each_function_may_do_only_its_job(stack: Mocks) -> None:
    lake = f"arn:aws:s3:::{LAKE}"
    scraper = statements(stack, "scraper-policy")
    job = statements(stack, f"{LOCAL.glue_job}-policy")
    scraped = [f"{lake}/{p}/*" for p in ("raw", "raw-theoretical", "raw-preview")]
    assert [s for s in scraper if "s3:PutObject" in s["Action"]] == [
        {"Effect": "Allow", "Action": ["s3:PutObject", "s3:DeleteObject"], "Resource": scraped}
    ]
    assert [s["Resource"] for s in job if "s3:GetObjectVersion" in s["Action"]] == [scraped]
    assert [s["Resource"] for s in scraper if s["Action"] == ["s3:GetObject"]] == [
        [f"{lake}/raw-preview/*"]  # "no preview now" keeps a stored preview
    ]
    (listing,) = [s for s in scraper if s["Action"] == ["s3:ListBucket"]]
    assert listing["Condition"] == {
        "StringLike": {"s3:prefix": ["raw/*", "raw-theoretical/*", "raw-preview/*"]}
    }
    validate = statements(stack, "validate-policy")
    assert {tuple(s["Action"]): s["Resource"] for s in validate if "s3:" in s["Action"][0]} == {
        ("s3:GetObject", "s3:GetObjectVersion"): [
            f"{lake}/inbox/*",
            f"{lake}/raw/*",
            f"{lake}/raw-theoretical/*",
        ],
        # a CSV download landed: a day's, or a four-month portfolio's
        ("s3:PutObject", "s3:DeleteObject"): [f"{lake}/raw/*", f"{lake}/raw-theoretical/*"],
        ("s3:ListBucket",): [lake],  # a missing object is NoSuchKey, not AccessDenied
    }
    trigger = [s for s in statements(stack, "trigger-policy") if s["Resource"] != ["*"]]
    assert [(s["Action"], s["Resource"]) for s in trigger if "logs:" not in s["Action"][0]] == [
        (["states:StartExecution"], [state_machine_arn(LOCAL.state_machine, REGION, ACCOUNT)])
    ]
    (metrics,) = [s for s in job if "cloudwatch:PutMetricData" in s["Action"]]
    assert metrics["Condition"] == {"StringEquals": {"cloudwatch:namespace": "Glue"}}
    (writes,) = [s for s in job if "s3:PutObject" in s["Action"]]
    assert writes["Resource"] == [
        *(f"{lake}/{p}/*" for p in ("refined", "refined-theoretical", "refined-preview")),
        f"{lake}/refined_$folder$",
        f"{lake}/staging/*",
        f"{lake}/staging_$folder$",
    ]


def test_each_state_machine_role_allows_its_tasks_calls_and_no_other(stack: Mocks) -> None:
    """The role of each machine allows exactly the calls of its Tasks (beside Athena's reads
    for the smoke query, S3 for its results, log delivery and X-Ray on "*"), on the
    resources the Tasks name, as MiniStack's IAM evaluator decides."""
    for machine in MACHINES:
        (document,) = [
            p.inputs["policy"] for p in stack.of_type(ROLE_POLICY) if p.name == f"{machine}-policy"
        ]
        tasks = [(n, s) for n, s in all_states(definition(stack, machine)) if s["Type"] == "Task"]
        called = {a for _, state in tasks for a in integration_calls(state["Resource"])}
        allowed = {
            action
            for s in statements(stack, f"{machine}-policy")
            if s["Resource"] != ["*"]
            for action in s["Action"]
            if not action.startswith("s3:") and action not in ATHENA_CATALOG_ACTIONS
        }
        assert allowed == called, machine
        for name, state in tasks:
            action = integration_calls(state["Resource"])[0]
            resources = api_resources(action, arguments(state), REGION, ACCOUNT, LOCAL.workgroup)
            for resource in resources:
                request = Request(machine, action, resource, source=name)
                assert decision(document, request, ACCOUNT, REGION) == "Allow", request
    pipeline = {a: s["Resource"] for s in statements(stack, "pipeline-policy") for a in s["Action"]}
    refine_arn = state_machine_arn(LOCAL.refine_state_machine, REGION, ACCOUNT)
    assert pipeline["states:StopExecution"] == [execution_arn(refine_arn)]


def test_the_job_the_refined_tables_and_the_crawler(stack: Mocks) -> None:
    job = stack.one("aws:glue/job:Job").inputs
    assert (job["glueVersion"], job["command"]["name"], job["maxRetries"]) == ("5.0", "glueetl", 0)
    code = (job["command"]["scriptLocation"], job["defaultArguments"]["--extra-py-files"])
    assert re.search(r"/glue/[0-9a-f]{16}/job\.py$", code[0])
    assert re.search(r"/glue/[0-9a-f]{16}/bovespa\.zip$", code[1])
    # One run at a time (two publishing one day would interleave), the others WAITING.
    assert job["jobRunQueuingEnabled"] is True
    assert job["executionProperty"] == {"maxConcurrentRuns": 1}
    for table_name, described in zip(LOCAL.tables, TABLES, strict=True):
        table = stack.one(TABLE, table_name).inputs
        assert [k["name"] for k in table["partitionKeys"]] == list(settings.REFINED_PARTITION_KEYS)
        location = f"s3://{LAKE}/{described.prefix}/"
        assert table["storageDescriptor"]["location"] == location
    # The crawler: raw/'s new folders only (so a crawl grows with the day, not the lake),
    # into tables of its own prefix; the refined tables are Pulumi's, their partitions the job's.
    declared = stack.one("aws:glue/crawler:Crawler")
    crawler, raw = declared.inputs, f"s3://{LAKE}/raw/"
    assert crawler["s3Targets"] == [{"path": raw, "exclusions": ["**/_*"]}]  # not _b3-*.json
    assert crawler["recrawlPolicy"] == {"recrawlBehavior": "CRAWL_NEW_FOLDERS_ONLY"}
    assert crawler["schemaChangePolicy"] == {"updateBehavior": "LOG", "deleteBehavior": "LOG"}
    owned = [
        r.split(":table/default/")[1]
        for s in statements(stack, f"{LOCAL.crawler}-policy")
        if "glue:CreateTable" in s["Action"]
        for r in s["Resource"]
        if ":table/" in r
    ]
    assert owned == [f"{crawler['tablePrefix']}*"]
    assert not [t for t in LOCAL.tables if fnmatch.fnmatch(t, owned[0])]
    tables = {t.name for t in stack.of_type(TABLE) if t.inputs["name"] in LOCAL.tables}
    assert not tables & waits_for(stack, declared)
    actions = {a for s in statements(stack, f"{LOCAL.glue_job}-policy") for a in s["Action"]}
    assert {"glue:BatchCreatePartition", "glue:DeletePartition"} <= actions
    assert not {"glue:CreateTable", "glue:UpdateTable"} & actions


def test_a_missing_default_database_is_created_and_kept_on_destroy(stack: Mocks) -> None:
    assert not stack.of_type("aws:glue/catalogDatabase:CatalogDatabase")  # an existing one
    mocks = run_program(mocks=Mocks(existing_databases=set()))
    database = mocks.one("aws:glue/catalogDatabase:CatalogDatabase")
    assert database.inputs["name"] == "default"
    assert database.retain_on_delete is True
    for table in mocks.of_type(TABLE):  # the tables directly, the views through the day's
        assert database.name in waits_for(mocks, table), table.name


def test_only_a_not_found_answer_means_the_database_is_missing() -> None:
    """Cloud Control's other "not found"; the provider's is the mocks' (above)."""
    assert NOT_FOUND.search(
        "ResourceNotFoundException: AWS::Glue::Database Handler returned "
        "status FAILED: Database default not found. (HandlerErrorCode: NotFound)"
    )
    assert not NOT_FOUND.search("ThrottlingException: Rate exceeded")


def test_a_failed_database_lookup_stops_the_deployment() -> None:
    denied = "AccessDeniedException: not authorized to perform cloudformation:GetResource"
    with pytest.raises(Exception, match="AccessDenied"):
        run_program(mocks=Mocks(lookup_error=denied))


def test_everything_that_runs_as_a_role_waits_for_the_roles_policy(stack: Mocks) -> None:
    job, crawler = stack.one("aws:glue/job:Job"), stack.one("aws:glue/crawler:Crawler")
    schedules = stack.of_type("aws:scheduler/schedule:Schedule")
    users = [
        *[(f, f.inputs["role"]) for f in stack.of_type(FUNCTION)],
        (job, job.inputs["roleArn"]),
        (crawler, crawler.inputs["role"]),
        *[(m, m.inputs["roleArn"]) for m in stack.of_type(SFN)],
        *[(s, s.inputs["target"]["roleArn"]) for s in schedules],
    ]
    for user, used_role in users:
        (role,) = [r for r in stack.of_type(ROLE) if used_role.endswith(f":{r.name}")]
        (policy,) = [p for p in stack.of_type(ROLE_POLICY) if p.inputs["role"] == f"{role.name}-id"]
        assert policy.name in user.dependencies, user.name


def test_trust_policies_name_the_account_where_the_service_supports_it(stack: Mocks) -> None:
    def source(service: str, resource: str) -> dict[str, Any]:
        arn = f"arn:aws:{service}:{REGION}:{ACCOUNT}:{resource}"
        return {"StringEquals": {"aws:SourceAccount": ACCOUNT}, "ArnLike": {"aws:SourceArn": arn}}

    expected = {
        # Glue and Lambda document no such keys for the roles they assume: a condition the
        # service does not send would deny it the role.
        "glue.amazonaws.com": None,
        "lambda.amazonaws.com": None,
        "states.amazonaws.com": source("states", "stateMachine:*"),
        "scheduler.amazonaws.com": source("scheduler", "schedule-group/default"),
    }
    for role in stack.of_type(ROLE):
        (statement,) = json.loads(role.inputs["assumeRolePolicy"])["Statement"]
        assert statement.get("Condition") == expected[statement["Principal"]["Service"]], role.name


def test_a_bad_setting_stops_pulumi_up_in_one_line() -> None:
    message = "^bovespa-pipeline:indices: unknown B3 index code 'XPTO'"
    with pytest.raises(pulumi.RunError, match=message):
        run_program({**CONFIG, "indices": "IBOV,XPTO"})


def test_glue_refusals_are_retried_past_a_run_and_the_pipeline_outlives_two_refines(
    stack: Mocks,
) -> None:
    """Refused for concurrency (account quota), the job's start is retried for about one
    run's timeout (full jitter waits half the delay on average), within the refine
    execution's timeout; the pipeline waits for a refine, minutes, then another."""
    refine = definition(stack, LOCAL.refine_state_machine)
    start = refine["States"]["GlueJob"]
    busy = "Glue.ConcurrentRunsExceededException"
    (refused,) = [r for r in start["Retry"] if busy in r["ErrorEquals"]]
    delays = [
        min(refused["IntervalSeconds"] * refused["BackoffRate"] ** n, refused["MaxDelaySeconds"])
        for n in range(refused["MaxAttempts"])
    ]
    for minutes in (DEFAULTS.glue_timeout_minutes, read_stack_file("prod")[1].glue_timeout_minutes):
        assert sum(delays) / 2 >= minutes * 60
        assert start["TimeoutSeconds"] > minutes * 60
    assert sum(delays) <= refine["TimeoutSeconds"]
    pipeline = definition(stack, LOCAL.state_machine)
    waited = pipeline["States"]["WaitBeforeRetry"]["Seconds"]
    assert pipeline["TimeoutSeconds"] > 2 * refine["TimeoutSeconds"] + waited


def test_an_object_dropped_under_inbox_and_the_daily_schedule_start_the_pipeline(
    stack: Mocks,
) -> None:
    rule = stack.one("aws:cloudwatch/eventRule:EventRule").inputs
    assert json.loads(rule["eventPattern"]) == LOCAL.inbox_event_pattern(LAKE)
    target = stack.one("aws:cloudwatch/eventTarget:EventTarget").inputs
    assert target["arn"] == deployed(LOCAL).trigger_arn
    permission = stack.one("aws:lambda/permission:Permission").inputs
    assert permission["principal"] == "events.amazonaws.com"
    # One schedule for the stack, whatever the number of indices: one execution a day.
    (schedule,) = [s.inputs for s in stack.of_type("aws:scheduler/schedule:Schedule")]
    assert schedule["scheduleExpression"] == "cron(0 8 ? * MON-FRI *)"
    assert schedule["scheduleExpressionTimezone"] == "America/Sao_Paulo"
    assert schedule["target"]["arn"] == state_machine_arn(LOCAL.state_machine, REGION, ACCOUNT)
    scheduled = {"source": "schedule", "indices": ["IBOV", "SMLL"]}
    assert json.loads(schedule["target"]["input"]) == scheduled


def test_the_saved_queries_and_views_are_published(stack: Mocks) -> None:
    named = {q.inputs["name"]: q.inputs for q in stack.of_type("aws:athena/namedQuery:NamedQuery")}
    assert set(named) == set(saved_queries())
    where = {(q["workgroup"], q["database"]) for q in named.values()}
    assert where == {(LOCAL.workgroup, "default")}
    tables = [t.inputs for t in stack.of_type(TABLE)]
    assert {t["name"] for t in tables if t.get("tableType") == "VIRTUAL_VIEW"} == set(views())


def test_analytics_and_monitoring(stack: Mocks) -> None:
    workgroup = stack.one("aws:athena/workgroup:Workgroup").inputs["configuration"]
    assert workgroup["enforceWorkgroupConfiguration"] is True
    assert workgroup["bytesScannedCutoffPerQuery"] == 1073741824
    assert workgroup["resultConfiguration"]["outputLocation"].endswith("/athena-results/")
    alarms = [a.inputs for a in stack.of_type("aws:cloudwatch/metricAlarm:MetricAlarm")]
    functions = {f.inputs["name"] for f in stack.of_type(FUNCTION)}
    assert {a["dimensions"].get("FunctionName") for a in alarms} - {None} == functions
    assert {a["metricName"] for a in alarms} == {"ExecutionsFailed", "ExecutionsTimedOut", "Errors"}
    subscription = stack.one("aws:sns/topicSubscription:TopicSubscription").inputs
    assert (subscription["protocol"], subscription["endpoint"]) == ("email", "alerts@example.com")

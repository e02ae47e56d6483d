"""The Pulumi program under ``pulumi.runtime.set_mocks``: resources, protections, privileges."""

from __future__ import annotations

import base64
import fnmatch
import json
import re
from dataclasses import fields
from typing import Any

import pytest
import yaml

from glue.schema import TABLES
from infra.config import StackConfig, StackConfigError
from infra.etl import CRAWLER_LOG_GROUP, NOT_FOUND
from infra.orchestration import ATHENA_CATALOG_ACTIONS
from services.deploy.asl import PIPELINE, REFINE, all_states, render_json
from services.deploy.deployment import (
    SCRAPER_HANDLER,
    TRIGGER_HANDLER,
    VALIDATE_HANDLER,
    Deployment,
    execution_arn,
    role_arn,
    role_name,
    state_machine_arn,
)
from services.deploy.packaging import (
    IMAGE_OF_HANDLER,
    IMAGE_PLATFORM,
    PackagingError,
    glue_additional_python_modules,
    pyproject_pins,
)
from services.deploy.stack_settings import (
    PROJECT,
    Key,
    project_settings,
    read_config,
    stack_file,
    stack_names,
)
from services.pipeline import settings
from services.pipeline.lake.datasets import DATASETS, RAW_PREFIXES
from services.tool.analysis.queries import saved_queries
from services.tool.analysis.views import views
from services.tool.local.deploy import LOCAL, deployed
from tests.iam import Request, api_resources, arguments, decision, resolve, task_action
from tests.pulumi_mocks import (
    ACCOUNT,
    ARN_FORMATS,
    CONFIG,
    DIGEST,
    REGION,
    Declared,
    Mocks,
    run_program,
)

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@pytest.fixture(scope="module")
def stack() -> Mocks:
    return run_program()


def lake_bucket(stack: Mocks) -> str:
    (bucket,) = [d for d in stack.of_type("aws:s3/bucket:Bucket") if d.name.endswith("-lake")]
    return f"{bucket.inputs['bucketPrefix']}20251123"


SFN = "aws:sfn/stateMachine:StateMachine"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
MACHINES = (LOCAL.state_machine, LOCAL.refine_state_machine)
FUNCTIONS = (LOCAL.scraper_function, LOCAL.validate_function, LOCAL.trigger_function)


def definition(stack: Mocks, machine: str) -> dict[str, Any]:
    """The deployed definition of the state machine named ``machine``."""
    found: dict[str, Any] = json.loads(stack.one(SFN, machine).inputs["definition"])
    return found


def test_both_deployments_name_buckets_roles_and_functions_alike(stack: Mocks) -> None:
    """The emulator's names and ARNs are those the Pulumi program gives (AWS suffixes a
    bucket's name and a role's; the mocks answer ARNs as AWS forms them)."""
    prefixes = {d.inputs["bucketPrefix"] for d in stack.of_type("aws:s3/bucket:Bucket")}
    local = deployed(LOCAL)
    assert prefixes == {f"{local.bucket}-", f"{local.artifacts_bucket}-"}
    functions = {f.inputs["name"]: f for f in stack.of_type("aws:lambda/function:Function")}
    for arn in (local.scraper_arn, local.validate_arn, local.trigger_arn):
        name = arn.rsplit(":", 1)[1]
        assert arn == ARN_FORMATS["aws:lambda/function:Function"].format(name=name)
        assert name in functions
    roles = {d.name for d in stack.of_type(ROLE)}
    owners = (*functions, LOCAL.glue_job, LOCAL.crawler, *MACHINES)
    for owner in owners:
        assert role_name(owner) in roles
        assert role_arn(owner, ACCOUNT) == f"arn:aws:iam::{ACCOUNT}:role/{role_name(owner)}"


def test_every_component_is_declared(stack: Mocks) -> None:
    components = {d.type for d in stack.declared if d.type.startswith("bovespa:")}
    assert components == {
        "bovespa:storage:Storage",
        "bovespa:functions:Functions",
        "bovespa:etl:Etl",
        "bovespa:analytics:Analytics",
        "bovespa:workflow:Workflow",
        "bovespa:monitoring:Monitoring",
    }


def test_buckets_are_private_encrypted_tls_only_and_raw_is_versioned(stack: Mocks) -> None:
    buckets = {b.name.rsplit("-", 1)[1]: b.inputs for b in stack.of_type("aws:s3/bucket:Bucket")}
    assert set(buckets) == {"lake", "artifacts"}
    # `pulumi destroy` empties the artifacts (code, Athena results); the lake never.
    assert buckets["artifacts"]["forceDestroy"] is True
    assert not buckets["lake"].get("forceDestroy")
    for block in stack.of_type("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"):
        assert all(
            block.inputs[k]
            for k in (
                "blockPublicAcls",
                "blockPublicPolicy",
                "ignorePublicAcls",
                "restrictPublicBuckets",
            )
        )
    for encryption in stack.of_type(
        "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
    ):
        (rule,) = encryption.inputs["rules"]
        assert rule["applyServerSideEncryptionByDefault"]["sseAlgorithm"] == "AES256"
    policies = stack.of_type("aws:s3/bucketPolicy:BucketPolicy")
    assert len(policies) == 2
    for bucket_policy in policies:
        (statement,) = json.loads(bucket_policy.inputs["policy"])["Statement"]
        assert statement["Effect"] == "Deny"
        assert statement["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    (versioning,) = stack.of_type("aws:s3/bucketVersioning:BucketVersioning")
    assert versioning.inputs["versioningConfiguration"]["status"] == "Enabled"
    assert "lake" in versioning.name
    (notification,) = stack.of_type("aws:s3/bucketNotification:BucketNotification")
    assert notification.inputs["eventbridge"] is True
    lifecycles = stack.of_type("aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration")
    results = [lc for lc in lifecycles if "artifacts" in lc.name]
    assert results[0].inputs["rules"][0]["filter"]["prefix"] == "athena-results/"


def test_replaced_versions_expire_under_every_refined_table_and_no_raw_prefix(
    stack: Mocks,
) -> None:
    """Once only refined/ had the rule: the datasets ahead's refined tables kept every
    replaced version for ever. Raw versions are what B3 sent, kept on purpose."""
    (lake,) = [
        lc
        for lc in stack.of_type("aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration")
        if lc.name.endswith("-lake-lifecycle")
    ]
    expiring = {
        r["filter"]["prefix"]: r["noncurrentVersionExpiration"]["noncurrentDays"]
        for r in lake.inputs["rules"]
        if "noncurrentVersionExpiration" in r
    }
    refined = {f"{table.prefix}/": 30 for table in TABLES}
    assert len(refined) == 3
    assert expiring == {**refined, f"{settings.STAGING_PREFIX}/": 1}
    filtered = [r["filter"]["prefix"] for r in lake.inputs["rules"]]
    assert not [p for p in filtered if p.split("/")[0] in RAW_PREFIXES]


def test_delete_markers_left_with_no_version_are_removed_from_the_whole_lake(
    stack: Mocks,
) -> None:
    (lake,) = [
        lc
        for lc in stack.of_type("aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration")
        if lc.name.endswith("-lake-lifecycle")
    ]
    (rule,) = [
        r for r in lake.inputs["rules"] if r.get("expiration", {}).get("expiredObjectDeleteMarker")
    ]
    assert rule["filter"] == {"prefix": ""}
    # S3 refuses ExpiredObjectDeleteMarker beside Days or Date in one expiration.
    assert rule["expiration"] == {"expiredObjectDeleteMarker": True}


def test_the_raw_prefixes_the_scraper_writes_are_those_the_job_reads(stack: Mocks) -> None:
    bucket = lake_bucket(stack)
    raw = [f"arn:aws:s3:::{bucket}/{prefix}/*" for prefix in RAW_PREFIXES]
    (writes,) = [s for s in statements(stack, "scraper-policy") if "s3:PutObject" in s["Action"]]
    job = statements(stack, f"{LOCAL.glue_job}-policy")
    (reads,) = [s for s in job if "s3:GetObjectVersion" in s["Action"]]
    assert writes["Resource"] == reads["Resource"] == raw
    assert {settings.RAW_PREFIX, *(d.prefix for d in DATASETS)} == set(RAW_PREFIXES)


def test_images_are_built_for_one_platform_without_attestations_and_used_by_digest(
    stack: Mocks,
) -> None:
    for repository in stack.of_type("aws:ecr/repository:Repository"):
        assert repository.inputs["imageScanningConfiguration"]["scanOnPush"] is True
    for lifecycle in stack.of_type("aws:ecr/lifecyclePolicy:LifecyclePolicy"):
        (rule,) = json.loads(lifecycle.inputs["policy"])["rules"]
        assert rule["selection"]["countType"] == "imageCountMoreThan"
    images = stack.of_type("docker-build:index:Image")
    assert {repo_relative(i.inputs["dockerfile"]["location"]) for i in images} == {
        "docker/scraper.Dockerfile",
        "docker/trigger.Dockerfile",
    }
    for image in images:
        assert image.inputs["platforms"] == [IMAGE_PLATFORM] == ["linux/amd64"]
        assert image.inputs["exports"] == [{"registry": {"ociMediaTypes": False}}]
        assert registry_pushes(image.inputs) == 1
    uris = {
        f.inputs["name"]: f.inputs["imageUri"]
        for f in stack.of_type("aws:lambda/function:Function")
    }
    for uri in uris.values():
        assert re.fullmatch(
            r"\d{12}\.dkr\.ecr\.[a-z0-9-]+\.amazonaws\.com/[a-z0-9-]+@sha256:[0-9a-f]{64}", uri
        )
        assert uri.endswith(DIGEST)
    assert uris[LOCAL.scraper_function] == uris[LOCAL.validate_function]  # one image, two CMDs
    assert uris[LOCAL.trigger_function].split("@")[0].endswith("-trigger")
    # Each function runs the image the local deployment builds its zip from.
    handlers = {
        LOCAL.scraper_function: SCRAPER_HANDLER,
        LOCAL.validate_function: VALIDATE_HANDLER,
        LOCAL.trigger_function: TRIGGER_HANDLER,
    }
    for function, handler in handlers.items():
        repository = uris[function].split("@")[0]
        assert repository.endswith(f"-{IMAGE_OF_HANDLER[handler]}"), function


def registry_pushes(inputs: dict[str, Any]) -> int:
    """How many times the provider pushes: each registry export, and ``push: true``, which
    it turns into one more registry export (``ImageArgs.normalize`` in
    https://github.com/pulumi/pulumi-docker-build/blob/main/provider/internal/image.go).
    """
    exports = inputs.get("exports", [])
    pushing = [e for e in exports if "registry" in e and e["registry"].get("push", True)]
    return len(pushing) + (1 if inputs.get("push") else 0)


def test_an_image_that_sets_push_and_a_registry_export_counts_two_pushes() -> None:
    # The check above can fail: the program's former arguments pushed each image twice.
    former = {"push": True, "exports": [{"registry": {"ociMediaTypes": False}}]}
    assert registry_pushes(former) == 2


def repo_relative(location: str) -> str:
    return location.removeprefix(str(settings.REPO_ROOT) + "/")


def test_functions_have_their_handler_limits_environment_and_log_retention(stack: Mocks) -> None:
    functions = {f.inputs["name"]: f.inputs for f in stack.of_type("aws:lambda/function:Function")}
    handlers = {name: f["imageConfig"]["commands"] for name, f in functions.items()}
    assert handlers == {
        LOCAL.scraper_function: [SCRAPER_HANDLER],
        LOCAL.validate_function: [VALIDATE_HANDLER],
        LOCAL.trigger_function: [TRIGGER_HANDLER],
    }
    bucket = lake_bucket(stack)
    assert (
        functions[LOCAL.scraper_function]["environment"]["variables"]["LAKE_URI"]
        == f"s3://{bucket}"
    )
    machine = f"arn:aws:states:us-east-1:000000000000:stateMachine:{LOCAL.state_machine}"
    assert functions[LOCAL.trigger_function]["environment"]["variables"] == {
        settings.STATE_MACHINE_ARN_ENV: machine
    }
    for name, function in functions.items():
        assert function["tracingConfig"] == {"mode": "Active"}
        tracing = [
            s for s in statements(stack, f"{name}-policy") if "xray:PutTraceSegments" in s["Action"]
        ]
        assert tracing, f"{name} traces actively but may not send traces"
        assert function["packageType"] == "Image"
        limits = LOCAL.function_limits(name)
        assert (function["timeout"], function["memorySize"]) == (
            limits.timeout_seconds,
            limits.memory_mb,
        )
        assert 0 < function["timeout"] <= 900
        assert function["memorySize"] >= 128
    # A scrape ends with its own error, before the Lambda's timeout cuts it off.
    scraper = LOCAL.function_limits(LOCAL.scraper_function)
    assert scraper.timeout_seconds > settings.B3_SCRAPE_DEADLINE_SECONDS


def test_every_log_group_keeps_logs_for_the_stacks_retention(stack: Mocks) -> None:
    """Lambda, Step Functions and Glue would keep logs for ever in groups they create."""
    groups = {g.inputs["name"]: g.inputs["retentionInDays"] for g in stack.of_type(LOG_GROUP)}
    assert set(groups) == {
        *(f"/aws/lambda/{f}" for f in FUNCTIONS),
        *(f"/aws/vendedlogs/states/{machine}" for machine in MACHINES),
        f"/aws-glue/jobs/{LOCAL.glue_job}/error",
        f"/aws-glue/jobs/{LOCAL.glue_job}/output",
        "/aws-glue/crawlers",
    }
    assert set(groups.values()) == {30}  # the default logRetentionDays
    for machine in MACHINES:
        destination = stack.one(SFN, machine).inputs["loggingConfiguration"]["logDestination"]
        assert destination.split(":log-group:")[1].removesuffix(":*") in groups


def test_glue_logs_go_to_the_groups_the_stack_keeps(stack: Mocks) -> None:
    job = stack.one("aws:glue/job:Job").inputs
    assert job["glueVersion"] == "5.0"
    # Glue 5.0 logs in real time to <prefix>/error and /output; the continuous-logging
    # options of Glue 4.0 and earlier do nothing there.
    job_args = job["defaultArguments"]
    assert not [a for a in job_args if a.startswith("--enable-continuous") or "continuous-log" in a]
    prefix = job_args["--custom-logGroup-prefix"]
    declared = {g.inputs["name"] for g in stack.of_type(LOG_GROUP)}
    for owner, groups in (
        (LOCAL.glue_job, {f"{prefix}/error", f"{prefix}/output"}),
        (LOCAL.crawler, {CRAWLER_LOG_GROUP}),
    ):
        logs = [
            s for s in statements(stack, f"{owner}-policy") if "logs:PutLogEvents" in s["Action"]
        ]
        written = {
            r.split(":log-group:")[1].removesuffix(":*") for s in logs for r in s["Resource"]
        }
        assert written == groups <= declared, owner
    crawler_logs = [g for g in stack.of_type(LOG_GROUP) if g.inputs["name"] == CRAWLER_LOG_GROUP]
    assert crawler_logs[0].retain_on_delete  # the account's crawlers all log there


def test_an_existing_crawler_log_group_is_left_alone() -> None:
    mocks = run_program(mocks=Mocks(existing_log_groups={CRAWLER_LOG_GROUP}))
    assert CRAWLER_LOG_GROUP not in {g.inputs["name"] for g in mocks.of_type(LOG_GROUP)}


ROLE = "aws:iam/role:Role"
SCHEDULE = "aws:scheduler/schedule:Schedule"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"


def statements(stack: Mocks, role_fragment: str) -> list[dict[str, Any]]:
    (policy,) = [p for p in stack.of_type(ROLE_POLICY) if role_fragment in p.name]
    found: list[dict[str, Any]] = json.loads(policy.inputs["policy"])["Statement"]
    return found


def test_no_iam_statement_allows_a_whole_service(stack: Mocks) -> None:
    policies = stack.of_type("aws:iam/rolePolicy:RolePolicy")
    assert len(policies) == 8
    for policy in policies:
        for statement in json.loads(policy.inputs["policy"])["Statement"]:
            assert statement["Effect"] == "Allow"
            actions = statement["Action"]
            assert not any(a == "*" or a.endswith(":*") for a in actions), (policy.name, actions)
    # "*" only where AWS allows no resource: parliament's RESOURCE_STAR (next test).


#: Parliament findings accepted, by kind of policy, each with its reason.
PARLIAMENT_ACCEPTED = {
    # A role's trust policy is attached to the role itself and names no Resource; parliament
    # reads every document as an identity policy, which must have one.
    "trust": {("MALFORMED", "Statement contains neither Resource nor NotResource")},
    "identity": set(),
    "bucket": set(),
}


def declared_policies(stack: Mocks) -> list[tuple[str, str, str]]:
    """(kind, resource name, document) of every IAM policy document the program declares."""
    found = [("identity", p.name, p.inputs["policy"]) for p in stack.of_type(ROLE_POLICY)]
    found += [("trust", r.name, r.inputs["assumeRolePolicy"]) for r in stack.of_type(ROLE)]
    found += [
        ("bucket", b.name, b.inputs["policy"])
        for b in stack.of_type("aws:s3/bucketPolicy:BucketPolicy")
    ]
    return found


def parliament_findings(document: str) -> set[tuple[str, str]]:
    from parliament import analyze_policy_string

    policy = analyze_policy_string(document)
    return {(f.issue, str(f.detail)) for f in policy.findings}


def test_every_policy_passes_parliament(stack: Mocks) -> None:
    policies = declared_policies(stack)
    assert len(policies) == 8 + 8 + 2
    for kind, name, document in policies:
        assert parliament_findings(document) <= PARLIAMENT_ACCEPTED[kind], name


def test_each_function_may_do_only_its_job(stack: Mocks) -> None:
    bucket = lake_bucket(stack)
    scraper = statements(stack, "scraper-policy")
    writes = [s for s in scraper if "s3:PutObject" in s["Action"]]
    # the day's raw/ and, beside it, the datasets ahead (theoretical portfolio, preview)
    scraped = [f"arn:aws:s3:::{bucket}/{p}/*" for p in ("raw", "raw-theoretical", "raw-preview")]
    assert writes == [
        {"Effect": "Allow", "Action": ["s3:PutObject", "s3:DeleteObject"], "Resource": scraped}
    ]
    assert [s["Resource"] for s in scraper if s["Action"] == ["s3:GetObject"]] == [
        [f"arn:aws:s3:::{bucket}/raw-preview/*"]  # "no preview now" keeps a stored preview
    ]
    (listing,) = [s for s in scraper if s["Action"] == ["s3:ListBucket"]]
    assert listing["Condition"] == {
        "StringLike": {"s3:prefix": ["raw/*", "raw-theoretical/*", "raw-preview/*"]}
    }
    # Validate reads a pinned version of a dropped (inbox/) or scraped (raw/) object, promotes
    # a dropped one to raw/, and may list the lake so a missing object is NoSuchKey.
    lake = f"arn:aws:s3:::{bucket}"
    validate = statements(stack, "validate-policy")
    assert {tuple(s["Action"]): s["Resource"] for s in validate if "s3:" in s["Action"][0]} == {
        ("s3:GetObject", "s3:GetObjectVersion"): [f"{lake}/inbox/*", f"{lake}/raw/*"],
        ("s3:PutObject",): [f"{lake}/raw/*"],
        ("s3:ListBucket",): [lake],
    }
    # The trigger only starts the pipeline: it reads no history and no object.
    trigger = [s for s in statements(stack, "trigger-policy") if s["Resource"] != ["*"]]
    assert [(s["Action"], s["Resource"]) for s in trigger if "logs:" not in s["Action"][0]] == [
        (["states:StartExecution"], [state_machine_arn(LOCAL.state_machine, REGION, ACCOUNT)])
    ]


#: The calls Step Functions makes for each optimised integration the definitions use, as
#: the Developer Guide's "IAM policies for ..." sections list them (the .sync pattern polls
#: and may stop what it started; startExecution.sync:2 waits through an EventBridge rule).
INTEGRATION_CALLS = {
    "arn:aws:states:::lambda:invoke": {"lambda:InvokeFunction"},
    "arn:aws:states:::states:startExecution.sync:2": {
        "states:StartExecution", "states:DescribeExecution", "states:StopExecution",
        "events:PutTargets", "events:PutRule", "events:DescribeRule",
    },
    "arn:aws:states:::glue:startJobRun.sync": {
        "glue:StartJobRun", "glue:GetJobRun", "glue:GetJobRuns", "glue:BatchStopJobRun",
    },
    "arn:aws:states:::athena:startQueryExecution.sync": {
        "athena:StartQueryExecution", "athena:GetQueryExecution", "athena:StopQueryExecution",
    },
}  # fmt: skip


def integration_calls(resource: str) -> set[str]:
    """The IAM actions behind a Task's ``Resource`` (an aws-sdk one is its own call)."""
    sdk = re.fullmatch(r"arn:aws:states:::aws-sdk:(\w+):(\w)(\w*)", resource)
    return {f"{sdk[1]}:{sdk[2].upper()}{sdk[3]}"} if sdk else INTEGRATION_CALLS[resource]


def test_each_state_machine_role_allows_exactly_its_definitions_calls(stack: Mocks) -> None:
    """Each machine's role allows the calls of its Tasks (the Map's iterations too) and no
    other call to a service it integrates with; beside them only Athena's reads for the
    smoke query, S3 for its results, and log delivery and X-Ray (on "*")."""
    for machine in MACHINES:
        called = {
            action
            for _, state in all_states(definition(stack, machine))
            if state["Type"] == "Task"
            for action in integration_calls(state["Resource"])
        }
        allowed = {
            action
            for s in statements(stack, f"{machine}-policy")
            if s["Resource"] != ["*"]
            for action in s["Action"]
            if not action.startswith("s3:") and action not in ATHENA_CATALOG_ACTIONS
        }
        assert allowed == called, machine


def test_each_task_may_call_what_its_arguments_name(stack: Mocks) -> None:
    """The resources each Task names (function, state machine, job, crawler, workgroup) are
    those its machine's role allows, as MiniStack's IAM evaluator decides."""
    for machine in MACHINES:
        document = next(
            p.inputs["policy"] for p in stack.of_type(ROLE_POLICY) if p.name == f"{machine}-policy"
        )
        for name, state in all_states(definition(stack, machine)):
            if state["Type"] != "Task":
                continue
            action = task_action(state["Resource"])
            for resource in api_resources(
                action, resolve(arguments(state), {}), REGION, ACCOUNT, lambda _: LOCAL.workgroup
            ):
                request = Request(machine, action, resource, source=name)
                assert decision(document, request, ACCOUNT, REGION) == "Allow", request
    # The pipeline waits for the refine machine's executions, and only for those.
    pipeline = {a: s["Resource"] for s in statements(stack, "pipeline-policy") for a in s["Action"]}
    refine_arn = state_machine_arn(LOCAL.refine_state_machine, REGION, ACCOUNT)
    assert pipeline["states:StopExecution"] == [execution_arn(refine_arn)]
    assert pipeline["states:DescribeExecution"][0] == execution_arn(refine_arn)


def test_the_etl_job_crawler_and_table(stack: Mocks) -> None:
    job = stack.one("aws:glue/job:Job").inputs
    assert (job["glueVersion"], job["command"]["name"], job["maxRetries"]) == ("5.0", "glueetl", 0)
    assert (job["workerType"], job["numberOfWorkers"]) == ("G.1X", 2)
    assert job["timeout"] > 0
    assert re.search(r"/glue/[0-9a-f]{16}/job\.py$", job["command"]["scriptLocation"])
    assert re.search(
        r"/glue/[0-9a-f]{16}/bovespa\.zip$", job["defaultArguments"]["--extra-py-files"]
    )
    tables = [LOCAL.table, "b3_index_theoretical", "b3_index_preview"]
    locations = dict(
        zip(tables, ("refined", "refined-theoretical", "refined-preview"), strict=True)
    )
    for name, prefix in locations.items():  # one table per dataset, each beside refined/
        table = stack.one("aws:glue/catalogTable:CatalogTable", name).inputs
        assert [k["name"] for k in table["partitionKeys"]] == list(settings.REFINED_PARTITION_KEYS)
        assert table["storageDescriptor"]["location"] == f"s3://{lake_bucket(stack)}/{prefix}/"
    preview = stack.one("aws:glue/catalogTable:CatalogTable", "b3_index_preview").inputs
    assert "UNVERIFIED" in preview["description"]
    assert {c["name"] for c in preview["storageDescriptor"]["columns"]} >= {
        "contract",
        "target_cycle",
    }


def test_the_crawler_crawls_raw_new_folders_only_into_its_own_table(stack: Mocks) -> None:
    """A catalog target is always crawled whole, so its crawl grew with the lake; an S3
    target crawled incrementally grows with the day's folders (which needs LOG/LOG)."""
    declared = stack.one("aws:glue/crawler:Crawler")
    crawler = declared.inputs
    assert "catalogTargets" not in crawler
    assert crawler["s3Targets"] == [
        {"path": f"s3://{lake_bucket(stack)}/raw/", "exclusions": ["**/_*"]}  # not _b3-*.json
    ]
    assert crawler["recrawlPolicy"] == {"recrawlBehavior": "CRAWL_NEW_FOLDERS_ONLY"}
    assert crawler["schemaChangePolicy"] == {"updateBehavior": "LOG", "deleteBehavior": "LOG"}
    assert (crawler["databaseName"], crawler["tablePrefix"]) == ("default", f"{LOCAL.table}_")
    # One owner per table: the crawler may create and change only tables of its prefix, none
    # of them a refined table (Pulumi's), and it no longer waits for those.
    owned = [
        r.split(":table/default/")[1]
        for s in statements(stack, f"{LOCAL.crawler}-policy")
        if "glue:CreateTable" in s["Action"]
        for r in s["Resource"]
        if ":table/" in r
    ]
    assert owned == [f"{LOCAL.table}_*"]
    refined = set(LOCAL.tables)
    assert not [t for t in refined if fnmatch.fnmatch(t, owned[0])]
    tables = stack.of_type("aws:glue/catalogTable:CatalogTable")
    assert not {t.name for t in tables if t.inputs["name"] in refined} & waits_for(stack, declared)
    # The job keeps the refined tables' partitions, not the tables.
    job = {a for s in statements(stack, f"{LOCAL.glue_job}-policy") for a in s["Action"]}
    assert {"glue:BatchCreatePartition", "glue:DeletePartition"} <= job
    assert not {"glue:CreateTable", "glue:UpdateTable"} & job


def test_the_job_installs_its_declared_modules_at_the_pyproject_pins(stack: Mocks) -> None:
    arguments = stack.one("aws:glue/job:Job").inputs["defaultArguments"]
    # Absent when the job declares nothing (the value would be an empty list).
    assert arguments.get("--additional-python-modules") == (
        glue_additional_python_modules() or None
    )
    pins = pyproject_pins()
    assert glue_additional_python_modules(["tenacity", "boto3"]) == (
        f"tenacity=={pins['tenacity']},boto3=={pins['boto3']}"
    )
    with pytest.raises(PackagingError, match="pins no left-pad"):
        glue_additional_python_modules(["left-pad"])


def test_an_existing_default_database_is_not_managed(stack: Mocks) -> None:
    # Not declared, so neither created (it exists) nor ever deleted by `pulumi destroy`.
    assert not stack.of_type("aws:glue/catalogDatabase:CatalogDatabase")


def test_a_missing_default_database_is_created_and_kept_on_destroy() -> None:
    mocks = run_program(mocks=Mocks(existing_databases=set()))
    database = mocks.one("aws:glue/catalogDatabase:CatalogDatabase")
    assert database.inputs["name"] == "default"
    assert database.retain_on_delete is True
    tables = mocks.of_type("aws:glue/catalogTable:CatalogTable")
    assert len(tables) == len(TABLES) + len(views())  # a refined table per dataset
    for table in tables:  # the tables directly, the views through the day's table
        assert database.name in waits_for(mocks, table), table.name


def waits_for(stack: Mocks, declared: Declared) -> set[str]:
    """Every resource ``declared`` waits for, directly or through another."""
    by_name = {d.name: d for d in stack.declared}
    found: set[str] = set()
    pending = set(declared.dependencies)
    while pending:
        name = pending.pop()
        if name not in found:
            found.add(name)
            pending |= by_name[name].dependencies
    return found


@pytest.mark.parametrize(
    ("message", "missing"),
    [
        ("reading Cloud Control API (AWS::Glue::Database) Resource (default): "
         "couldn't find resource", True),
        ("ResourceNotFoundException: AWS::Glue::Database Handler returned status FAILED: "
         "Database default not found. (HandlerErrorCode: NotFound)", True),
        ("AccessDeniedException: not authorized to perform: cloudformation:GetResource", False),
        ("ThrottlingException: Rate exceeded", False),
    ],
)  # fmt: skip
def test_only_a_not_found_answer_means_the_database_is_missing(message: str, missing: bool) -> None:
    assert bool(NOT_FOUND.search(message)) is missing


def test_a_failed_database_lookup_stops_the_deployment() -> None:
    denied = "AccessDeniedException: not authorized to perform cloudformation:GetResource"
    with pytest.raises(Exception, match="AccessDenied"):
        run_program(mocks=Mocks(lookup_error=denied))


def role_policy_of(stack: Mocks, role_arn: str) -> Declared:
    """The inline policy of the role whose ARN is ``role_arn``."""
    (role,) = [r for r in stack.of_type(ROLE) if role_arn.endswith(f":{r.name}")]
    (policy,) = [p for p in stack.of_type(ROLE_POLICY) if p.inputs["role"] == f"{role.name}-id"]
    return policy


def test_everything_that_runs_as_a_role_waits_for_the_roles_policy(stack: Mocks) -> None:
    users = [
        *[(f, f.inputs["role"]) for f in stack.of_type("aws:lambda/function:Function")],
        (stack.one("aws:glue/job:Job"), stack.one("aws:glue/job:Job").inputs["roleArn"]),
        (
            stack.one("aws:glue/crawler:Crawler"),
            stack.one("aws:glue/crawler:Crawler").inputs["role"],
        ),
        *[(m, m.inputs["roleArn"]) for m in stack.of_type(SFN)],
        *[(s, s.inputs["target"]["roleArn"]) for s in stack.of_type(SCHEDULE)],
    ]
    assert len(users) == 3 + 1 + 1 + 2 + 1  # one schedule for every index
    for user, used_role in users:
        assert role_policy_of(stack, used_role).name in user.dependencies, user.name


def test_trust_policies_name_the_account_where_the_service_supports_it(stack: Mocks) -> None:
    account, region = "000000000000", "us-east-1"
    trusts = {
        r.name: json.loads(r.inputs["assumeRolePolicy"])["Statement"] for r in stack.of_type(ROLE)
    }
    expected = {
        # Glue documents no such keys for the roles it assumes (infra/etl.py): a condition
        # it does not send would deny it the role (CreateCrawler, a job run).
        "glue.amazonaws.com": None,
        "states.amazonaws.com": {
            "StringEquals": {"aws:SourceAccount": account},
            "ArnLike": {"aws:SourceArn": f"arn:aws:states:{region}:{account}:stateMachine:*"},
        },
        "scheduler.amazonaws.com": {
            "StringEquals": {"aws:SourceAccount": account},
            "ArnLike": {
                "aws:SourceArn": f"arn:aws:scheduler:{region}:{account}:schedule-group/default"
            },
        },
        # Lambda documents no such keys for execution roles: a condition it does not send
        # would deny every invocation.
        "lambda.amazonaws.com": None,
    }
    assert len(trusts) == 8
    for name, (statement,) in trusts.items():
        service = statement["Principal"]["Service"]
        assert statement.get("Condition") == expected[service], name


def test_glue_job_runs_queue_and_the_workflow_waits_for_them(stack: Mocks) -> None:
    job = stack.one("aws:glue/job:Job").inputs
    # The job enables queuing itself: runs beyond maxConcurrentRuns wait (WAITING, which
    # startJobRun.sync waits through), so StartJobRun need not ask for it.
    assert job["jobRunQueuingEnabled"] is True
    assert job["executionProperty"] == {"maxConcurrentRuns": len(json.loads(CONFIG["indices"]))}
    refine = definition(stack, LOCAL.refine_state_machine)
    start = refine["States"]["GlueJob"]
    assert start["Resource"] == "arn:aws:states:::glue:startJobRun.sync"
    assert "JobRunQueuingEnabled" not in start["Arguments"]
    # Refused for concurrency anyway (account quota): the retries must wait about one run's
    # timeout (full jitter waits half the delay on average), and end before the refine
    # execution's own timeout; a run is not cut off by its Task's timeout.
    (refused,) = [
        r for r in start["Retry"] if "Glue.ConcurrentRunsExceededException" in r["ErrorEquals"]
    ]
    delays = [
        min(refused["IntervalSeconds"] * refused["BackoffRate"] ** n, refused["MaxDelaySeconds"])
        for n in range(refused["MaxAttempts"])
    ]
    for timeout_minutes in (example_config(name)["glueTimeoutMinutes"] for name in ("dev", "prod")):
        assert sum(delays) / 2 >= int(timeout_minutes) * 60
        assert start["TimeoutSeconds"] > int(timeout_minutes) * 60
    assert sum(delays) <= refine["TimeoutSeconds"]


def example_config(stack_name: str) -> dict[str, str]:
    """The ``bovespa-pipeline:`` settings of ``Pulumi.<stack_name>.yaml``."""
    return project_settings(read_config(stack_file(stack_name)))


def camel_case(field: str) -> str:
    head, *rest = field.split("_")
    return head + "".join(word.title() for word in rest)


def test_every_setting_has_one_key_and_the_examples_use_only_those() -> None:
    """The program (infra/config.py) and the cost model read each ``StackConfig`` field
    from its one :class:`Key`, the field in camelCase."""
    assert {key.name.lower(): key.value for key in Key} == {
        f.name: camel_case(f.name) for f in fields(StackConfig)
    }
    for stack_name in stack_names():
        assert set(example_config(stack_name)) <= set(Key), stack_name
    project = yaml.safe_load((settings.REPO_ROOT / "Pulumi.yaml").read_text())
    assert project["name"] == PROJECT


def declared_inputs(mocks: Mocks) -> list[tuple[str, str, str]]:
    """Every declared resource's type, name and inputs (a file asset by its path)."""
    return sorted(
        (d.type, d.name, json.dumps(d.inputs, sort_keys=True, default=lambda o: o.path))
        for d in mocks.declared
    )


def test_the_dev_example_spells_out_the_defaults() -> None:
    """``Pulumi.dev.yaml`` shows every setting at its default, so the stack it declares is
    the stack of no settings (its log retention once said 14 days; the default is 30, and
    it once left six settings out)."""
    assert set(example_config("dev")) == set(Key)
    dev = {k: v if isinstance(v, str) else json.dumps(v) for k, v in example_config("dev").items()}
    assert declared_inputs(run_program(dev)) == declared_inputs(
        run_program({"prefix": dev["prefix"]})
    )


def test_missing_grants_are_there(stack: Mocks) -> None:
    job = statements(stack, f"{LOCAL.glue_job}-policy")
    (metrics,) = [s for s in job if "cloudwatch:PutMetricData" in s["Action"]]
    assert metrics["Condition"] == {"StringEquals": {"cloudwatch:namespace": "Glue"}}
    bucket = lake_bucket(stack)
    writes = [s for s in job if "s3:PutObject" in s["Action"]]
    assert writes[0]["Resource"] == [
        f"arn:aws:s3:::{bucket}/refined/*",
        f"arn:aws:s3:::{bucket}/refined-theoretical/*",
        f"arn:aws:s3:::{bucket}/refined-preview/*",
        f"arn:aws:s3:::{bucket}/refined_$folder$",
        f"arn:aws:s3:::{bucket}/staging/*",
        f"arn:aws:s3:::{bucket}/staging_$folder$",
    ]
    assert any("s3:AbortMultipartUpload" in s["Action"] for s in job)


def test_both_definitions_are_rendered_from_the_local_deployments_values(stack: Mocks) -> None:
    local = deployed(LOCAL)
    refine_arn = state_machine_arn(LOCAL.refine_state_machine, REGION, ACCOUNT)
    rendered = {
        LOCAL.state_machine: render_json(
            PIPELINE, LOCAL.pipeline_values(local.scraper_arn, local.validate_arn, refine_arn)
        ),
        LOCAL.refine_state_machine: render_json(REFINE, LOCAL.refine_values()),
    }
    for name, text in rendered.items():
        machine = stack.one(SFN, name).inputs
        # Standard (redrivable), traced, logged.
        assert machine["type"] == "STANDARD"
        assert machine["tracingConfiguration"] == {"enabled": True}
        assert machine["loggingConfiguration"]["level"] == "ERROR"
        assert machine["definition"] == text


def test_the_pipeline_outlives_its_two_refine_runs(stack: Mocks) -> None:
    """The pipeline waits for a refine execution, then (if anything failed) minutes, then
    for another: its timeout leaves each refine run the whole of the refine machine's."""
    pipeline = definition(stack, LOCAL.state_machine)
    refine = definition(stack, LOCAL.refine_state_machine)
    waited = pipeline["States"]["WaitBeforeRetry"]["Seconds"]
    assert pipeline["TimeoutSeconds"] > 2 * refine["TimeoutSeconds"] + waited


def test_the_event_pattern_and_the_schedules(stack: Mocks) -> None:
    rule = stack.one("aws:cloudwatch/eventRule:EventRule").inputs
    assert rule["name"] == LOCAL.inbox_rule
    assert json.loads(rule["eventPattern"]) == LOCAL.inbox_event_pattern(lake_bucket(stack))
    # Only a dropped object starts an execution: the pipeline's own raw/ writes start none.
    assert json.loads(rule["eventPattern"])["detail"]["object"]["key"] == [{"prefix": "inbox/"}]
    target = stack.one("aws:cloudwatch/eventTarget:EventTarget").inputs
    assert target["arn"] == deployed(LOCAL).trigger_arn
    permission = stack.one("aws:lambda/permission:Permission").inputs
    assert permission["principal"] == "events.amazonaws.com"
    # One schedule for the stack, whatever the number of indices: one execution a day.
    (schedule,) = [s.inputs for s in stack.of_type(SCHEDULE)]
    assert json.loads(CONFIG["indices"]) == ["IBOV", "SMLL"]
    assert schedule["name"] == "bovespa-local-daily"
    # the default: weekdays before B3's open (docs/architecture.md, "The schedule")
    assert schedule["scheduleExpression"] == "cron(0 8 ? * MON-FRI *)"
    assert schedule["scheduleExpressionTimezone"] == "America/Sao_Paulo"
    assert json.loads(schedule["target"]["input"]) == {
        "source": "schedule",
        "indices": ["IBOV", "SMLL"],
    }


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (json.dumps(["theoretical", "quarterly"]), "aheadDatasets: unknown ['quarterly']"),
        (json.dumps("preview"), "aheadDatasets: not a list of dataset names"),
    ],
)
def test_bad_map_settings_stop_pulumi_up(value: str, message: str) -> None:
    with pytest.raises(StackConfigError, match=re.escape(message)):
        run_program({**CONFIG, "aheadDatasets": value})


def test_the_datasets_ahead_can_be_chosen_per_stack() -> None:
    mocks = run_program({**CONFIG, "aheadDatasets": json.dumps(["preview"])})
    chosen = Deployment(prefix=LOCAL.prefix, ahead_datasets=("preview",))
    local = deployed(LOCAL)
    refine_arn = state_machine_arn(LOCAL.refine_state_machine, REGION, ACCOUNT)
    values = chosen.pipeline_values(local.scraper_arn, local.validate_arn, refine_arn)
    assert mocks.one(SFN, LOCAL.state_machine).inputs["definition"] == render_json(PIPELINE, values)


def test_the_saved_queries_are_published_in_the_workgroup(stack: Mocks) -> None:
    named = {q.inputs["name"]: q.inputs for q in stack.of_type("aws:athena/namedQuery:NamedQuery")}
    assert set(named) == set(saved_queries())
    for name, query in named.items():
        assert query["query"] == saved_queries()[name].sql
        assert (query["workgroup"], query["database"]) == (LOCAL.workgroup, "default")


def test_the_views_are_athena_views_of_their_sql(stack: Mocks) -> None:
    tables = [t.inputs for t in stack.of_type("aws:glue/catalogTable:CatalogTable")]
    declared = {t["name"]: t for t in tables if t.get("tableType") == "VIRTUAL_VIEW"}
    assert (
        set(declared)
        == set(views())
        == {
            "b3_company_weights",
            "b3_next_rebalance",
            "b3_sector_weights",
            "b3_theoretical_vs_day",
        }
    )
    for name, table in declared.items():
        assert table["parameters"] == {"presto_view": "true", "comment": "Presto View"}
        text = table["viewOriginalText"]
        encoded = text.removeprefix("/* Presto View: ").removesuffix(" */")
        definition = json.loads(base64.b64decode(encoded))
        assert definition["originalSql"] == views()[name].select
        assert [c["name"] for c in definition["columns"]] == [
            c["name"] for c in table["storageDescriptor"]["columns"]
        ]


def test_analytics_and_monitoring(stack: Mocks) -> None:
    workgroup = stack.one("aws:athena/workgroup:Workgroup").inputs["configuration"]
    assert workgroup["enforceWorkgroupConfiguration"] is True
    assert workgroup["bytesScannedCutoffPerQuery"] == 1073741824
    assert workgroup["resultConfiguration"]["outputLocation"].endswith("/athena-results/")
    alarms = {
        a.inputs["metricName"] for a in stack.of_type("aws:cloudwatch/metricAlarm:MetricAlarm")
    }
    assert alarms == {"ExecutionsFailed", "ExecutionsTimedOut", "Errors"}
    assert len(stack.of_type("aws:cloudwatch/metricAlarm:MetricAlarm")) == 5
    subscription = stack.one("aws:sns/topicSubscription:TopicSubscription").inputs
    assert (subscription["protocol"], subscription["endpoint"]) == ("email", "alerts@example.com")

"""What AWS would authorise for each recorded call or state machine Task (actions, resources
and condition keys as the Service Authorization Reference defines them), and MiniStack's IAM
policy evaluator's decision on it, never a comparison of strings here."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ministack.core.iam_actions import extract_iam_action
from ministack.core.iam_evaluator import EvalContext, evaluate, parse_policy_document
from ministack.core.router import detect_service

from services.tool.local.recorder import Call

#: Glue actions by the resources they are authorised on (Service Authorization Reference,
#: "Actions, resources, and condition keys for AWS Glue").
GLUE_DATABASE_ACTIONS = {"GetDatabase", "CreateDatabase", "UpdateDatabase", "DeleteDatabase"}
GLUE_TABLE_ACTIONS = {
    "GetTable", "CreateTable", "UpdateTable", "DeleteTable", "GetPartition", "GetPartitions",
    "BatchGetPartition", "CreatePartition", "BatchCreatePartition", "UpdatePartition",
    "BatchUpdatePartition", "DeletePartition", "BatchDeletePartition",
}  # fmt: skip
GLUE_JOB_ACTIONS = {"StartJobRun", "GetJobRun", "GetJobRuns", "GetJob", "BatchStopJobRun"}
GLUE_CRAWLER_ACTIONS = {"StartCrawler", "GetCrawler", "StopCrawler"}
ATHENA_QUERY_ACTIONS = {"GetQueryExecution", "GetQueryResults", "StopQueryExecution"}
S3_BUCKET_ACTIONS = {"ListBucket", "GetBucketLocation", "ListBucketMultipartUploads"}


@dataclass(frozen=True)
class Request:
    """One authorisation AWS makes: ``action`` on ``resource`` with ``context`` keys."""

    component: str
    action: str
    resource: str
    context: tuple[tuple[str, str], ...] = ()
    #: What made it, for messages.
    source: str = field(default="", compare=False)


def requests_of_call(call: Call, region: str, account: str) -> list[Request]:
    """The authorisations behind one HTTP request a component sent."""
    headers, path = call.headers, call.path
    service = detect_service(call.method, path, headers, call.query)
    body = (call.body or "").encode()
    action = extract_iam_action(service, call.method, path, headers, body, call.query)
    if action is None:
        raise ValueError(f"no IAM action for {call.method} {path} ({service})")
    source = f"{call.method} {path} {headers.get('x-amz-target', '')}".strip()
    if service == "s3":
        bucket, _, key = path.lstrip("/").partition("/")
        name = action.split(":", 1)[1]
        context: tuple[tuple[str, str], ...] = ()
        if name in S3_BUCKET_ACTIONS:
            resource = f"arn:aws:s3:::{bucket}"
            if name == "ListBucket" and "prefix" in call.query:
                context = (("s3:prefix", call.query["prefix"][0]),)
        else:
            resource = f"arn:aws:s3:::{bucket}/{key}"
        return [Request(call.component, action, resource, context, source)]
    return [
        Request(call.component, action, resource, (), source)
        for resource in api_resources(action, call.json_body(), region, account)
    ]


def api_resources(
    action: str, params: Mapping[str, Any], region: str, account: str, workgroup: str | None = None
) -> list[str]:
    """The resources an API action with ``params`` is authorised on."""
    service, name = action.split(":", 1)
    if service == "glue":
        glue = f"arn:aws:glue:{region}:{account}"
        if name in GLUE_DATABASE_ACTIONS:
            database = params.get("Name") or params["DatabaseInput"]["Name"]
            return [f"{glue}:catalog", f"{glue}:database/{database}"]
        if name in GLUE_TABLE_ACTIONS:
            database = params["DatabaseName"]
            table = params.get("TableName") or params.get("Name") or params["TableInput"]["Name"]
            database_arn = f"{glue}:database/{database}"
            return [f"{glue}:catalog", database_arn, f"{glue}:table/{database}/{table}"]
        if name in GLUE_JOB_ACTIONS:
            return [f"{glue}:job/{params['JobName']}"]
        if name in GLUE_CRAWLER_ACTIONS:
            return [f"{glue}:crawler/{params['Name']}"]
    if service == "states" and name in {"StartExecution", "ListExecutions"}:
        # The API's stateMachineArn, or a Task's StateMachineArn (startExecution.sync:2).
        return [params.get("stateMachineArn") or params["StateMachineArn"]]
    if service == "states" and name == "GetExecutionHistory":
        return [params["executionArn"]]
    if service == "athena":
        athena = f"arn:aws:athena:{region}:{account}"
        if name == "StartQueryExecution":
            return [f"{athena}:workgroup/{params.get('WorkGroup', 'primary')}"]
        if name in ATHENA_QUERY_ACTIONS and workgroup is not None:  # the query's
            return [f"{athena}:workgroup/{workgroup}"]
    if service == "lambda" and name == "InvokeFunction":
        function = params["FunctionName"]
        if function.startswith("arn:"):
            return [function]
        return [f"arn:aws:lambda:{region}:{account}:function:{function}"]
    raise ValueError(
        f"no resource mapping for {action}: add it from the Service Authorization Reference"
    )


#: The calls Step Functions makes for each optimised integration the definitions use, the
#: one that starts it first, as the Developer Guide's "IAM policies for ..." sections list
#: them (a ``.sync`` one then polls and may stop: Step Functions' own calls, not in an
#: execution's history).
INTEGRATIONS = {
    "arn:aws:states:::lambda:invoke": ["lambda:InvokeFunction"],
    "arn:aws:states:::states:startExecution.sync:2": [
        "states:StartExecution", "states:DescribeExecution", "states:StopExecution",
        "events:PutTargets", "events:PutRule", "events:DescribeRule",
    ],
    "arn:aws:states:::glue:startJobRun.sync": [
        "glue:StartJobRun", "glue:GetJobRun", "glue:GetJobRuns", "glue:BatchStopJobRun",
    ],
    "arn:aws:states:::athena:startQueryExecution.sync": [
        "athena:StartQueryExecution", "athena:GetQueryExecution", "athena:StopQueryExecution",
    ],
}  # fmt: skip


def arguments(state: Mapping[str, Any]) -> dict[str, Any]:
    """A Task's ``Arguments`` without its JSONata ``{% … %}`` expressions (never an
    identifier IAM authorises on here)."""

    def literal(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: literal(v) for k, v in value.items() if not str(v).startswith("{%")}
        return value

    return dict(literal(state.get("Arguments") or {}))


def integration_calls(resource: str) -> list[str]:
    """The IAM actions behind a Task's ``Resource``, the starting one first (an aws-sdk
    integration is its own call)."""
    if resource in INTEGRATIONS:
        return INTEGRATIONS[resource]
    match = re.fullmatch(r"arn:aws:states:::aws-sdk:([a-z0-9]+):(\w+)", resource)
    if match is None:
        raise ValueError(f"no IAM action known for the Task resource {resource}")
    service, operation = match.groups()
    return [f"{service}:{operation[0].upper()}{operation[1:]}"]


def decision(document: str, request: Request, account: str, region: str) -> str:
    """MiniStack's IAM evaluator on ``document`` for ``request``: Allow, Deny or ImplicitDeny."""
    context = EvalContext(
        principal_arn=f"arn:aws:sts::{account}:assumed-role/{request.component}-role/session",
        principal_type="AssumedRole",
        principal_account=account,
        action=request.action,
        resource_arn=request.resource,
        region=region,
        service_context=dict(request.context),
    )
    return str(evaluate(context, [parse_policy_document(document)]).decision)

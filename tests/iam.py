"""What AWS would authorise for each recorded call, and whether a policy allows it.

A recorded call (``services.tool.local.recorder``) or a Task of a state machine execution becomes
one or more IAM requests: an action, a resource ARN and the request's condition keys, as the
Service Authorization Reference defines them for the action (Glue's catalogue calls, for
one, are authorised on the catalog, the database and the table, each of which must be
allowed). The IAM action of an HTTP request is read with MiniStack's own request mapping
(what its ``AUTH=true`` mode enforces); the decision is made by MiniStack's IAM policy
evaluator (explicit deny, allow, implicit deny; resources and conditions), never by
comparing strings here.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

from ministack.core.iam_actions import extract_iam_action
from ministack.core.iam_evaluator import EvalContext, evaluate, parse_policy_document
from ministack.core.router import detect_service

from services.deploy.asl import all_states
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
    headers = dict(call.headers)
    path = call.path
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
            resource = f"arn:aws:s3:::{bucket}/{unquote(key)}"
        return [Request(call.component, action, resource, context, source)]
    return [
        Request(call.component, action, resource, (), source)
        for resource in api_resources(action, call.json_body(), region, account)
    ]


def api_resources(
    action: str,
    params: Mapping[str, Any],
    region: str,
    account: str,
    query_workgroup: Callable[[str], str] | None = None,
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
        if name in ATHENA_QUERY_ACTIONS and query_workgroup is not None:
            return [f"{athena}:workgroup/{query_workgroup(params.get('QueryExecutionId', ''))}"]
    if service == "lambda" and name == "InvokeFunction":
        function = params["FunctionName"]
        if function.startswith("arn:"):
            return [function]
        return [f"arn:aws:lambda:{region}:{account}:function:{function}"]
    raise ValueError(
        f"no resource mapping for {action}: add it from the Service Authorization Reference"
    )


def requests_of_execution(
    component: str,
    events: Iterable[Mapping[str, Any]],
    definition: Mapping[str, Any],
    region: str,
    account: str,
    query_workgroup: Callable[[str], str],
) -> list[Request]:
    """The calls a state machine execution's Tasks made, from its history: each
    ``TaskScheduled`` with the Parameters of the Task state just entered, on its input.

    An emulator that records no state events inside a Map's iterations (MiniStack) leaves
    a ``TaskScheduled`` with no Task entered before it: such a call is one of the Map
    iterations' Tasks of the same resource, so each of those is counted (their Lambda
    functions are fixed in the definition).
    """
    states = dict(all_states(definition))
    iterated = {
        name: state
        for name, state in states.items()
        if name not in definition["States"] and state["Type"] == "Task"
    }
    requests: list[Request] = []
    entered: tuple[str, Any] | None = None
    for event in events:
        if event["type"] == "TaskStateEntered":
            details = event["stateEnteredEventDetails"]
            entered = (details["name"], json.loads(details["input"]))
        elif event["type"] == "TaskScheduled" and entered is not None:
            name, state_input = entered
            state = states[name]
            action = task_action(state["Resource"])
            params = resolve(arguments(state), state_input)
            for resource in api_resources(action, params, region, account, query_workgroup):
                requests.append(Request(component, action, resource, (), f"state {name}"))
            entered = None
        elif event["type"] == "TaskScheduled":
            scheduled = event["taskScheduledEventDetails"]["resource"]
            for name, state in iterated.items():
                if state["Resource"] != scheduled or "FunctionName" not in arguments(state):
                    continue
                action = task_action(state["Resource"])
                params = {"FunctionName": arguments(state)["FunctionName"]}
                for resource in api_resources(action, params, region, account, query_workgroup):
                    requests.append(Request(component, action, resource, (), f"Map: {name}"))
    return requests


#: The call that starts each optimised integration the definitions use (a ``.sync`` one then
#: polls and may stop: those calls are Step Functions' own, granted from its "IAM policies"
#: pages, and are not in an execution's history).
OPTIMISED = {
    "arn:aws:states:::lambda:invoke": "lambda:InvokeFunction",
    "arn:aws:states:::states:startExecution.sync:2": "states:StartExecution",
    "arn:aws:states:::glue:startJobRun.sync": "glue:StartJobRun",
    "arn:aws:states:::athena:startQueryExecution.sync": "athena:StartQueryExecution",
}


def arguments(state: Mapping[str, Any]) -> dict[str, Any]:
    """A Task's ``Arguments`` (JSONata) or ``Parameters`` (JSONPath)."""
    found: dict[str, Any] = state.get("Arguments") or state.get("Parameters") or {}
    return found


def task_action(resource: str) -> str:
    """The IAM action of a Task's ``Resource`` (an optimised or an aws-sdk integration)."""
    if resource in OPTIMISED:
        return OPTIMISED[resource]
    match = re.fullmatch(r"arn:aws:states:::aws-sdk:([a-z0-9]+):(\w+)", resource)
    if match is None:
        raise ValueError(f"no IAM action known for the Task resource {resource}")
    service, operation = match.groups()
    return f"{service}:{operation[0].upper()}{operation[1:]}"


def resolve(parameters: Mapping[str, Any], state_input: Any) -> dict[str, Any]:
    """A Task's Parameters on its input: plain ``$.a.b`` paths are read, intrinsic
    functions and JSONata ``{% … %}`` expressions (never an identifier IAM authorises on
    here) are left out."""
    resolved: dict[str, Any] = {}
    for key, value in parameters.items():
        if isinstance(value, str) and value.startswith("{%"):
            continue
        if isinstance(value, dict):
            resolved[key] = resolve(value, state_input)
        elif key.endswith(".$"):
            if isinstance(value, str) and re.fullmatch(r"\$(\.\w+)*", value):
                node = state_input
                for part in value.split(".")[1:]:
                    node = node[part]
                resolved[key[:-2]] = node
        else:
            resolved[key] = value
    return resolved


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
    result: str = evaluate(context, [parse_policy_document(document)]).decision
    return result


def unexercised(
    document: str, requests: Iterable[Request], account: str, region: str
) -> set[tuple[str, tuple[str, ...]]]:
    """(action, resources) of each granted action that no request needed: for each Allow
    statement and action in it, whether some request of that action is allowed by that
    statement alone."""
    wanted = list(requests)
    found: set[tuple[str, tuple[str, ...]]] = set()
    for statement in json.loads(document)["Statement"]:
        for action in statement["Action"]:
            alone = json.dumps(
                {"Version": "2012-10-17", "Statement": [{**statement, "Action": [action]}]}
            )
            if not any(
                r.action == action and decision(alone, r, account, region) == "Allow"
                for r in wanted
            ):
                found.add((action, tuple(statement["Resource"])))
    return found

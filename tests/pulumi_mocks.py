"""The Pulumi program run offline (``pulumi.runtime.set_mocks``), answered as AWS would
(ARNs, bucket names, ECR URLs, image digests); every resource's inputs kept for the tests."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import grpc
import pulumi

from services.deploy.stack_settings import KEYS, PROJECT

ACCOUNT = "000000000000"
REGION = "us-east-1"
DIGEST = "sha256:" + "0123456789abcdef" * 4
#: What Pulumi ends a bucket's name with (bucket_prefix).
BUCKET_SUFFIX = "20251123"

#: ARNs as AWS forms them, for the resources whose ARN the program passes on.
ARN_FORMATS = {
    "aws:lambda/function:Function": f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{{name}}",
    "aws:sfn/stateMachine:StateMachine": f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:{{name}}",
    "aws:glue/job:Job": f"arn:aws:glue:{REGION}:{ACCOUNT}:job/{{name}}",
    "aws:glue/crawler:Crawler": f"arn:aws:glue:{REGION}:{ACCOUNT}:crawler/{{name}}",
    "aws:athena/workgroup:Workgroup": f"arn:aws:athena:{REGION}:{ACCOUNT}:workgroup/{{name}}",
    "aws:cloudwatch/logGroup:LogGroup": f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{{name}}",
}

#: Config of the stack under test; the local deployment's values, so both can be compared.
CONFIG = {
    "prefix": "bovespa-local",
    "indices": json.dumps(["IBOV", "SMLL"]),
    "alarmEmail": "alerts@example.com",
}


class ProviderError(grpc.RpcError):  # type: ignore[misc]
    """A provider's failed invoke, as the engine reports it: Pulumi raises it in the program."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def code(self) -> grpc.StatusCode:
        return grpc.StatusCode.UNKNOWN

    def details(self) -> str:
        return self.message


@dataclass
class Declared:
    type: str
    name: str
    inputs: dict[str, Any]
    #: What it waits for: ``depends_on`` and the resources whose outputs its inputs use.
    dependencies: set[str] = field(default_factory=set)
    retain_on_delete: bool = False


class Monitor(pulumi.runtime.mocks.MockMonitor):  # type: ignore[misc]
    """Also keeps what ``MockResourceArgs`` leaves out: dependencies, ``retain_on_delete``."""

    def __init__(self, mocks: Mocks) -> None:
        super().__init__(mocks)
        self.registrations: dict[str, tuple[set[str], bool]] = {}

    def RegisterResource(self, request: Any) -> Any:  # noqa: N802 (the gRPC method's name)
        urns = set(request.dependencies)
        for dependency in request.propertyDependencies.values():
            urns.update(dependency.urns)
        names = {urn.rsplit("::", 1)[-1] for urn in urns}
        self.registrations[request.name] = (names, bool(request.retainOnDelete))
        return super().RegisterResource(request)


@dataclass
class Mocks(pulumi.runtime.Mocks):
    declared: list[Declared] = field(default_factory=list)
    #: The Glue databases and log groups that exist before the stack (for Cloud Control).
    existing_databases: set[str] = field(default_factory=lambda: {"default"})
    existing_log_groups: set[str] = field(default_factory=set)
    #: An error Cloud Control answers with instead (access denied, say).
    lookup_error: str | None = None

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        inputs = dict(args.inputs)
        name = inputs.get("name") or args.name
        outputs = {**inputs, "name": name}
        service = args.typ.split(":")[1].split("/")[0]
        outputs.setdefault("arn", f"arn:aws:{service}:{REGION}:{ACCOUNT}:{name}")
        if args.typ == "aws:s3/bucket:Bucket":
            bucket = f"{inputs['bucketPrefix']}{BUCKET_SUFFIX}"
            outputs.update(bucket=bucket, arn=f"arn:aws:s3:::{bucket}")
        elif args.typ == "aws:ecr/repository:Repository":
            url = f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/{name}"
            outputs.update(repositoryUrl=url, registryId=ACCOUNT)
        elif args.typ == "docker-build:index:Image":
            outputs.update(digest=DIGEST, ref=f"{inputs['tags'][0]}@{DIGEST}")
        elif args.typ in ARN_FORMATS:
            outputs["arn"] = ARN_FORMATS[args.typ].format(name=name)
        self.declared.append(Declared(args.typ, args.name, inputs))
        return f"{args.name}-id", outputs

    def call(self, args: pulumi.runtime.MockCallArgs) -> dict[str, Any]:
        if args.token == "aws:index/getCallerIdentity:getCallerIdentity":
            return {"accountId": ACCOUNT, "arn": f"arn:aws:iam::{ACCOUNT}:user/t", "userId": "t"}
        if args.token == "aws:index/getRegion:getRegion":
            return {"name": REGION, "region": REGION, "id": REGION}
        if args.token == "aws:cloudcontrol/getResource:getResource":
            kind, name = args.args["typeName"], args.args["identifier"]
            if self.lookup_error:
                raise ProviderError(self.lookup_error)
            databases, groups = self.existing_databases, self.existing_log_groups
            if name in {"AWS::Glue::Database": databases, "AWS::Logs::LogGroup": groups}[kind]:
                return {"identifier": name, "properties": "{}", "typeName": kind, "id": name}
            # What the provider says for a missing resource (Cloud Control GetResource).
            raise ProviderError(
                f"reading Cloud Control API ({kind}) Resource ({name}): couldn't find resource"
            )
        if args.token == "aws:ecr/getAuthorizationToken:getAuthorizationToken":
            return {"userName": "AWS", "password": "secret", "authorizationToken": "x",
                    "proxyEndpoint": f"https://{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com",
                    "expiresAt": "2030-01-01T00:00:00Z", "id": REGION}  # fmt: skip
        return {}

    def of_type(self, kind: str) -> list[Declared]:
        return [d for d in self.declared if d.type == kind]

    def one(self, kind: str, name: str | None = None) -> Declared:
        found = [d for d in self.of_type(kind) if name is None or d.inputs.get("name") == name]
        assert len(found) == 1, (kind, name, [d.name for d in found])
        return found[0]


def bucket(label: str) -> str:
    return f"{CONFIG['prefix']}-{label}-{BUCKET_SUFFIX}"


def run_program(config: dict[str, str] | None = None, mocks: Mocks | None = None) -> Mocks:
    """Declare the whole stack under mocks and wait until every resource is registered."""
    mocks = Mocks() if mocks is None else mocks
    monitor = Monitor(mocks)
    pulumi.runtime.set_mocks(mocks, project=PROJECT, stack="test", preview=False, monitor=monitor)
    values = CONFIG if config is None else config
    assert set(values) <= set(KEYS), values
    pulumi.runtime.set_all_config({f"{PROJECT}:{k}": v for k, v in values.items()})

    from infra.program import main

    pulumi.runtime.test(main)()
    for declared in mocks.declared:
        declared.dependencies, declared.retain_on_delete = monitor.registrations[declared.name]
    return mocks

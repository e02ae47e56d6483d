"""ECR repositories, the two images (the scraper's also runs validate; the trigger's is
smaller) and the three Lambda functions, each with a role allowed only what it does."""

from __future__ import annotations

import json

import pulumi
import pulumi_aws as aws
import pulumi_docker_build as docker_build

from infra.config import Stack
from infra.policies import allow, role, sub
from infra.storage import Storage
from services.deploy.deployment import (
    IMAGE_OF_HANDLER,
    SCRAPER_HANDLER,
    TRIGGER_HANDLER,
    VALIDATE_HANDLER,
    state_machine_arn,
)
from services.pipeline import settings
from services.pipeline.lake.datasets import PREVIEW, RAW_PREFIXES, THEORETICAL

INBOX, RAW = settings.INBOX_PREFIX, settings.RAW_PREFIX


class Functions(pulumi.ComponentResource):
    def __init__(self, name: str, stack: Stack, storage: Storage):
        super().__init__("bovespa:functions:Functions", name)
        self._stack = stack
        prefix = name.removesuffix("-functions")
        images = sorted(set(IMAGE_OF_HANDLER.values()))
        self.image_uris = {image: self._image(name, prefix, image) for image in images}
        deployment, lake, bucket = stack.deployment, storage.lake.arn, storage.lake.bucket
        machine = state_machine_arn(deployment.state_machine, stack.region, stack.account)
        written = [f"{prefix}/*" for prefix in RAW_PREFIXES]
        # Write (and, when a later write fails, delete) under raw/ and the datasets ahead's
        # prefixes; read a stored preview ("no preview now" keeps it).
        self.scraper = self._function(
            deployment.scraper_function,
            SCRAPER_HANDLER,
            bucket.apply(deployment.scraper_environment),
            allow(["s3:PutObject", "s3:DeleteObject"], [sub(lake, f"/{p}") for p in written]),
            allow(["s3:GetObject"], [sub(lake, f"/{PREVIEW.prefix}/*")]),
            allow(["s3:ListBucket"], [lake], Condition={"StringLike": {"s3:prefix": written}}),
        )
        # Read a pinned version under inbox/ or raw/, promote a dropped object to raw/ (a CSV
        # download as a raw day: its archived file replaced, a failed write's removed).
        # s3:ListBucket makes a missing key NoSuchKey, not AccessDenied
        # (https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObject.html, "Permissions").
        self.validate = self._function(
            deployment.validate_function,
            VALIDATE_HANDLER,
            bucket.apply(deployment.validate_environment),
            allow(
                ["s3:GetObject", "s3:GetObjectVersion"],
                [sub(lake, f"/{p}/*") for p in (INBOX, RAW, THEORETICAL.prefix)],
            ),
            allow(
                ["s3:PutObject", "s3:DeleteObject"],
                [sub(lake, f"/{p}/*") for p in (RAW, THEORETICAL.prefix)],
            ),
            allow(["s3:ListBucket"], [lake]),
        )
        self.trigger = self._function(
            deployment.trigger_function,
            TRIGGER_HANDLER,
            deployment.trigger_environment(machine),
            allow(["states:StartExecution"], [machine]),
        )
        functions = {"scraper": self.scraper, "validate": self.validate, "trigger": self.trigger}
        outputs = {name: function.arn for name, function in functions.items()}
        self.register_outputs({**outputs, "images": self.image_uris})

    def _image(self, name: str, prefix: str, image: str) -> pulumi.Output[str]:
        child = pulumi.ResourceOptions(parent=self)
        repository = aws.ecr.Repository(
            f"{name}-{image}-repository", name=f"{prefix}-{image}", force_delete=True,
            image_scanning_configuration={"scan_on_push": True}, image_tag_mutability="MUTABLE",
            opts=child,
        )  # fmt: skip
        history = self._stack.config.image_history
        selection = {"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": history}
        keep_last = {"rulePriority": 1, "description": f"keep the last {history} images",
                     "selection": selection, "action": {"type": "expire"}}  # fmt: skip
        aws.ecr.LifecyclePolicy(
            f"{name}-{image}-lifecycle",
            repository=repository.name,
            policy=json.dumps({"rules": [keep_last]}),
            opts=child,
        )
        token = aws.ecr.get_authorization_token_output(registry_id=repository.registry_id)
        # x86_64 (Lambda's default), Docker media types (Lambda refuses an image index with
        # provenance attestations); the registry export is the one push (push=True: two).
        url = repository.repository_url
        built = docker_build.Image(
            f"{name}-{image}-image",
            context={"location": str(settings.REPO_ROOT)},
            dockerfile={"location": str(settings.REPO_ROOT / "docker" / f"{image}.Dockerfile")},
            platforms=[docker_build.Platform.LINUX_AMD64],
            tags=[sub(url, ":latest")],
            push=False,
            exports=[{"registry": {"oci_media_types": False}}],
            registries=[{"address": url, "username": token.user_name, "password": token.password}],
            opts=child,
        )
        # repository@sha256:…: Lambda refuses repository:tag@digest.
        return pulumi.Output.concat(url, "@", built.digest)

    def _function(
        self,
        function_name: str,
        handler: str,
        environment: pulumi.Input[dict[str, str]],
        *grants: dict[str, object],
    ) -> aws.lambda_.Function:
        stack = self._stack
        limits = stack.deployment.function_limits(function_name)
        log_group = stack.log_group(f"{function_name}-logs", f"/aws/lambda/{function_name}", self)
        # No aws:SourceAccount trust condition: Lambda documents none for execution roles,
        # and one it does not send would deny every start.
        written = [log_group.arn, sub(log_group.arn, ":*")]
        logs = allow(["logs:CreateLogStream", "logs:PutLogEvents"], written)
        traces = allow(["xray:PutTraceSegments", "xray:PutTelemetryRecords"], ["*"])
        function_role = role(function_name, "lambda.amazonaws.com", [logs, traces, *grants], self)
        return aws.lambda_.Function(
            function_name,
            name=function_name,
            package_type="Image",
            image_uri=self.image_uris[IMAGE_OF_HANDLER[handler]],
            image_config={"commands": [handler]},
            role=function_role.arn,
            timeout=limits.timeout_seconds,
            memory_size=limits.memory_mb,
            environment={"variables": environment},
            tracing_config={"mode": "Active"},
            opts=function_role.user(self, log_group),
        )

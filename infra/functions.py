"""Images and functions: ECR repositories, the two images, and the three Lambda functions.

The scraper image also serves the validate function (another CMD); the trigger has its
own, smaller image. Each function has its own role, allowed only what it does.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws
import pulumi_docker_build as docker_build

from infra.policies import allow, log_writer, role
from services.deploy.deployment import (
    SCRAPER_HANDLER,
    TRIGGER_HANDLER,
    VALIDATE_HANDLER,
    Deployment,
)
from services.deploy.packaging import DOCKERFILES, IMAGE_PLATFORM
from services.pipeline import settings
from services.pipeline.lake.datasets import PREVIEW, RAW_PREFIXES

XRAY_WRITE = ["xray:PutTraceSegments", "xray:PutTelemetryRecords"]


@dataclass(frozen=True)
class FunctionsArgs:
    deployment: Deployment
    lake_bucket: pulumi.Input[str]
    lake_arn: pulumi.Input[str]
    state_machine_arn: pulumi.Input[str]
    log_retention_days: int
    image_history: int


def lambda_image_uri(repository_url: str, digest: str) -> str:
    """``repository@sha256:…``: Lambda refuses ``repository:tag@digest``."""
    return f"{repository_url}@{digest}"


def keep_last_images(history: int) -> dict[str, object]:
    """The ECR lifecycle rule that expires all but the last ``history`` images."""
    return {
        "rulePriority": 1,
        "description": f"keep the last {history} images",
        "selection": {
            "tagStatus": "any",
            "countType": "imageCountMoreThan",
            "countNumber": history,
        },
        "action": {"type": "expire"},
    }


class Functions(pulumi.ComponentResource):
    """ECR repositories and images, and the scraper, validate and trigger functions."""

    def __init__(self, name: str, args: FunctionsArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("bovespa:functions:Functions", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.image_uris: dict[str, pulumi.Output[str]] = {
            image: self._image(name, image, dockerfile, args.image_history, child)
            for image, dockerfile in DOCKERFILES.items()
        }
        self.scraper = self._scraper(name, args, child)
        self.validate = self._validate(name, args, child)
        self.trigger = self._trigger(name, args, child)
        self.register_outputs(
            {
                "scraper": self.scraper.arn,
                "validate": self.validate.arn,
                "trigger": self.trigger.arn,
                "images": self.image_uris,
            }
        )

    def _scraper(
        self, name: str, args: FunctionsArgs, child: pulumi.ResourceOptions
    ) -> aws.lambda_.Function:
        deployment = args.deployment
        lake = pulumi.Output.from_input(args.lake_arn)
        # The scraper also writes the datasets ahead, each beside raw/ under its own prefix.
        scraped_prefixes = RAW_PREFIXES
        return self._function(
            name,
            deployment.scraper_function,
            self.image_uris["scraper"],
            SCRAPER_HANDLER,
            pulumi.Output.from_input(args.lake_bucket).apply(deployment.scraper_environment),
            args,
            child,
            # The scraper writes (and, when a write fails, deletes) only under raw/ and the
            # datasets ahead's prefixes; it reads a stored preview ("no preview now" keeps it).
            grants=[
                lake.apply(
                    lambda a: allow(
                        ["s3:PutObject", "s3:DeleteObject"],
                        [f"{a}/{prefix}/*" for prefix in scraped_prefixes],
                    )
                ),
                lake.apply(lambda a: allow(["s3:GetObject"], [f"{a}/{PREVIEW.prefix}/*"])),
                lake.apply(
                    lambda a: allow(
                        ["s3:ListBucket"],
                        [a],
                        Condition={
                            "StringLike": {"s3:prefix": [f"{p}/*" for p in scraped_prefixes]}
                        },
                    )
                ),
            ],
        )

    def _validate(
        self, name: str, args: FunctionsArgs, child: pulumi.ResourceOptions
    ) -> aws.lambda_.Function:
        deployment = args.deployment
        lake = pulumi.Output.from_input(args.lake_arn)
        return self._function(
            name,
            deployment.validate_function,
            self.image_uris["scraper"],
            VALIDATE_HANDLER,
            pulumi.Output.from_input(args.lake_bucket).apply(deployment.validate_environment),
            args,
            child,
            # Validate reads a pinned version under inbox/ or raw/ and promotes a dropped
            # object to raw/. s3:ListBucket makes a missing key NoSuchKey, not AccessDenied
            # (https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObject.html, "Permissions").
            grants=[
                lake.apply(
                    lambda a: allow(
                        ["s3:GetObject", "s3:GetObjectVersion"],
                        [f"{a}/{settings.INBOX_PREFIX}/*", f"{a}/{settings.RAW_PREFIX}/*"],
                    )
                ),
                lake.apply(lambda a: allow(["s3:PutObject"], [f"{a}/{settings.RAW_PREFIX}/*"])),
                lake.apply(lambda a: allow(["s3:ListBucket"], [a])),
            ],
        )

    def _trigger(
        self, name: str, args: FunctionsArgs, child: pulumi.ResourceOptions
    ) -> aws.lambda_.Function:
        machine = pulumi.Output.from_input(args.state_machine_arn)
        return self._function(
            name,
            args.deployment.trigger_function,
            self.image_uris["trigger"],
            TRIGGER_HANDLER,
            machine.apply(args.deployment.trigger_environment),
            args,
            child,
            # The trigger only starts the pipeline (it reads no object).
            grants=[machine.apply(lambda arn: allow(["states:StartExecution"], [arn]))],
        )

    def _image(
        self,
        name: str,
        image: str,
        dockerfile: str,
        history: int,
        child: pulumi.ResourceOptions,
    ) -> pulumi.Output[str]:
        repository = self._repository(name, image, history, child)
        token = aws.ecr.get_authorization_token_output(registry_id=repository.registry_id)
        # Built from docker/ for one platform, pushed with Docker media types: BuildKit
        # cannot attach provenance attestations to those, and Lambda refuses an image
        # index that carries them. The registry export is the one push: push=True would
        # add a second registry export (the provider's --push shorthand) and push twice.
        built = docker_build.Image(
            f"{name}-{image}-image",
            context={"location": str(settings.REPO_ROOT)},
            dockerfile={"location": str(settings.REPO_ROOT / dockerfile)},
            platforms=[docker_build.Platform(IMAGE_PLATFORM)],
            tags=[repository.repository_url.apply(lambda url: f"{url}:latest")],
            push=False,
            exports=[{"registry": {"oci_media_types": False}}],
            registries=[
                {
                    "address": repository.repository_url,
                    "username": token.user_name,
                    "password": token.password,
                }
            ],
            opts=child,
        )
        return pulumi.Output.all(repository.repository_url, built.digest).apply(
            lambda parts: lambda_image_uri(parts[0], parts[1])
        )

    def _repository(
        self, name: str, image: str, history: int, child: pulumi.ResourceOptions
    ) -> aws.ecr.Repository:
        # A repository per image, scanned on push, keeping the last few images.
        repository = aws.ecr.Repository(
            f"{name}-{image}-repository",
            name=f"{self._prefix(name)}-{image}",
            image_scanning_configuration={"scan_on_push": True},
            image_tag_mutability="MUTABLE",
            force_delete=True,
            opts=child,
        )
        aws.ecr.LifecyclePolicy(
            f"{name}-{image}-lifecycle",
            repository=repository.name,
            policy=json.dumps({"rules": [keep_last_images(history)]}),
            opts=child,
        )
        return repository

    def _function(
        self,
        name: str,
        function_name: str,
        image_uri: pulumi.Output[str],
        handler: str,
        environment: pulumi.Output[dict[str, str]],
        args: FunctionsArgs,
        child: pulumi.ResourceOptions,
        *,
        grants: list[pulumi.Output[dict[str, object]]],
    ) -> aws.lambda_.Function:
        limits = args.deployment.function_limits(function_name)
        # Its log group, with a retention (Lambda would create one that keeps logs forever).
        log_group = aws.cloudwatch.LogGroup(
            f"{function_name}-logs",
            name=f"/aws/lambda/{function_name}",
            retention_in_days=args.log_retention_days,
            opts=child,
        )
        # Its own role: the grants above, writing to its own log group, and sending its
        # X-Ray traces (active tracing needs that; X-Ray cannot be scoped to a resource).
        # The trust has no aws:SourceAccount/SourceArn condition: Lambda documents none
        # for execution roles (its execution-role trust policy is the bare service
        # principal), and a condition the service does not send would deny every start.
        function_role = role(
            function_name,
            "lambda.amazonaws.com",
            [log_writer(log_group.arn), allow(XRAY_WRITE, ["*"]), *grants],
            child,
        )
        return aws.lambda_.Function(
            function_name,
            name=function_name,
            package_type="Image",
            image_uri=image_uri,
            image_config={"commands": [handler]},
            role=function_role.arn,
            timeout=limits.timeout_seconds,
            memory_size=limits.memory_mb,
            environment={"variables": environment},
            tracing_config={"mode": "Active"},
            opts=function_role.user(self, log_group),
        )

    @staticmethod
    def _prefix(name: str) -> str:
        return name.removesuffix("-functions")

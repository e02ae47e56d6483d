"""Storage: the lake bucket (raw/, refined/) and the artifacts bucket (scripts, Athena results)."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from glue.schema import TABLES
from infra.policies import policy
from services.deploy.deployment import (
    ATHENA_RESULTS_PREFIX,
    Deployment,
    athena_results_location,
)
from services.pipeline import settings


@dataclass(frozen=True)
class StorageArgs:
    deployment: Deployment


class Storage(pulumi.ComponentResource):
    """Private, encrypted, TLS-only buckets; the lake versioned; S3 events go to EventBridge."""

    def __init__(self, name: str, args: StorageArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("bovespa:storage:Storage", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        # The lake: inbox/ (dropped files), raw/ (as B3 sent it), refined/ (what Athena reads).
        # Bucket names are global: Pulumi ends each name with a unique suffix.
        self.lake = aws.s3.Bucket(
            f"{name}-lake", bucket_prefix=f"{args.deployment.lake_bucket}-", opts=child
        )
        # Scripts and packages of the Glue job, and Athena's query results: all disposable,
        # so `pulumi destroy` empties it rather than stopping part-way.
        self.artifacts = aws.s3.Bucket(
            f"{name}-artifacts",
            bucket_prefix=f"{args.deployment.artifacts_bucket}-",
            force_destroy=True,
            opts=child,
        )
        for label, bucket in (("lake", self.lake), ("artifacts", self.artifacts)):
            self._lock_down(name, label, bucket, child)
        self._lake_versions(name, child)
        self._lake_events(name, child)
        self._artifacts_lifecycle(name, child)
        self.athena_results = self.artifacts.bucket.apply(athena_results_location)
        self.register_outputs({"lake": self.lake.bucket, "artifacts": self.artifacts.bucket})

    def _lake_versions(self, name: str, child: pulumi.ResourceOptions) -> None:
        # Versioning keeps every raw object B3 ever sent (the lake bucket holds raw/).
        aws.s3.BucketVersioning(
            f"{name}-lake-versioning",
            bucket=self.lake.id,
            versioning_configuration={"status": "Enabled"},
            opts=child,
        )
        # Old versions of refined objects are noise: expire them after 30 days, under every
        # refined table's prefix (the day's and the datasets ahead's, glue/schema.py TABLES).
        # The raw prefixes (datasets.RAW_PREFIXES) get no rule: their old versions are what
        # B3 sent, kept for good.
        rules: list[aws.s3.BucketLifecycleConfigurationRuleArgsDict] = [
            {
                "id": f"expire-replaced-{table.prefix}",
                "status": "Enabled",
                "filter": {"prefix": f"{table.prefix}/"},
                "noncurrent_version_expiration": {"noncurrent_days": 30},
            }
            for table in TABLES
        ]
        # The job deletes its staging/<run>/ when it ends; a killed run's stays until this
        # rule expires it.
        rules.append(
            {
                "id": "expire-job-staging",
                "status": "Enabled",
                "filter": {"prefix": f"{settings.STAGING_PREFIX}/"},
                "expiration": {"days": 2},
                "noncurrent_version_expiration": {"noncurrent_days": 1},
            }
        )
        # Anywhere in the lake, a delete marker left with no version behind it (its versions
        # expired above) is removed. A rule of its own: ExpiredObjectDeleteMarker cannot go
        # with Days (https://docs.aws.amazon.com/AmazonS3/latest/API/API_LifecycleExpiration.html).
        rules.append(
            {
                "id": "remove-expired-delete-markers",
                "status": "Enabled",
                "filter": {"prefix": ""},
                "expiration": {"expired_object_delete_marker": True},
            }
        )
        aws.s3.BucketLifecycleConfiguration(
            f"{name}-lake-lifecycle", bucket=self.lake.id, rules=rules, opts=child
        )

    def _lake_events(self, name: str, child: pulumi.ResourceOptions) -> None:
        # S3 events go to EventBridge, where the rule keeps those under inbox/.
        aws.s3.BucketNotification(
            f"{name}-lake-events", bucket=self.lake.id, eventbridge=True, opts=child
        )

    def _artifacts_lifecycle(self, name: str, child: pulumi.ResourceOptions) -> None:
        # Athena results are disposable: expire them after a week.
        aws.s3.BucketLifecycleConfiguration(
            f"{name}-artifacts-lifecycle",
            bucket=self.artifacts.id,
            rules=[
                {
                    "id": "expire-athena-results",
                    "status": "Enabled",
                    "filter": {"prefix": f"{ATHENA_RESULTS_PREFIX}/"},
                    "expiration": {"days": 7},
                }
            ],
            opts=child,
        )

    @staticmethod
    def _lock_down(
        name: str, label: str, bucket: aws.s3.Bucket, child: pulumi.ResourceOptions
    ) -> None:
        # No public access, whatever an ACL or policy says.
        aws.s3.BucketPublicAccessBlock(
            f"{name}-{label}-public-access-block",
            bucket=bucket.id,
            block_public_acls=True,
            block_public_policy=True,
            ignore_public_acls=True,
            restrict_public_buckets=True,
            opts=child,
        )
        # Encrypted at rest by default (SSE-S3).
        aws.s3.BucketServerSideEncryptionConfiguration(
            f"{name}-{label}-encryption",
            bucket=bucket.id,
            rules=[{"apply_server_side_encryption_by_default": {"sse_algorithm": "AES256"}}],
            opts=child,
        )
        # Refuse plain HTTP.
        aws.s3.BucketPolicy(
            f"{name}-{label}-tls-only",
            bucket=bucket.id,
            policy=policy(
                bucket.arn.apply(
                    lambda arn: {
                        "Sid": "DenyInsecureTransport",
                        "Effect": "Deny",
                        "Principal": "*",
                        "Action": "s3:*",
                        "Resource": [arn, f"{arn}/*"],
                        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                    }
                )
            ),
            opts=child,
        )

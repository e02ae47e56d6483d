"""Storage: the lake bucket (raw/, refined/) and the artifacts bucket (scripts, Athena results)."""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

from glue.schema import TABLES
from infra.config import Stack
from infra.policies import policy, sub
from services.deploy.deployment import ATHENA_RESULTS_PREFIX, athena_results_location
from services.pipeline import settings


class Storage(pulumi.ComponentResource):
    """Private, encrypted, TLS-only buckets; the lake versioned; S3 events go to EventBridge."""

    def __init__(self, name: str, stack: Stack):
        super().__init__("bovespa:storage:Storage", name)
        child = pulumi.ResourceOptions(parent=self)
        # Bucket names are global: Pulumi ends each name with a unique suffix.
        self.lake = aws.s3.Bucket(
            f"{name}-lake", bucket_prefix=f"{stack.deployment.lake_bucket}-", opts=child
        )
        # The job's code and Athena's results: disposable, so `pulumi destroy` empties it.
        self.artifacts = aws.s3.Bucket(
            f"{name}-artifacts",
            bucket_prefix=f"{stack.deployment.artifacts_bucket}-",
            force_destroy=True,
            opts=child,
        )
        for label, bucket in (("lake", self.lake), ("artifacts", self.artifacts)):
            self._lock_down(f"{name}-{label}", bucket)
        # Versioning keeps every raw object B3 ever sent (the lake bucket holds raw/).
        aws.s3.BucketVersioning(
            f"{name}-lake-versioning",
            bucket=self.lake.id,
            versioning_configuration={"status": "Enabled"},
            opts=child,
        )
        aws.s3.BucketLifecycleConfiguration(
            f"{name}-lake-lifecycle", bucket=self.lake.id, rules=lake_rules(), opts=child
        )
        aws.s3.BucketNotification(
            f"{name}-lake-events", bucket=self.lake.id, eventbridge=True, opts=child
        )
        aws.s3.BucketLifecycleConfiguration(
            f"{name}-artifacts-lifecycle",
            bucket=self.artifacts.id,
            rules=[{"id": "expire-athena-results", "status": "Enabled", "expiration": {"days": 7},
                    "filter": {"prefix": f"{ATHENA_RESULTS_PREFIX}/"}}],
            opts=child,
        )  # fmt: skip
        self.athena_results = self.artifacts.bucket.apply(athena_results_location)
        self.register_outputs({"lake": self.lake.bucket, "artifacts": self.artifacts.bucket})

    def _lock_down(self, name: str, bucket: aws.s3.Bucket) -> None:
        """No public access, whatever an ACL or policy says; SSE-S3 by default; no plain HTTP."""
        child = pulumi.ResourceOptions(parent=self)
        aws.s3.BucketPublicAccessBlock(
            f"{name}-public-access-block",
            bucket=bucket.id,
            block_public_acls=True,
            block_public_policy=True,
            ignore_public_acls=True,
            restrict_public_buckets=True,
            opts=child,
        )
        aws.s3.BucketServerSideEncryptionConfiguration(
            f"{name}-encryption",
            bucket=bucket.id,
            rules=[{"apply_server_side_encryption_by_default": {"sse_algorithm": "AES256"}}],
            opts=child,
        )
        insecure = {"Sid": "DenyInsecureTransport", "Effect": "Deny", "Principal": "*",
                    "Action": "s3:*", "Resource": [bucket.arn, sub(bucket.arn, "/*")],
                    "Condition": {"Bool": {"aws:SecureTransport": "false"}}}  # fmt: skip
        aws.s3.BucketPolicy(
            f"{name}-tls-only", bucket=bucket.id, policy=policy(insecure), opts=child
        )


def lake_rules() -> list[aws.s3.BucketLifecycleConfigurationRuleArgsDict]:
    """Replaced refined files are noise: they expire after 30 days, under every refined
    table's prefix; the raw prefixes get no rule (what B3 sent is kept for good). A killed
    run's staging/<run>/ expires too. A delete marker left with no version behind it is
    removed, in a rule of its own: ExpiredObjectDeleteMarker cannot go with Days
    (https://docs.aws.amazon.com/AmazonS3/latest/API/API_LifecycleExpiration.html)."""
    rules: list[aws.s3.BucketLifecycleConfigurationRuleArgsDict] = [
        {"id": f"expire-replaced-{table.prefix}", "status": "Enabled",
         "filter": {"prefix": f"{table.prefix}/"},
         "noncurrent_version_expiration": {"noncurrent_days": 30}} for table in TABLES
    ]  # fmt: skip
    return [
        *rules,
        {"id": "expire-job-staging", "status": "Enabled",
         "filter": {"prefix": f"{settings.STAGING_PREFIX}/"}, "expiration": {"days": 2},
         "noncurrent_version_expiration": {"noncurrent_days": 1}},
        {"id": "remove-expired-delete-markers", "status": "Enabled", "filter": {"prefix": ""},
         "expiration": {"expired_object_delete_marker": True}},
    ]  # fmt: skip

"""The Glue job and its code, the refined tables, the crawler, their logs. Both roles trust
glue.amazonaws.com with no condition: Glue documents none for the roles it assumes, and one
it does not send would deny it the role."""

from __future__ import annotations

import hashlib
import io
import re
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pulumi
import pulumi_aws as aws

from glue import catalog
from glue.arguments import ENGINE, flag
from glue.schema import DAY_TABLE, TABLES
from glue.schema import Table as TableDescription
from infra.config import Stack
from infra.policies import ServiceRole, allow, role, sub
from infra.storage import Storage
from services.deploy.deployment import regional_arn
from services.pipeline import settings
from services.pipeline.lake.datasets import RAW_PREFIXES

STAGING = settings.STAGING_PREFIX
JOB_SCRIPT = settings.REPO_ROOT / "glue" / "job.py"
BUILD_DIR = settings.STATE_DIR / "build"

#: The job keeps the refined tables' partitions (Pulumi owns the database and the tables).
JOB_CATALOG_ACTIONS = [
    "glue:GetPartitions", "glue:BatchCreatePartition", "glue:BatchUpdatePartition",
    "glue:DeletePartition",
]  # fmt: skip
#: The crawler keeps its own table: schema changes and deletions are only logged (LOG/LOG).
CRAWLER_CATALOG_ACTIONS = [
    "glue:GetDatabase", "glue:GetTable", "glue:CreateTable", "glue:UpdateTable",
    "glue:GetPartition", "glue:GetPartitions", "glue:BatchGetPartition",
    "glue:BatchCreatePartition", "glue:UpdatePartition", "glue:BatchUpdatePartition",
]  # fmt: skip
LOG_WRITE = ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"]
#: Glue 5.0 writes a job's logs to <prefix>/error and <prefix>/output, the prefix set by
#: --custom-logGroup-prefix (default /aws-glue/jobs, shared by every job of the account):
#: https://docs.aws.amazon.com/glue/latest/dg/monitor-continuous-logging.html
JOB_LOG_STREAMS = ("error", "output")
#: Every crawler of the account logs to this one group (it cannot be chosen).
CRAWLER_LOG_GROUP = "/aws-glue/crawlers"
#: A missing resource in the provider's error for Cloud Control's GetResource.
NOT_FOUND = re.compile(r"couldn't find resource|not ?found", re.IGNORECASE)


def resource_exists(type_name: str, identifier: str) -> bool:
    """Whether Cloud Control finds the resource; any error but "not found" stops the deployment."""
    try:
        aws.cloudcontrol.get_resource(type_name=type_name, identifier=identifier)
    except Exception as error:
        if NOT_FOUND.search(str(error)):
            return False
        raise
    return True


def package_zip() -> bytes:
    """``glue/`` and ``services/`` (modules and ``data/`` tables) as one deterministic zip
    for ``--extra-py-files``."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for package in ("glue", "services"):
            for path in sorted((settings.REPO_ROOT / package).rglob("*")):
                if path.is_file() and (path.suffix == ".py" or path.parent.name == "data"):
                    info = zipfile.ZipInfo(path.relative_to(settings.REPO_ROOT).as_posix())
                    archive.writestr(info, path.read_bytes(), zipfile.ZIP_DEFLATED)
    return buffer.getvalue()


#: The job's script and package, by their keys in the artifacts bucket.
JobCode = dict[str, Path]


def build_job_code(build_dir: Path = BUILD_DIR) -> JobCode:
    """Package the job's code before :class:`Etl` is declared (no component writes files);
    each key changes with its content, so Glue runs what was deployed."""
    build_dir.mkdir(parents=True, exist_ok=True)
    package = build_dir / "bovespa-glue.zip"
    package.write_bytes(package_zip())
    return {f"glue/{hashlib.sha256(path.read_bytes()).hexdigest()[:16]}/{name}": path
            for name, path in (("job.py", JOB_SCRIPT), ("bovespa.zip", package))}  # fmt: skip


def snake(described: Any) -> Any:
    """An AWS API shape (``SerdeInfo``…) as Pulumi's arguments (``ser_de_info``…); a
    ``Parameters`` map is data, kept as it is."""
    if isinstance(described, list):
        return [snake(item) for item in described]
    if not isinstance(described, dict):
        return described
    return {
        re.sub(r"(?<!^)(?=[A-Z])", "_", k).lower().replace("serde", "ser_de"):
        v if k == "Parameters" else snake(v)
        for k, v in described.items()
    }  # fmt: skip


class Etl(pulumi.ComponentResource):
    def __init__(self, name: str, stack: Stack, storage: Storage, code: JobCode):
        super().__init__("bovespa:etl:Etl", name)
        self._name, self._stack, self._storage = name, stack, storage
        deployment = stack.deployment
        self._job_log_prefix = f"/aws-glue/jobs/{deployment.glue_job}"
        for label, (key, path) in zip(("script", "package"), code.items(), strict=True):
            aws.s3.BucketObjectv2(
                f"{name}-{label}",
                bucket=storage.artifacts.bucket,
                key=key,
                source=pulumi.FileAsset(str(path)),
                opts=pulumi.ResourceOptions(parent=self),
            )
        database = self._database()
        described = zip(deployment.tables, TABLES, strict=True)
        tables = [self._table(table, about, database) for table, about in described]
        self.table = tables[0]
        job_logs = [
            stack.log_group(f"{name}-job-{stream}-logs", f"{self._job_log_prefix}/{stream}", self)
            for stream in JOB_LOG_STREAMS
        ]
        self.job = self._job(self._job_role([t.prefix for t in TABLES]), code, job_logs)
        # The account's crawler log group, given a retention where this stack creates it
        # (kept on destroy, like the database; left alone where it existed).
        crawler_logs = (
            []
            if resource_exists("AWS::Logs::LogGroup", CRAWLER_LOG_GROUP)
            else [stack.log_group(f"{name}-crawler-logs", CRAWLER_LOG_GROUP, self, retain=True)]
        )
        self.crawler = self._crawler([*database, *crawler_logs])
        self.register_outputs({"job": self.job.name, "crawler": self.crawler.name})

    def _catalog_arns(self, tables: list[str]) -> list[str]:
        stack = self._stack
        return stack.deployment.glue_catalog_arns(stack.region, stack.account, tables=tables)

    def _log_writer(self, *groups: str) -> dict[str, Any]:
        stack = self._stack
        arns = [
            regional_arn("logs", stack.region, stack.account, f"log-group:{group}{end}")
            for group in groups
            for end in ("", ":*")
        ]
        return allow(LOG_WRITE, arns)

    def _database(self) -> list[pulumi.Resource]:
        """The database ("default") is never deleted by this stack: where it exists it is not
        managed; where it does not, it is created and retained on destroy (other tables may
        live in it by then). Returns what the tables must wait for."""
        name = self._stack.deployment.database
        if resource_exists("AWS::Glue::Database", name):
            return []
        opts = pulumi.ResourceOptions(parent=self, retain_on_delete=True)
        return [aws.glue.CatalogDatabase(f"{self._name}-database", name=name, opts=opts)]

    def _table(
        self, name: str, about: TableDescription, after: list[pulumi.Resource]
    ) -> aws.glue.CatalogTable:
        described = self._storage.lake.bucket.apply(
            lambda b: snake(catalog.table_input(name, f"s3://{b}/{about.prefix}/", about))
        )
        return aws.glue.CatalogTable(
            f"{self._name}-refined{'' if about is DAY_TABLE else '-' + about.dataset}-table",
            name=name,
            database_name=self._stack.deployment.database,
            table_type=catalog.TABLE_TYPE,
            parameters=catalog.TABLE_PARAMETERS,
            description=about.description,
            partition_keys=described["partition_keys"],
            storage_descriptor=described["storage_descriptor"],
            opts=pulumi.ResourceOptions(parent=self, depends_on=after),
        )

    def _job_role(self, refined: list[str]) -> ServiceRole:
        """Read the pinned raw versions, write the refined prefixes and the run's staging/,
        read its code, keep its tables' partitions, write logs and metrics."""
        deployment, lake, staging = self._stack.deployment, self._storage.lake.arn, STAGING
        written = [*(sub(lake, f"/{prefix}/*") for prefix in refined), sub(lake, f"/{staging}/*")]
        folders = [
            sub(lake, f"/{settings.REFINED_PREFIX}_$folder$"),
            sub(lake, f"/{staging}_$folder$"),
        ]
        statements = [
            # GetObject?versionId= is authorised as s3:GetObjectVersion: the lake is versioned
            # from its creation, so raw is never read unversioned.
            allow(["s3:GetObjectVersion"], [sub(lake, f"/{prefix}/*") for prefix in RAW_PREFIXES]),
            # Spark writes into staging/<run>/, the job copies each partition's file under the
            # refined prefixes (with the markers Hadoop puts beside a prefix).
            allow(["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
                  [*written[:-1], folders[0], written[-1], folders[1]]),
            allow(["s3:AbortMultipartUpload"], written),
            allow(["s3:ListBucket"], [lake]),
            allow(["s3:GetObject"], [sub(self._storage.artifacts.arn, "/glue/*")]),
            allow(JOB_CATALOG_ACTIONS, self._catalog_arns(list(deployment.tables))),
            self._log_writer(*(f"{self._job_log_prefix}/{s}" for s in JOB_LOG_STREAMS)),
            # --enable-metrics: the namespace "Glue" only.
            allow(["cloudwatch:PutMetricData"], ["*"],
                  Condition={"StringEquals": {"cloudwatch:namespace": "Glue"}}),
        ]  # fmt: skip
        return role(deployment.glue_job, "glue.amazonaws.com", statements, self)

    def _job(
        self, job_role: ServiceRole, code: JobCode, logs: Sequence[pulumi.Resource]
    ) -> aws.glue.Job:
        """Glue 5.0: the job imports only what it provides (no --additional-python-modules).
        The state machine retries, where it can be seen; runs beyond the maximum queue."""
        stack, artifacts = self._stack, self._storage.artifacts.bucket
        deployment, (script, package) = stack.deployment, code
        return aws.glue.Job(
            deployment.glue_job,
            name=deployment.glue_job,
            role_arn=job_role.arn,
            glue_version="5.0",
            worker_type=stack.config.glue_worker_type,
            number_of_workers=stack.config.glue_workers,
            timeout=stack.config.glue_timeout_minutes,
            max_retries=0,
            command={
                "name": "glueetl",
                "python_version": "3",
                "script_location": pulumi.Output.concat("s3://", artifacts, f"/{script}"),
            },
            default_arguments=pulumi.Output.all(self._storage.lake.bucket, artifacts).apply(
                lambda buckets: {
                    **deployment.glue_job_arguments(buckets[0]),
                    flag(ENGINE): "glue",
                    "--extra-py-files": f"s3://{buckets[1]}/{package}",
                    "--enable-metrics": "true",
                    "--job-language": "python",
                    "--custom-logGroup-prefix": self._job_log_prefix,
                }
            ),
            # One run at a time, the others queued (WAITING, which startJobRun.sync waits
            # through: https://docs.aws.amazon.com/glue/latest/dg/job-run-statuses.html):
            # two runs publishing the same day would interleave their files.
            job_run_queuing_enabled=True,
            execution_property={"max_concurrent_runs": 1},
            opts=job_role.user(self, *logs),
        )

    def _crawler(self, after: list[pulumi.Resource]) -> aws.glue.Crawler:
        """An S3 target on raw/, crawled incrementally (new folders only), into a table of
        its own (https://docs.aws.amazon.com/glue/latest/dg/incremental-crawls.html)."""
        deployment, lake = self._stack.deployment, self._storage.lake.arn
        owned = [f"{deployment.crawler_table_prefix}*"]
        statements = [
            allow(["s3:GetObject"], [sub(lake, f"/{settings.RAW_PREFIX}/*")]),
            allow(["s3:ListBucket"], [lake]),
            allow(CRAWLER_CATALOG_ACTIONS, self._catalog_arns(owned)),
            self._log_writer(CRAWLER_LOG_GROUP),
        ]
        crawler_role = role(deployment.crawler, "glue.amazonaws.com", statements, self)
        targets = self._storage.lake.bucket.apply(deployment.crawler_targets)
        return aws.glue.Crawler(
            deployment.crawler,
            name=deployment.crawler,
            role=crawler_role.arn,
            database_name=deployment.database,
            s3_targets=targets.apply(lambda t: snake(t)["s3_targets"]),
            table_prefix=deployment.crawler_table_prefix,
            schema_change_policy=snake(deployment.CRAWLER_SCHEMA_CHANGE_POLICY),
            recrawl_policy=snake(deployment.CRAWLER_RECRAWL_POLICY),
            opts=crawler_role.user(self, *after),
        )

"""ETL: the Glue job (Spark), its code in S3, the refined tables, the crawler, their logs.

Both roles trust glue.amazonaws.com with no condition: Glue documents no
``aws:SourceAccount``/``aws:SourceArn`` for the roles it assumes, only the service principal
(https://docs.aws.amazon.com/glue/latest/dg/create-an-iam-role.html,
https://docs.aws.amazon.com/glue/latest/dg/crawler-prereqs.html), and a condition the
service does not send would deny it the role.
"""

from __future__ import annotations

import functools
import hashlib
import io
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pulumi
import pulumi_aws as aws

from glue import catalog
from glue.arguments import ENGINE, flag
from glue.schema import DAY_TABLE, TABLES
from glue.schema import Table as TableDescription
from infra.policies import ServiceRole as Role
from infra.policies import allow, role
from services.deploy.deployment import Deployment, regional_arn
from services.deploy.packaging import glue_additional_python_modules
from services.pipeline import settings
from services.pipeline.lake.datasets import RAW_PREFIXES

JOB_SCRIPT = settings.REPO_ROOT / "glue" / "job.py"
BUILD_DIR = settings.STATE_DIR / "build"

#: What the job does to the catalogue (glue/catalog.py: publish): the refined tables'
#: partitions it published. Pulumi owns the database and the tables.
JOB_CATALOG_ACTIONS = [
    "glue:GetPartitions", "glue:BatchCreatePartition", "glue:BatchUpdatePartition",
    "glue:DeletePartition",
]  # fmt: skip
#: What the crawler does to its own table (the raw layer's): create it, add partitions for
#: new folders; schema changes and deletions are only logged (LOG/LOG).
CRAWLER_CATALOG_ACTIONS = [
    "glue:GetDatabase", "glue:GetTable", "glue:CreateTable", "glue:UpdateTable",
    "glue:GetPartition", "glue:GetPartitions", "glue:BatchGetPartition",
    "glue:BatchCreatePartition", "glue:UpdatePartition", "glue:BatchUpdatePartition",
]  # fmt: skip
#: Glue 5.0 writes a job's logs to <prefix>/error and <prefix>/output, the prefix set by
#: --custom-logGroup-prefix (default /aws-glue/jobs, shared by every job of the account):
#: https://docs.aws.amazon.com/glue/latest/dg/monitor-continuous-logging.html
JOB_LOG_STREAMS = ("error", "output")
#: Every crawler of the account logs to this one group (it cannot be chosen).
CRAWLER_LOG_GROUP = "/aws-glue/crawlers"
#: The marker object Hadoop's S3 file systems write for the "refined" directory itself.
FOLDER_MARKER = f"{settings.REFINED_PREFIX}_$folder$"
#: The same beside the job's run-scoped staging/ (Spark writes there first on Glue).
STAGING_FOLDER_MARKER = f"{settings.STAGING_PREFIX}_$folder$"


@dataclass(frozen=True)
class EtlArgs:
    deployment: Deployment
    lake_bucket: pulumi.Input[str]
    lake_arn: pulumi.Input[str]
    artifacts_bucket: pulumi.Input[str]
    artifacts_arn: pulumi.Input[str]
    worker_type: str
    workers: int
    timeout_minutes: int
    #: Whether the Glue database (``default``) exists before this stack: if not, the stack
    #: creates it and leaves it behind on destroy (see :func:`resource_exists`).
    database_exists: bool
    #: Job runs that may run at once; more are queued by Glue (job run queuing).
    max_concurrent_runs: int
    log_retention_days: int
    #: Whether :data:`CRAWLER_LOG_GROUP` exists before this stack (then it is left alone).
    crawler_logs_exist: bool
    account: str
    region: str
    #: The job's code, built before the program declares the component (build_job_code).
    code: JobCode


#: How a missing resource reads in the provider's error for Cloud Control's GetResource:
#: "couldn't find resource" (the provider's not-found error), or the service's own words
#: (ResourceNotFoundException, "HandlerErrorCode: NotFound").
NOT_FOUND = re.compile(r"couldn't find resource|not ?found", re.IGNORECASE)


def resource_exists(type_name: str, identifier: str) -> bool:
    """Whether the resource exists (``AWS::Glue::Database`` ``default``…), asked through
    Cloud Control (the stack's provider and credentials). Only "not found" means no; any
    other error stops the deployment."""
    try:
        aws.cloudcontrol.get_resource(type_name=type_name, identifier=identifier)
    except Exception as error:
        if NOT_FOUND.search(str(error)):
            return False
        raise
    return True


def _location(prefix: str, bucket: str) -> str:
    """A refined table's location in the lake bucket."""
    return f"s3://{bucket}/{prefix}/"


def package_zip() -> bytes:
    """``glue/`` and ``services/`` as one zip for ``--extra-py-files`` (deterministic): the
    modules and the tables they read (``data/`` folders: B3's calendar and indices)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for package in ("glue", "services"):
            for path in sorted((settings.REPO_ROOT / package).rglob("*")):
                if not path.is_file() or (path.suffix != ".py" and path.parent.name != "data"):
                    continue
                info = zipfile.ZipInfo(path.relative_to(settings.REPO_ROOT).as_posix())
                info.compress_type = zipfile.ZIP_DEFLATED
                archive.writestr(info, path.read_bytes())
    return buffer.getvalue()


def content_key(name: str, data: bytes) -> str:
    """An S3 key that changes with the content, so Glue always runs what was deployed."""
    return f"glue/{hashlib.sha256(data).hexdigest()[:16]}/{name}"


@dataclass(frozen=True)
class JobCode:
    """The job's code as built for one deployment: files on disk and their S3 keys."""

    script: Path
    script_key: str
    package: Path
    package_key: str


def build_job_code(build_dir: Path = BUILD_DIR) -> JobCode:
    """Package the job's code (the entry script and the zip of what it imports), keyed by
    content. Called by the program before it declares :class:`Etl`: no component writes
    files while the program is evaluated."""
    package = package_zip()
    build_dir.mkdir(parents=True, exist_ok=True)
    package_path = build_dir / "bovespa-glue.zip"
    package_path.write_bytes(package)
    return JobCode(
        JOB_SCRIPT,
        content_key("job.py", JOB_SCRIPT.read_bytes()),
        package_path,
        content_key("bovespa.zip", package),
    )


class Etl(pulumi.ComponentResource):
    """The Glue 5.0 job and its code, the refined tables in the catalogue, the crawler of
    the raw layer, and their log groups."""

    def __init__(self, name: str, args: EtlArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("bovespa:etl:Etl", name, None, opts)
        self._name, self._args = name, args
        self._code(args.code)
        database = self._database()
        self.tables = self._tables(database)
        self.table = self.tables[0]
        self.job = self._job(self._job_role(), self._job_logs())
        self.crawler = self._crawler(self._crawler_role(), [*database, *self._crawler_logs()])
        self.register_outputs({"job": self.job.name, "crawler": self.crawler.name})

    # What the resources are about: the tables (glue/schema.py TABLES) and their prefixes.
    @property
    def _described(self) -> list[tuple[str, TableDescription]]:
        """The refined tables: the day's, and one per dataset ahead, with their descriptions."""
        return list(zip(self._args.deployment.tables, TABLES, strict=True))

    @property
    def _refined_prefixes(self) -> list[str]:
        return [table.prefix for _, table in self._described]

    @property
    def _job_log_prefix(self) -> str:
        return f"/aws-glue/jobs/{self._args.deployment.glue_job}"

    def _catalog_arns(self, tables: list[str]) -> list[str]:
        return self._args.deployment.glue_catalog_arns(
            self._args.region, self._args.account, tables=tables
        )

    def _log_group(
        self, label: str, group: str, retain_on_delete: bool = False
    ) -> aws.cloudwatch.LogGroup:
        return aws.cloudwatch.LogGroup(
            f"{self._name}-{label}-logs",
            name=group,
            retention_in_days=self._args.log_retention_days,
            opts=pulumi.ResourceOptions(parent=self, retain_on_delete=retain_on_delete),
        )

    def _job_logs(self) -> list[pulumi.Resource]:
        """The job's own log groups, with the stack's retention."""
        return [
            self._log_group(f"job-{stream}", f"{self._job_log_prefix}/{stream}")
            for stream in JOB_LOG_STREAMS
        ]

    def _crawler_logs(self) -> list[pulumi.Resource]:
        """The account's crawler log group, given a retention where this stack creates it
        (like the database: kept on destroy; left alone where it existed)."""
        if self._args.crawler_logs_exist:
            return []
        return [self._log_group("crawler", CRAWLER_LOG_GROUP, retain_on_delete=True)]

    def _log_groups(self, *groups: str) -> list[str]:
        return [
            regional_arn("logs", self._args.region, self._args.account, f"log-group:{group}{end}")
            for group in groups
            for end in ("", ":*")
        ]

    def _code(self, code: JobCode) -> None:
        """The job's entry script and package in the artifacts bucket."""
        for label, key, path in (
            ("script", code.script_key, code.script),
            ("package", code.package_key, code.package),
        ):
            aws.s3.BucketObjectv2(
                f"{self._name}-{label}",
                bucket=self._args.artifacts_bucket,
                key=key,
                source=pulumi.FileAsset(str(path)),
                opts=pulumi.ResourceOptions(parent=self),
            )

    def _database(self) -> list[pulumi.Resource]:
        """The database ("default") is never deleted by this stack: where it exists it is not
        managed at all; where it does not, it is created and retained on destroy (other
        tables may live in it by then). Returns what the tables must wait for."""
        if self._args.database_exists:
            return []
        database = aws.glue.CatalogDatabase(
            f"{self._name}-database",
            name=self._args.deployment.database,
            opts=pulumi.ResourceOptions(parent=self, retain_on_delete=True),
        )
        return [database]

    def _tables(self, depends: list[pulumi.Resource]) -> list[aws.glue.CatalogTable]:
        """The refined tables (their partitions are the job's): the day's and one per
        dataset ahead, declared alike from their descriptions."""
        return [
            self._table(table_name, described, depends) for table_name, described in self._described
        ]

    def _table(
        self, table_name: str, described: TableDescription, depends: list[pulumi.Resource]
    ) -> aws.glue.CatalogTable:
        table = catalog.table_input(table_name, "LOCATION", described)
        location = pulumi.Output.from_input(self._args.lake_bucket).apply(
            functools.partial(_location, described.prefix)
        )
        label = "" if described is DAY_TABLE else f"-{described.dataset}"
        serde = catalog.PARQUET_STORAGE["SerdeInfo"]
        return aws.glue.CatalogTable(
            f"{self._name}-refined{label}-table",
            name=table_name,
            database_name=self._args.deployment.database,
            table_type=table["TableType"],
            parameters=table["Parameters"],
            description=table["Description"],
            partition_keys=[
                {"name": c["Name"], "type": c["Type"], "comment": c["Comment"]}
                for c in table["PartitionKeys"]
            ],
            storage_descriptor={
                "location": location,
                "input_format": catalog.PARQUET_STORAGE["InputFormat"],
                "output_format": catalog.PARQUET_STORAGE["OutputFormat"],
                "ser_de_info": {
                    "serialization_library": serde["SerializationLibrary"],
                    "parameters": serde["Parameters"],
                },
                "columns": [
                    {"name": c["Name"], "type": c["Type"], "comment": c["Comment"]}
                    for c in table["StorageDescriptor"]["Columns"]
                ],
            },
            opts=pulumi.ResourceOptions(parent=self, depends_on=depends),
        )

    def _job_role(self) -> Role:
        """The job's role: read raw/ and the datasets ahead's raw prefixes (the version
        pinned), write the refined prefixes and its run's staging/, read its code, keep
        its tables' partitions, write its logs and metrics."""
        args = self._args
        lake = pulumi.Output.from_input(args.lake_arn)
        raw = RAW_PREFIXES
        refined = self._refined_prefixes
        return role(
            args.deployment.glue_job,
            "glue.amazonaws.com",
            [
                # The version of a raw object that Validate (or the scraper, for a dataset
                # ahead) pinned (GetObject?versionId=, authorised as s3:GetObjectVersion); the
                # lake is versioned from its creation, so the job never reads raw unversioned.
                lake.apply(
                    lambda a: allow(["s3:GetObjectVersion"], [f"{a}/{prefix}/*" for prefix in raw])
                ),
                # Spark writes into staging/<run>/ (beside the pinned raw copy), the job then
                # copies each partition's file under the refined prefixes: objects, multipart
                # uploads of large files, and the directory marker Hadoop puts beside a prefix.
                lake.apply(
                    lambda a: allow(
                        ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
                        [
                            *(f"{a}/{prefix}/*" for prefix in refined),
                            f"{a}/{FOLDER_MARKER}",
                            f"{a}/{settings.STAGING_PREFIX}/*",
                            f"{a}/{STAGING_FOLDER_MARKER}",
                        ],
                    )
                ),
                lake.apply(
                    lambda a: allow(
                        ["s3:AbortMultipartUpload"],
                        [
                            *(f"{a}/{prefix}/*" for prefix in refined),
                            f"{a}/{settings.STAGING_PREFIX}/*",
                        ],
                    )
                ),
                lake.apply(lambda a: allow(["s3:ListBucket"], [a])),
                pulumi.Output.from_input(args.artifacts_arn).apply(
                    lambda a: allow(["s3:GetObject"], [f"{a}/glue/*"])
                ),
                allow(JOB_CATALOG_ACTIONS, self._catalog_arns(list(args.deployment.tables))),
                allow(
                    ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
                    self._log_groups(*(f"{self._job_log_prefix}/{s}" for s in JOB_LOG_STREAMS)),
                ),
                # --enable-metrics: the job's metrics go to CloudWatch, namespace "Glue" only.
                allow(
                    ["cloudwatch:PutMetricData"],
                    ["*"],
                    Condition={"StringEquals": {"cloudwatch:namespace": "Glue"}},
                ),
            ],
            pulumi.ResourceOptions(parent=self),
        )

    def _job(self, job_role: Role, logs: list[pulumi.Resource]) -> aws.glue.Job:
        """The job: Glue 5.0 (Spark 3.5.4, Python 3.11). No job-level retries: the state
        machine retries, where it can be seen."""
        args, code = self._args, self._args.code
        artifacts = pulumi.Output.from_input(args.artifacts_bucket)
        # What the job installs beyond Glue 5.0's own modules (services/deploy/packaging.py).
        modules = glue_additional_python_modules()
        additional_modules = {"--additional-python-modules": modules} if modules else {}
        arguments = pulumi.Output.from_input(args.lake_bucket).apply(
            args.deployment.glue_job_arguments
        )
        return aws.glue.Job(
            args.deployment.glue_job,
            name=args.deployment.glue_job,
            role_arn=job_role.arn,
            glue_version="5.0",
            worker_type=args.worker_type,
            number_of_workers=args.workers,
            timeout=args.timeout_minutes,
            max_retries=0,
            command={
                "name": "glueetl",
                "python_version": "3",
                "script_location": artifacts.apply(lambda b: f"s3://{b}/{code.script_key}"),
            },
            default_arguments=pulumi.Output.all(arguments, artifacts).apply(
                lambda parts: {
                    **parts[0],
                    flag(ENGINE): "glue",
                    "--extra-py-files": f"s3://{parts[1]}/{code.package_key}",
                    **additional_modules,
                    "--enable-metrics": "true",
                    "--job-language": "python",
                    "--custom-logGroup-prefix": self._job_log_prefix,
                }
            ),
            # Runs beyond max_concurrent_runs wait (WAITING) instead of failing.
            job_run_queuing_enabled=True,
            execution_property={"max_concurrent_runs": args.max_concurrent_runs},
            opts=job_role.user(self, *logs),
        )

    def _crawler_role(self) -> Role:
        """The crawler's role: read raw/, keep its own table (``<table>_raw``), log."""
        args = self._args
        lake = pulumi.Output.from_input(args.lake_arn)
        return role(
            args.deployment.crawler,
            "glue.amazonaws.com",
            [
                lake.apply(lambda a: allow(["s3:GetObject"], [f"{a}/{settings.RAW_PREFIX}/*"])),
                lake.apply(lambda a: allow(["s3:ListBucket"], [a])),
                allow(
                    CRAWLER_CATALOG_ACTIONS,
                    self._catalog_arns([f"{args.deployment.crawler_table_prefix}*"]),
                ),
                allow(
                    ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
                    self._log_groups(CRAWLER_LOG_GROUP),
                ),
            ],
            pulumi.ResourceOptions(parent=self),
        )

    def _crawler(self, crawler_role: Role, after: list[pulumi.Resource]) -> aws.glue.Crawler:
        """The crawler: an S3 target on raw/, crawled incrementally (new folders only), into
        a table of its own ("Scheduling an incremental crawl for adding new partitions",
        https://docs.aws.amazon.com/glue/latest/dg/incremental-crawls.html)."""
        deployment = self._args.deployment

        def s3_targets(bucket: str) -> list[aws.glue.CrawlerS3TargetArgsDict]:
            return [
                {"path": t["Path"], "exclusions": t["Exclusions"]}
                for t in deployment.crawler_targets(bucket)["S3Targets"]
            ]

        return aws.glue.Crawler(
            deployment.crawler,
            name=deployment.crawler,
            role=crawler_role.arn,
            database_name=deployment.database,
            s3_targets=pulumi.Output.from_input(self._args.lake_bucket).apply(s3_targets),
            table_prefix=deployment.crawler_table_prefix,
            schema_change_policy={
                "update_behavior": Deployment.CRAWLER_SCHEMA_CHANGE_POLICY["UpdateBehavior"],
                "delete_behavior": Deployment.CRAWLER_SCHEMA_CHANGE_POLICY["DeleteBehavior"],
            },
            recrawl_policy={
                "recrawl_behavior": Deployment.CRAWLER_RECRAWL_POLICY["RecrawlBehavior"]
            },
            opts=crawler_role.user(self, *after),
        )

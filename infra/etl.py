"""ETL: the Glue job (Spark), its code in S3, the refined tables and the crawler."""

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
from infra.policies import allow, confused_deputy, role
from services.deploy.deployment import Deployment, regional_arn
from services.deploy.packaging import glue_additional_python_modules
from services.pipeline import settings
from services.pipeline.lake.datasets import RAW_PREFIXES

JOB_SCRIPT = settings.REPO_ROOT / "glue" / "job.py"
BUILD_DIR = settings.STATE_DIR / "build"

#: What the job does to the catalogue (glue/catalog.py: publish). No CreateDatabase: the
#: stack makes sure the database exists.
JOB_CATALOG_ACTIONS = [
    "glue:GetDatabase", "glue:CreateTable", "glue:UpdateTable", "glue:GetPartitions",
    "glue:BatchCreatePartition", "glue:BatchUpdatePartition", "glue:DeletePartition",
]  # fmt: skip
#: What the crawler does on its catalog target, the refined table: read it and its
#: partitions (in batches too), add and update partitions (UPDATE_IN_DATABASE); it
#: deletes nothing (DeleteBehavior LOG).
CRAWLER_CATALOG_ACTIONS = [
    "glue:GetDatabase", "glue:GetTable", "glue:UpdateTable", "glue:GetPartition",
    "glue:GetPartitions", "glue:BatchGetPartition", "glue:BatchCreatePartition",
    "glue:UpdatePartition", "glue:BatchUpdatePartition",
]  # fmt: skip
#: Where Glue 5.0 writes a job's logs ("Logging behavior in AWS Glue 5.0": error and
#: output log groups; real-time logging is always on, there is no continuous-log option).
JOB_LOG_GROUPS = ("/aws-glue/jobs/error", "/aws-glue/jobs/output")
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
    #: creates it and leaves it behind on destroy (see :func:`glue_database_exists`).
    database_exists: bool
    #: Job runs that may run at once; more are queued by Glue (job run queuing).
    max_concurrent_runs: int
    account: str
    region: str
    #: The job's code, built before the program declares the component (build_job_code).
    code: JobCode


#: How a missing resource reads in the provider's error for Cloud Control's GetResource:
#: "couldn't find resource" (the provider's not-found error), or the service's own words
#: (ResourceNotFoundException, "HandlerErrorCode: NotFound").
NOT_FOUND = re.compile(r"couldn't find resource|not ?found", re.IGNORECASE)


def glue_database_exists(name: str) -> bool:
    """Whether the Glue database ``name`` exists, asked through Cloud Control (the stack's
    provider and credentials). Only "not found" means no; any other error stops the
    deployment."""
    try:
        aws.cloudcontrol.get_resource(type_name="AWS::Glue::Database", identifier=name)
    except Exception as error:
        if NOT_FOUND.search(str(error)):
            return False
        raise
    return True


def _location(prefix: str, bucket: str) -> str:
    """A refined table's location in the lake bucket."""
    return f"s3://{bucket}/{prefix}/"


def package_zip() -> bytes:
    """``glue/`` and ``services/`` as one zip for ``--extra-py-files`` (deterministic)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for package in ("glue", "services"):
            for path in sorted((settings.REPO_ROOT / package).rglob("*.py")):
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
    """The Glue 5.0 job and its code, the refined tables in the catalogue, and the crawler."""

    def __init__(self, name: str, args: EtlArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("bovespa:etl:Etl", name, None, opts)
        self._name, self._args = name, args
        self._code(args.code)
        self.tables = self._tables(self._database())
        self.table = self.tables[0]
        self.job = self._job(self._job_role())
        self.crawler = self._crawler(self._crawler_role())
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
    def _catalog_arns(self) -> list[str]:
        args = self._args
        return args.deployment.glue_catalog_arns(
            args.region, args.account, tables=args.deployment.tables
        )

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
        """The refined tables, as the job keeps them (the job updates schema and partitions):
        the day's and one per dataset ahead, declared alike from their descriptions."""
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
        its tables, write its logs and metrics."""
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
                allow(JOB_CATALOG_ACTIONS, self._catalog_arns),
                allow(
                    ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
                    self._log_groups(*JOB_LOG_GROUPS),
                ),
                # --enable-metrics: the job's metrics go to CloudWatch, namespace "Glue" only.
                allow(
                    ["cloudwatch:PutMetricData"],
                    ["*"],
                    Condition={"StringEquals": {"cloudwatch:namespace": "Glue"}},
                ),
            ],
            pulumi.ResourceOptions(parent=self),
            trust_conditions=confused_deputy(args.account),
        )

    def _job(self, job_role: Role) -> aws.glue.Job:
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
                }
            ),
            # Runs beyond max_concurrent_runs wait (WAITING) instead of failing.
            job_run_queuing_enabled=True,
            execution_property={"max_concurrent_runs": args.max_concurrent_runs},
            opts=job_role.user(self),
        )

    def _crawler_role(self) -> Role:
        """The crawler's role: read the refined prefixes, keep the refined tables, log."""
        args = self._args
        lake = pulumi.Output.from_input(args.lake_arn)
        refined = self._refined_prefixes
        return role(
            args.deployment.crawler,
            "glue.amazonaws.com",
            [
                lake.apply(
                    lambda a: allow(["s3:GetObject"], [f"{a}/{prefix}/*" for prefix in refined])
                ),
                lake.apply(lambda a: allow(["s3:ListBucket"], [a])),
                allow(CRAWLER_CATALOG_ACTIONS, self._catalog_arns),
                allow(
                    ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
                    self._log_groups(CRAWLER_LOG_GROUP),
                ),
            ],
            pulumi.ResourceOptions(parent=self),
            trust_conditions=confused_deputy(args.account),
        )

    def _crawler(self, crawler_role: Role) -> aws.glue.Crawler:
        """The crawler: a catalog target on the refined tables, so it never makes another."""
        deployment = self._args.deployment
        targets = deployment.crawler_targets()["CatalogTargets"]
        return aws.glue.Crawler(
            deployment.crawler,
            name=deployment.crawler,
            role=crawler_role.arn,
            database_name=deployment.database,
            catalog_targets=[
                {"database_name": t["DatabaseName"], "tables": t["Tables"]} for t in targets
            ],
            schema_change_policy={
                "update_behavior": Deployment.CRAWLER_SCHEMA_CHANGE_POLICY["UpdateBehavior"],
                "delete_behavior": Deployment.CRAWLER_SCHEMA_CHANGE_POLICY["DeleteBehavior"],
            },
            opts=crawler_role.user(self, self.table),
        )

"""One description of a deployment, for the Pulumi program and the local deployment alike:
names, ARNs, the state machines' values and everything else derived from a name prefix."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from typing import Any, ClassVar

from glue.arguments import CATALOG, DATABASE, LAKE, TABLE, flag
from glue.schema import TABLES
from services.pipeline import settings
from services.pipeline.lake.datasets import DATASETS

#: The four-month datasets the scraper fetches besides the day's portfolio.
AHEAD_DATASETS: tuple[str, ...] = tuple(dataset.name for dataset in DATASETS)

#: Lambda handlers, as module.function (the zip packages and the images' CMD).
SCRAPER_HANDLER = "services.pipeline.scraper.handler.handler"
VALIDATE_HANDLER = "services.pipeline.validate.handler.handler"
TRIGGER_HANDLER = "services.pipeline.trigger.handler.handler"
#: The image (``docker/<image>.Dockerfile``) each handler runs in.
IMAGE_OF_HANDLER = {
    SCRAPER_HANDLER: "scraper",
    VALIDATE_HANDLER: "scraper",
    TRIGGER_HANDLER: "trigger",
}


@dataclass(frozen=True)
class FunctionLimits:
    timeout_seconds: int
    memory_mb: int


#: Each function's limits, by its name without the prefix (the scraper stops 15 s before
#: its timeout, with its own error).
FUNCTION_LIMITS: Mapping[str, FunctionLimits] = {
    "scraper": FunctionLimits(timeout_seconds=300, memory_mb=1024),
    "validate": FunctionLimits(timeout_seconds=120, memory_mb=1024),
    "trigger": FunctionLimits(timeout_seconds=30, memory_mb=256),
}

#: Where Athena writes query results, in the artifacts bucket (expired after a week).
ATHENA_RESULTS_PREFIX = "athena-results"


def athena_results_location(bucket: str) -> str:
    return f"s3://{bucket}/{ATHENA_RESULTS_PREFIX}/"


def regional_arn(service: str, region: str, account: str, resource: str) -> str:
    return f"arn:aws:{service}:{region}:{account}:{resource}"


def state_machine_arn(name: str, region: str, account: str) -> str:
    return regional_arn("states", region, account, f"stateMachine:{name}")


def role_name(owner: str) -> str:
    """The role ``owner`` runs as (on AWS the role resource's name, which Pulumi suffixes)."""
    return f"{owner}-role"


def role_arn(owner: str, account: str) -> str:
    return f"arn:aws:iam::{account}:role/{role_name(owner)}"


def execution_arn(machine_arn: str, name: str = "*") -> str:
    return f"{machine_arn.replace(':stateMachine:', ':execution:', 1)}:{name}"


def _named(suffix: str) -> Any:
    return field(init=False, metadata={"suffix": suffix})


@dataclass(frozen=True)
class Deployment:
    """Names and settings of one deployment (a Pulumi stack, or the local emulator)."""

    #: Every resource name starts with it, e.g. ``bovespa-dev``.
    prefix: str = "bovespa"
    #: The indices the daily schedule scrapes, all in one execution.
    indices: tuple[str, ...] = (settings.DEFAULT_INDEX,)
    #: The datasets ahead scraped for each validated index, unless the input says otherwise.
    ahead_datasets: tuple[str, ...] = AHEAD_DATASETS
    database: str = settings.GLUE_DATABASE
    table: str = settings.REFINED_TABLE
    #: Attempts per B3 page inside the scraper Lambda; the state machine retries beyond.
    scraper_http_attempts: int = 2

    # The resources' names. The buckets' are their names on the emulator; on AWS the start
    # of their names, which Pulumi makes unique (bucket names are global).
    lake_bucket: str = _named("lake")  # raw/, refined/
    artifacts_bucket: str = _named("artifacts")  # the job's code, Athena's results
    scraper_function: str = _named("scraper")
    validate_function: str = _named("validate")
    trigger_function: str = _named("trigger")
    glue_job: str = _named("etl")
    crawler: str = _named("raw-crawler")
    state_machine: str = _named("pipeline")
    refine_state_machine: str = _named("refine")
    schedule: str = _named("daily")
    workgroup: str = _named("analytics")
    inbox_rule: str = _named("inbox-object-created")

    def __post_init__(self) -> None:
        for name in fields(self):
            if "suffix" in name.metadata:
                object.__setattr__(self, name.name, f"{self.prefix}-{name.metadata['suffix']}")

    def function_arn(self, function: str, region: str, account: str) -> str:
        return regional_arn("lambda", region, account, f"function:{function}")

    def function_limits(self, function: str) -> FunctionLimits:
        return FUNCTION_LIMITS[function.removeprefix(f"{self.prefix}-")]

    def glue_catalog_arns(
        self, region: str, account: str, tables: Sequence[str] | None = None
    ) -> list[str]:
        """The catalogue, the database and the refined table (or ``tables``): every catalogue
        call is authorised on all three."""
        glue, database = f"arn:aws:glue:{region}:{account}", self.database
        names = (self.table,) if tables is None else tables
        return [f"{glue}:catalog", f"{glue}:database/{database}",
                *(f"{glue}:table/{database}/{name}" for name in names)]  # fmt: skip

    def scraper_environment(self, bucket: str) -> dict[str, str]:
        attempts = str(self.scraper_http_attempts)
        return {settings.LAKE_URI_ENV: f"s3://{bucket}", settings.B3_ATTEMPTS_ENV: attempts}

    def validate_environment(self, bucket: str) -> dict[str, str]:
        return {settings.LAKE_URI_ENV: f"s3://{bucket}"}

    def trigger_environment(self, state_machine_arn: str) -> dict[str, str]:
        return {settings.STATE_MACHINE_ARN_ENV: state_machine_arn}

    @property
    def tables(self) -> tuple[str, ...]:
        """Every refined table the job keeps: the day's, then the datasets ahead's."""
        return (self.table, *(table.name for table in TABLES[1:]))

    def crawler_targets(self, bucket: str) -> dict[str, Any]:
        """``raw/``, crawled for new folders only (a crawl follows the day, not the lake),
        without the archived B3 bodies (``_b3-*.json``)."""
        path = f"s3://{bucket}/{settings.RAW_PREFIX}/"
        return {"S3Targets": [{"Path": path, "Exclusions": ["**/_*"]}]}

    @property
    def crawler_table_prefix(self) -> str:
        """The crawler names its table after the target's folder: ``<table>_raw``."""
        return f"{self.table}_"

    #: Incremental crawls need schema changes and deletions logged, never applied.
    CRAWLER_SCHEMA_CHANGE_POLICY: ClassVar = {"UpdateBehavior": "LOG", "DeleteBehavior": "LOG"}
    CRAWLER_RECRAWL_POLICY: ClassVar = {"RecrawlBehavior": "CRAWL_NEW_FOLDERS_ONLY"}

    def pipeline_values(
        self, scraper_arn: str, validate_arn: str, refine_arn: str
    ) -> dict[str, str]:
        return {
            "ScraperFunctionArn": scraper_arn,
            "ValidateFunctionArn": validate_arn,
            "RefineStateMachineArn": refine_arn,
            "AheadDatasets": ",".join(self.ahead_datasets),
            "AllAheadDatasets": ",".join(dataset.name for dataset in DATASETS),
            "MaxObjects": str(settings.MAX_OBJECTS),
        }

    def refine_values(self) -> dict[str, str]:
        return {
            "GlueJobName": self.glue_job,
            "CrawlerName": self.crawler,
            "AthenaWorkGroup": self.workgroup,
            "GlueDatabase": self.database,
            "RefinedTable": self.table,
        }

    def inbox_event_pattern(self, bucket: str) -> dict[str, Any]:
        """An object created under ``inbox/`` (the pipeline's own writes start nothing)."""
        inbox = {"key": [{"prefix": f"{settings.INBOX_PREFIX}/"}]}
        return {"source": ["aws.s3"], "detail-type": ["Object Created"],
                "detail": {"bucket": {"name": [bucket]}, "object": inbox}}  # fmt: skip

    def glue_job_arguments(self, bucket: str) -> dict[str, str]:
        """The Glue job's default arguments; the state machine adds ``--objects``."""
        return {flag(LAKE): f"s3://{bucket}", flag(DATABASE): self.database,
                flag(TABLE): self.table, flag(CATALOG): "true"}  # fmt: skip

    def schedule_input(
        self, indices: Sequence[str] | str | None = None, *, ahead: Sequence[str] | None = None
    ) -> dict[str, Any]:
        """The daily execution's input: every index (default: the deployment's) in one."""
        indices = self.indices if indices is None else indices
        listed = [indices] if isinstance(indices, str) else list(indices)
        chosen = {} if ahead is None else {"ahead": list(ahead)}
        return {"source": "schedule", "indices": listed, **chosen}

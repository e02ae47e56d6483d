"""One description of a deployment, read by the Pulumi program and by the local deployment.

Resource names, the state machine's values, the S3 event pattern, the schedule's input and
the Glue job's arguments are all derived here from a name prefix and a few settings, so the
two deployments cannot drift apart (a test renders both and compares).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from glue.arguments import CATALOG, DATABASE, LAKE, TABLE, flag
from services.pipeline import settings
from services.pipeline.lake.datasets import DATASETS

#: The four-month datasets the scraper Lambda fetches besides the day's portfolio
#: (``event["dataset"]``; services/pipeline/scraper/handler.py).
AHEAD_DATASETS: tuple[str, ...] = tuple(dataset.name for dataset in DATASETS)
#: The refined tables of the datasets ahead (one per dataset, beside the day's; the Glue
#: job keeps them, in the same run as the day's table).
AHEAD_TABLES: tuple[str, ...] = (
    settings.REFINED_THEORETICAL_TABLE,
    settings.REFINED_PREVIEW_TABLE,
)

#: Lambda handlers, as module.function (the zip packages and the images' CMD).
SCRAPER_HANDLER = "services.pipeline.scraper.handler.handler"
VALIDATE_HANDLER = "services.pipeline.validate.handler.handler"
TRIGGER_HANDLER = "services.pipeline.trigger.handler.handler"


@dataclass(frozen=True)
class FunctionLimits:
    """A Lambda function's timeout and memory, the same on AWS and on the emulator."""

    timeout_seconds: int
    memory_mb: int


#: Each function's limits, by its name without the prefix (:meth:`Deployment.function_limits`).
#: The scraper's timeout is above a scrape's own deadline
#: (:data:`~services.pipeline.settings.B3_SCRAPE_DEADLINE_SECONDS`; a test keeps it so),
#: so a scrape ends with its own error, not the Lambda's.
FUNCTION_LIMITS: Mapping[str, FunctionLimits] = {
    "scraper": FunctionLimits(timeout_seconds=300, memory_mb=1024),
    "validate": FunctionLimits(timeout_seconds=120, memory_mb=1024),
    "trigger": FunctionLimits(timeout_seconds=30, memory_mb=256),
}

#: The daily schedule, in B3's time zone: weekdays at 08:00, two hours before the open.
#: B3 serves a session's portfolio from the previous session's close until its own close,
#: so that morning every session's portfolio is on offer, however late B3 switched the
#: evening before. A weekday holiday's run gets the next session's portfolio, stored under
#: B3's header date and replaced by that session's own run (docs/architecture.md, "The schedule").
SCHEDULE_CRON = "cron(0 8 ? * MON-FRI *)"
SCHEDULE_TIMEZONE = settings.B3_TIMEZONE

#: Defaults of settings only a Pulumi stack has (infra/config.py), read by the cost
#: model (services/deploy/cost.py) too: the Glue job's workers, and the images kept per repository.
GLUE_WORKER_TYPE = "G.1X"
GLUE_WORKERS = 2
IMAGE_HISTORY = 5

#: Where Athena writes query results, in the artifacts bucket (expired after a week).
ATHENA_RESULTS_PREFIX = "athena-results"


def athena_results_location(bucket: str) -> str:
    """The workgroup's output location: :data:`ATHENA_RESULTS_PREFIX` in ``bucket``."""
    return f"s3://{bucket}/{ATHENA_RESULTS_PREFIX}/"


def regional_arn(
    service: str, region: str, account: str, resource: str, partition: str = "aws"
) -> str:
    """A regional ARN, as AWS forms it: ``arn:partition:service:region:account:resource``."""
    return f"arn:{partition}:{service}:{region}:{account}:{resource}"


def state_machine_arn(name: str, region: str, account: str, partition: str = "aws") -> str:
    """The ARN of the state machine ``name`` (``*``: any of the account's, in the region)."""
    return regional_arn("states", region, account, f"stateMachine:{name}", partition)


def role_name(owner: str) -> str:
    """The role that ``owner`` (a function, the Glue job, the crawler, the state machine…)
    runs as: ``<owner>-role`` (on AWS the role resource's name, which Pulumi suffixes)."""
    return f"{owner}-role"


def role_arn(owner: str, account: str, partition: str = "aws") -> str:
    """The ARN of :func:`role_name` ``owner``: IAM is global, so the ARN names no region."""
    return f"arn:{partition}:iam::{account}:role/{role_name(owner)}"


def execution_arn(machine_arn: str, name: str = "*") -> str:
    """An execution of the state machine ``machine_arn`` (``*``: any of them)."""
    return f"{machine_arn.replace(':stateMachine:', ':execution:', 1)}:{name}"


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

    @property
    def lake_bucket(self) -> str:
        """The lake bucket (raw/, refined/): its name on the emulator; on AWS the start of
        its name, which Pulumi makes unique (bucket names are global)."""
        return f"{self.prefix}-lake"

    @property
    def artifacts_bucket(self) -> str:
        """The bucket of the job's code and Athena's results (named as :attr:`lake_bucket`)."""
        return f"{self.prefix}-artifacts"

    @property
    def scraper_function(self) -> str:
        return f"{self.prefix}-scraper"

    @property
    def validate_function(self) -> str:
        return f"{self.prefix}-validate"

    @property
    def trigger_function(self) -> str:
        return f"{self.prefix}-trigger"

    @property
    def glue_job(self) -> str:
        return f"{self.prefix}-etl"

    @property
    def crawler(self) -> str:
        return f"{self.prefix}-raw-crawler"

    @property
    def state_machine(self) -> str:
        return f"{self.prefix}-pipeline"

    @property
    def refine_state_machine(self) -> str:
        """The refine phase (job, crawl, smoke query), a state machine the pipeline runs."""
        return f"{self.prefix}-refine"

    @property
    def schedule(self) -> str:
        """The one daily schedule of the stack, whatever the number of indices."""
        return f"{self.prefix}-daily"

    @property
    def workgroup(self) -> str:
        return f"{self.prefix}-analytics"

    @property
    def inbox_rule(self) -> str:
        return f"{self.prefix}-inbox-object-created"

    def state_machine_arn(self, region: str, account: str, partition: str = "aws") -> str:
        """Known before the state machine exists (the trigger's environment needs it)."""
        return state_machine_arn(self.state_machine, region, account, partition)

    def function_arn(self, function: str, region: str, account: str, partition: str = "aws") -> str:
        """The ARN of the Lambda function named ``function`` (e.g. :attr:`scraper_function`)."""
        return regional_arn("lambda", region, account, f"function:{function}", partition)

    def function_limits(self, function: str) -> FunctionLimits:
        """The timeout and memory of the function named ``function`` (one of this deployment's)."""
        return FUNCTION_LIMITS[function.removeprefix(f"{self.prefix}-")]

    def glue_catalog_arns(
        self,
        region: str,
        account: str,
        partition: str = "aws",
        tables: Sequence[str] | None = None,
    ) -> list[str]:
        """The Glue catalogue, the database and the refined table (or ``tables``): what
        reading or changing a table is authorised on (every catalogue call names all three)."""
        return [
            regional_arn("glue", region, account, "catalog", partition),
            regional_arn("glue", region, account, f"database/{self.database}", partition),
            *(
                regional_arn("glue", region, account, f"table/{self.database}/{name}", partition)
                for name in ((self.table,) if tables is None else tables)
            ),
        ]

    def scraper_environment(self, bucket: str) -> dict[str, str]:
        return {
            settings.LAKE_URI_ENV: f"s3://{bucket}",
            settings.B3_ATTEMPTS_ENV: str(self.scraper_http_attempts),
        }

    def validate_environment(self, bucket: str) -> dict[str, str]:
        return {settings.LAKE_URI_ENV: f"s3://{bucket}"}

    def trigger_environment(self, state_machine_arn: str) -> dict[str, str]:
        return {settings.STATE_MACHINE_ARN_ENV: state_machine_arn}

    @property
    def tables(self) -> tuple[str, ...]:
        """Every refined table the job keeps: the day's, then the datasets ahead's."""
        return (self.table, *AHEAD_TABLES)

    def crawler_targets(self, bucket: str) -> dict[str, Any]:
        """An S3 target on ``raw/``: the crawler catalogues the raw layer, and only its new
        folders (``CRAWL_NEW_FOLDERS_ONLY``), so a crawl's time follows the day's folders,
        not the lake's size. The archived B3 bodies (``_b3-*.json``) are left out."""
        path = f"s3://{bucket}/{settings.RAW_PREFIX}/"
        return {"S3Targets": [{"Path": path, "Exclusions": ["**/_*"]}]}

    @property
    def crawler_table_prefix(self) -> str:
        """The crawler names its table after the target's folder: ``<table>_raw``."""
        return f"{self.table}_"

    #: Incremental crawls need the crawler to log schema changes and deletions, never apply
    #: them ("Scheduling an incremental crawl", AWS Glue Developer Guide).
    CRAWLER_SCHEMA_CHANGE_POLICY: ClassVar[dict[str, str]] = {
        "UpdateBehavior": "LOG",
        "DeleteBehavior": "LOG",
    }
    CRAWLER_RECRAWL_POLICY: ClassVar[dict[str, str]] = {"RecrawlBehavior": "CRAWL_NEW_FOLDERS_ONLY"}

    def pipeline_values(
        self, scraper_arn: str, validate_arn: str, refine_arn: str
    ) -> dict[str, str]:
        """The ``${Name}`` values of ``statemachine/pipeline.asl.json``."""
        return {
            "ScraperFunctionArn": scraper_arn,
            "ValidateFunctionArn": validate_arn,
            "RefineStateMachineArn": refine_arn,
            "AheadDatasets": ",".join(self.ahead_datasets),
        }

    def refine_values(self) -> dict[str, str]:
        """The ``${Name}`` values of ``statemachine/refine.asl.json``."""
        return {
            "GlueJobName": self.glue_job,
            "CrawlerName": self.crawler,
            "AthenaWorkGroup": self.workgroup,
            "GlueDatabase": self.database,
            "RefinedTable": self.table,
        }

    def inbox_event_pattern(self, bucket: str) -> dict[str, Any]:
        """EventBridge pattern: an object created under ``inbox/`` in ``bucket`` (the
        pipeline's own writes, under ``raw/`` and ``refined/``, start nothing)."""
        return {
            "source": ["aws.s3"],
            "detail-type": ["Object Created"],
            "detail": {
                "bucket": {"name": [bucket]},
                "object": {
                    "key": [{"prefix": f"{settings.INBOX_PREFIX}/"}],
                },
            },
        }

    def glue_job_arguments(self, bucket: str) -> dict[str, str]:
        """The Glue job's default arguments; the state machine adds ``--objects``."""
        return {
            flag(LAKE): f"s3://{bucket}",
            flag(DATABASE): self.database,
            flag(TABLE): self.table,
            flag(CATALOG): "true",
        }

    def schedule_input(
        self, indices: Sequence[str] | str | None = None, *, ahead: Sequence[str] | None = None
    ) -> dict[str, Any]:
        """The input of the daily execution: every index of ``indices`` (default: the
        deployment's; one code is one index) in one execution. ``ahead`` overrides
        :attr:`ahead_datasets`."""
        if indices is None:
            indices = self.indices
        started: dict[str, Any] = {
            "source": "schedule",
            "indices": [indices] if isinstance(indices, str) else list(indices),
        }
        if ahead is not None:
            started["ahead"] = list(ahead)
        return started

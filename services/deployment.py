"""One description of a deployment, read by the Pulumi program and by the local deployment.

Resource names, the state machine's values, the S3 event pattern, the schedule's input and
the Glue job's arguments are all derived here from a name prefix and a few settings, so the
two deployments cannot drift apart (a test renders both and compares).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from services import settings

#: Lambda handlers, as module.function (the zip packages and the images' CMD).
SCRAPER_HANDLER = "services.scraper.handler.handler"
VALIDATE_HANDLER = "services.validate.handler.handler"
TRIGGER_HANDLER = "services.trigger.handler.handler"

#: The daily schedule, in B3's time zone: weekdays at 08:00, two hours before the open.
#: B3 serves a session's portfolio from the previous session's close until its own close,
#: so that morning every session's portfolio is on offer, however late B3 switched the
#: evening before. A weekday holiday's run gets the next session's portfolio, stored under
#: B3's header date and replaced by that session's own run (README, "The schedule").
SCHEDULE_CRON = "cron(0 8 ? * MON-FRI *)"
SCHEDULE_TIMEZONE = settings.B3_TIMEZONE


@dataclass(frozen=True)
class Deployment:
    """Names and settings of one deployment (a Pulumi stack, or the local emulator)."""

    #: Every resource name starts with it, e.g. ``bovespa-dev``.
    prefix: str = "bovespa"
    #: Seconds between two polls of the Glue job, the crawler and the Athena query.
    poll_seconds: int = 30
    #: Polls before a still-running step is declared timed out (30 s x 120 = 1 hour).
    max_polls: int = 120
    #: First wait before the state machine retries a scrape that found B3 unavailable.
    scrape_retry_seconds: int = 60
    #: The indices the schedule scrapes, one execution each.
    indices: tuple[str, ...] = (settings.DEFAULT_INDEX,)
    database: str = settings.GLUE_DATABASE
    table: str = settings.REFINED_TABLE
    #: Attempts per B3 page inside the scraper Lambda; the state machine retries beyond.
    scraper_http_attempts: int = 2

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
        return f"{self.prefix}-refined-crawler"

    @property
    def state_machine(self) -> str:
        return f"{self.prefix}-pipeline"

    @property
    def workgroup(self) -> str:
        return f"{self.prefix}-analytics"

    @property
    def raw_object_rule(self) -> str:
        return f"{self.prefix}-raw-object-created"

    def scraper_environment(self, bucket: str) -> dict[str, str]:
        return {
            settings.LAKE_URI_ENV: f"s3://{bucket}",
            settings.B3_ATTEMPTS_ENV: str(self.scraper_http_attempts),
        }

    def validate_environment(self, bucket: str) -> dict[str, str]:
        return {settings.LAKE_URI_ENV: f"s3://{bucket}"}

    def trigger_environment(self, state_machine_arn: str) -> dict[str, str]:
        return {settings.STATE_MACHINE_ARN_ENV: state_machine_arn}

    def crawler_targets(self) -> dict[str, Any]:
        """A catalog target on the refined table: the crawler updates it, never adds one."""
        return {"CatalogTargets": [{"DatabaseName": self.database, "Tables": [self.table]}]}

    #: Catalog targets require the crawler to log deletions rather than apply them.
    CRAWLER_SCHEMA_CHANGE_POLICY: ClassVar[dict[str, str]] = {
        "UpdateBehavior": "UPDATE_IN_DATABASE",
        "DeleteBehavior": "LOG",
    }

    def smoke_query(self, dt: str, index: str) -> str:
        """What the state machine's smoke query asks Athena (for the summary and tests)."""
        return (
            f'SELECT count(*) AS n FROM "{self.database}"."{self.table}" '
            f"WHERE dt = '{dt}' AND index_code = '{index}'"
        )

    def state_machine_values(self, scraper_arn: str, validate_arn: str) -> dict[str, str | int]:
        """The values of the placeholders in ``statemachine/pipeline.asl.json``."""
        return {
            "ScraperFunctionArn": scraper_arn,
            "ValidateFunctionArn": validate_arn,
            "GlueJobName": self.glue_job,
            "CrawlerName": self.crawler,
            "AthenaWorkGroup": self.workgroup,
            "GlueDatabase": self.database,
            "RefinedTable": self.table,
            "PollSeconds": self.poll_seconds,
            "MaxPolls": self.max_polls,
            "ScrapeRetrySeconds": self.scrape_retry_seconds,
        }

    def raw_object_event_pattern(self, bucket: str) -> dict[str, Any]:
        """EventBridge pattern: a ``.parquet`` object created under ``raw/`` in ``bucket``."""
        return {
            "source": ["aws.s3"],
            "detail-type": ["Object Created"],
            "detail": {
                "bucket": {"name": [bucket]},
                "object": {
                    "key": [{"wildcard": f"{settings.RAW_PREFIX}/*.{_suffix()}"}],
                },
            },
        }

    def glue_job_arguments(self, bucket: str) -> dict[str, str]:
        """The Glue job's default arguments; the state machine adds ``--dt`` and ``--index``."""
        return {
            "--lake": f"s3://{bucket}",
            "--database": self.database,
            "--table": self.table,
            "--catalog": "true",
        }

    def schedule_input(self, index: str) -> dict[str, str]:
        """The input of the scheduled (daily) execution for ``index``."""
        return {"source": "schedule", "index": index}


def _suffix() -> str:
    return settings.RAW_OBJECT_NAME.rsplit(".", 1)[1]

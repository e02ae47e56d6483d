"""The stack's settings, read once from ``pulumi.Config`` (``Pulumi.<stack>.yaml``)."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi

from services import settings
from services.b3.indices import Selection, UnknownIndex, parse_setting
from services.deployment import AHEAD_DATASETS, SCHEDULE_CRON, SCHEDULE_TIMEZONE, Deployment


class StackConfigError(pulumi.RunError):
    """A stack setting Pulumi must refuse before deploying anything (one line, no traceback)."""


@dataclass(frozen=True)
class StackConfig:
    """Everything a stack may set; defaults are the ``dev`` example's."""

    prefix: str
    indices: tuple[str, ...]
    schedule_cron: str
    schedule_timezone: str
    glue_worker_type: str
    glue_workers: int
    glue_timeout_minutes: int
    alarm_email: str | None
    athena_bytes_scanned_cutoff: int
    log_retention_days: int
    image_history: int
    poll_seconds: int
    max_polls: int
    scrape_retry_seconds: int
    map_max_concurrency: int
    ahead_datasets: tuple[str, ...]

    @property
    def deployment(self) -> Deployment:
        """The shared description (names, state machine values...) for this stack."""
        return Deployment(
            prefix=self.prefix,
            poll_seconds=self.poll_seconds,
            max_polls=self.max_polls,
            scrape_retry_seconds=self.scrape_retry_seconds,
            indices=self.indices,
            map_max_concurrency=self.map_max_concurrency,
            ahead_datasets=self.ahead_datasets,
        )


def load() -> StackConfig:
    config = pulumi.Config()
    return StackConfig(
        prefix=config.get("prefix") or f"bovespa-{pulumi.get_stack()}",
        indices=indices(config.get("indices")).codes,
        schedule_cron=config.get("scheduleCron") or SCHEDULE_CRON,
        schedule_timezone=config.get("scheduleTimezone") or SCHEDULE_TIMEZONE,
        glue_worker_type=config.get("glueWorkerType") or "G.1X",
        glue_workers=config.get_int("glueWorkers") or 2,
        glue_timeout_minutes=config.get_int("glueTimeoutMinutes") or 30,
        alarm_email=config.get("alarmEmail") or None,
        athena_bytes_scanned_cutoff=config.get_int("athenaBytesScannedCutoff") or 1_073_741_824,
        log_retention_days=config.get_int("logRetentionDays") or 30,
        image_history=config.get_int("imageHistory") or 5,
        poll_seconds=config.get_int("pollSeconds") or 30,
        max_polls=config.get_int("maxPolls") or 120,
        scrape_retry_seconds=config.get_int("scrapeRetrySeconds") or 60,
        map_max_concurrency=map_max_concurrency(config.get_int("mapMaxConcurrency")),
        ahead_datasets=ahead_datasets(config.get_object("aheadDatasets")),
    )


#: Indices scraped at the same time by default, and at most: B3 is one public site.
MAP_MAX_CONCURRENCY = (4, 10)


def map_max_concurrency(value: int | None) -> int:
    """``mapMaxConcurrency``: indices scraped at once (1 to 10; default 4)."""
    if value is None:
        return MAP_MAX_CONCURRENCY[0]
    if not 1 <= value <= MAP_MAX_CONCURRENCY[1]:
        raise StackConfigError(
            f"bovespa-pipeline:mapMaxConcurrency: {value} is not between 1 and "
            f"{MAP_MAX_CONCURRENCY[1]} (indices scraped from B3 at the same time)"
        )
    return value


def ahead_datasets(value: object) -> tuple[str, ...]:
    """``aheadDatasets``: which datasets ahead each index gets (default: all; ``[]``: none)."""
    if value is None:
        return AHEAD_DATASETS
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise StackConfigError("bovespa-pipeline:aheadDatasets: not a list of dataset names")
    unknown = sorted(set(value) - set(AHEAD_DATASETS))
    if unknown:
        raise StackConfigError(
            f"bovespa-pipeline:aheadDatasets: unknown {unknown}; "
            f"the datasets ahead are {list(AHEAD_DATASETS)}"
        )
    return tuple(dict.fromkeys(value))


def indices(raw: str | None) -> Selection:
    """The ``indices`` setting: a list of B3 codes, or ``all`` (every index B3 publishes).

    Aliases users type (``IBRX`` -> ``IBXX``...) are resolved and said with
    ``pulumi.log.info``; an unknown code stops ``pulumi up`` here, not when the schedule fires.
    """
    if raw is None:
        return Selection((settings.DEFAULT_INDEX,))
    try:
        selection = parse_setting(raw)
    except UnknownIndex as error:
        raise StackConfigError(f"bovespa-pipeline:indices: {error}") from None
    for note in selection.notes:
        pulumi.log.info(f"bovespa-pipeline:indices: {note}")
    return selection

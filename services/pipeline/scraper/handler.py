"""Lambda handler of the scraper: ``{"index": "IBOV", "dataset": "day"}`` in, the summary out.

``dataset`` is ``day`` (the default), ``theoretical`` or ``preview`` ("no preview now" is a
summary with ``status: none``). Failures raise, so Step Functions sees the error type.
"""

from __future__ import annotations

import os
from typing import Any

from aws_lambda_powertools import Logger

from services.pipeline import settings
from services.pipeline.b3.client import Limits, RetryPolicy
from services.pipeline.b3.indices import canonical
from services.pipeline.errors import BadArgument
from services.pipeline.lake.datasets import BY_NAME, DAY
from services.pipeline.scraper.scrape import scrape

logger = Logger(service="bovespa-scraper")
#: Seconds of the invocation kept after the scrape's deadline, so that it ends with its
#: own error (and nothing half-written), not the Lambda's timeout.
DEADLINE_MARGIN_SECONDS = 15.0


class UnknownDataset(BadArgument):
    """The event asks for a dataset the scraper does not fetch."""


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Scrape ``event["dataset"]`` of ``event["index"]`` (an alias is resolved) into
    ``LAKE_URI``; an unknown index or dataset fails before B3 is asked."""
    index, note = canonical(str(event.get("index") or settings.DEFAULT_INDEX))
    dataset = str(event.get("dataset") or DAY)
    if dataset not in BY_NAME:
        raise UnknownDataset(
            f"dataset {dataset!r} is not one the scraper fetches ({', '.join(BY_NAME)})"
        )
    logger.info("scrape requested", extra={"index": index, "dataset": dataset, "note": note})
    # Few attempts per page (the deployment's setting): longer outages are retried by the
    # state machine, where they show in the execution history.
    attempts = os.environ.get(settings.B3_ATTEMPTS_ENV)
    remaining = context.get_remaining_time_in_millis() / 1000 - DEADLINE_MARGIN_SECONDS
    summary = scrape(
        index,
        dataset=dataset,
        lake_uri=os.environ[settings.LAKE_URI_ENV],
        policy=RetryPolicy(attempts=int(attempts)) if attempts else RetryPolicy(),
        limits=Limits(deadline_seconds=max(remaining, 1.0)),
        writer=settings.WRITER_SCRAPER,
    )
    logger.info("scraped", extra={"summary": summary})
    return summary

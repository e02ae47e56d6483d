"""Lambda handler of the scraper: ``{"index": "IBOV", "dataset": "day"}`` in, the summary out.

``dataset`` is ``day`` (the day's portfolio, the default), ``theoretical`` (the four-month
theoretical portfolio) or ``preview`` (the preview of the next one; "no preview now" is a
summary with ``status: none``, not an error). The lake comes from ``LAKE_URI``
(``s3://bucket``) and B3's address from ``B3_BASE_URL`` (optional). Failures raise, so
Step Functions sees the error type and retries or records the failure.
"""

from __future__ import annotations

import os
from typing import Any

from aws_lambda_powertools import Logger

from services.pipeline import settings
from services.pipeline.b3.indices import canonical
from services.pipeline.errors import BadArgument
from services.pipeline.lake.datasets import DAY, NAMES
from services.pipeline.scraper.scrape import scrape

logger = Logger(service="bovespa-scraper")


class UnknownDataset(BadArgument):
    """The event asks for a dataset the scraper does not fetch."""


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Scrape ``event["dataset"]`` of ``event["index"]`` into the lake named by ``LAKE_URI``.

    The index must be one B3 publishes (an alias such as ``IBRX`` is resolved); anything
    else fails at once, before B3 is asked.
    """
    index, note = canonical(str(event.get("index") or settings.DEFAULT_INDEX))
    dataset = str(event.get("dataset") or DAY)
    if dataset not in NAMES:
        raise UnknownDataset(
            f"dataset {dataset!r} is not one the scraper fetches ({', '.join(NAMES)})"
        )
    logger.info("scrape requested", extra={"index": index, "dataset": dataset, "note": note})
    summary = scrape(
        index,
        dataset=dataset,
        lake_uri=os.environ[settings.LAKE_URI_ENV],
        writer=settings.WRITER_SCRAPER,
    )
    logger.info("scraped", extra={"summary": summary})
    return summary

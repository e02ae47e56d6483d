"""Lambda handler of the scraper: ``{"index": "IBOV"}`` in, the scrape summary out.

The lake comes from ``LAKE_URI`` (``s3://bucket``) and B3's address from ``B3_BASE_URL``
(optional). Failures raise, so Step Functions sees the error type and retries or fails
the Scrape state.
"""

from __future__ import annotations

import os
from typing import Any

from aws_lambda_powertools import Logger

from services import settings
from services.lambda_errors import named_errors
from services.scraper.scrape import scrape

logger = Logger(service="bovespa-scraper")


@named_errors
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Scrape ``event["index"]`` (default IBOV) into the lake named by ``LAKE_URI``."""
    index = str(event.get("index") or settings.DEFAULT_INDEX)
    logger.info("scrape requested", extra={"index": index})
    summary = scrape(
        index,
        lake_uri=os.environ[settings.LAKE_URI_ENV],
        writer=settings.WRITER_SCRAPER,
    )
    logger.info("scraped", extra={"summary": summary})
    return summary

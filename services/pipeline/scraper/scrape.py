"""Scrape one index's portfolio of the day into the raw layer and describe what was written."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from services.pipeline import settings
from services.pipeline.b3 import calendar
from services.pipeline.b3.client import B3Client, Limits, RetryPolicy
from services.pipeline.lake.raw import write_raw
from services.pipeline.lake.storage import open_lake
from services.pipeline.validate.contract import check_trading_day


def scrape(
    index: str = settings.DEFAULT_INDEX,
    *,
    lake_uri: str,
    base_url: str | None = None,
    page_size: int = settings.B3_PAGE_SIZE,
    policy: RetryPolicy | None = None,
    limits: Limits | None = None,
    writer: str = settings.WRITER_CLI,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Fetch, check and write; return the summary (``index``, ``dt``, ``rows``, ``uri``...).

    ``limits`` bounds the scrape (pages, bytes, one deadline; defaults from settings).
    Nothing is written unless every check passed (see
    :func:`services.pipeline.b3.portfolio.assemble`),
    B3's header date included: it must be a B3 session no later than the next session
    after ``now`` (default :func:`services.pipeline.b3.calendar.now`), the rule the validate step
    applies (:func:`services.pipeline.validate.contract.check_trading_day`).
    ``writer`` is recorded as S3 object metadata, for people reading the bucket (the
    trigger reads none: it asks the running executions what they scraped and validated).
    ``version`` and ``etag`` are the store's answer to the Parquet object's write (no read
    back): they pin exactly the object this scrape wrote, which is how the S3-event trigger
    tells this write (validated by the execution that scraped it) from any other.
    """
    client = B3Client(base_url, policy, limits=limits)
    portfolio = client.fetch_portfolio(index, page_size=page_size)
    check_trading_day(portfolio.trading_date, now or calendar.now())
    written = write_raw(open_lake(lake_uri), portfolio, writer=writer)
    return {
        "index": written.index,
        "dt": written.dt.isoformat(),
        "session": calendar.portfolio_label(written.dt),
        "rows": written.rows,
        "uri": written.uri,
        "version": written.version,
        "etag": written.etag,
        "sha256": portfolio.sha256,
        "pages": len(portfolio.sources),
        "fetched_at": portfolio.fetched_at.isoformat(),
        "responses": list(written.response_uris),
    }

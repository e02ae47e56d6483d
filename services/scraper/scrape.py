"""Scrape one index's portfolio of the day into the raw layer and describe what was written."""

from __future__ import annotations

from typing import Any

from services import settings
from services.b3.client import B3Client, Limits, RetryPolicy
from services.lake.raw import write_raw
from services.lake.storage import open_lake


def scrape(
    index: str = settings.DEFAULT_INDEX,
    *,
    lake_uri: str,
    base_url: str | None = None,
    page_size: int = settings.B3_PAGE_SIZE,
    policy: RetryPolicy | None = None,
    limits: Limits | None = None,
    writer: str = settings.WRITER_CLI,
) -> dict[str, Any]:
    """Fetch, check and write; return the summary (``index``, ``dt``, ``rows``, ``uri``...).

    ``limits`` bounds the scrape (pages, bytes, one deadline; defaults from settings).
    Nothing is written unless every check passed (see :func:`services.b3.portfolio.assemble`).
    ``writer`` is recorded as S3 object metadata so the S3-event trigger can tell the
    pipeline's own writes (``scraper``) from objects dropped by hand.
    """
    portfolio = B3Client(base_url, policy, limits=limits).fetch_portfolio(
        index, page_size=page_size
    )
    written = write_raw(open_lake(lake_uri), portfolio, writer=writer)
    return {
        "index": written.index,
        "dt": written.dt.isoformat(),
        "rows": written.rows,
        "uri": written.uri,
        "sha256": portfolio.sha256,
        "pages": len(portfolio.sources),
        "fetched_at": portfolio.fetched_at.isoformat(),
        "responses": list(written.response_uris),
    }

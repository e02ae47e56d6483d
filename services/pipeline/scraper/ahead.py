"""Scrape the four-month datasets (theoretical portfolio, preview) into their raw partitions.

Each returns a summary shaped like the day's (:func:`services.pipeline.scraper.scrape.scrape`):
``dataset``, ``index``, ``dt`` (the session B3 served), ``rows``, ``uri``, ``sha256``,
``pages``, ``fetched_at``, ``responses``, ``status``, plus ``cycle`` (theoretical) or
``target_cycle`` / ``reason`` (preview), and the pin of the Parquet object written (or
kept): ``object_sha256`` (of its bytes; ``sha256`` is B3's body's) and ``version`` (the
store's version id), both ``null`` for "no preview now". The state machine passes the
pins to the Glue job (``--ahead``), which refines exactly those bytes. ``status`` is
``stored`` when the dataset was written; "no preview now" is ``status: "none"`` -- a
normal outcome, never an error.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from services.pipeline import settings
from services.pipeline.b3 import calendar
from services.pipeline.b3.client import B3Client, RetryPolicy
from services.pipeline.b3.preview import UNVERIFIED, NoPreview, fetch_preview
from services.pipeline.b3.theoretical import fetch_theoretical
from services.pipeline.lake.ahead import Written, write_preview, write_theoretical
from services.pipeline.lake.storage import open_lake
from services.pipeline.validate.contract import check_trading_day


def scrape_theoretical(
    index: str = settings.DEFAULT_INDEX,
    *,
    lake_uri: str,
    base_url: str | None = None,
    page_size: int = settings.B3_PAGE_SIZE,
    policy: RetryPolicy | None = None,
    writer: str = settings.WRITER_CLI,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Fetch, check and write the theoretical portfolio of ``index``; return the summary.

    The session B3 serves must pass the day's date rule (a B3 session no later than the
    next one after ``now``: :func:`services.pipeline.validate.contract.check_trading_day`), since
    it decides the cycle the portfolio is stored under.
    """
    portfolio = fetch_theoretical(B3Client(base_url, policy), index, page_size=page_size)
    check_trading_day(portfolio.session, now or calendar.now())
    written = write_theoretical(open_lake(lake_uri), portfolio, writer=writer)
    return {
        **_summary(written),
        "status": "stored",
        "cycle": portfolio.cycle.label,
        "sha256": portfolio.sha256,
        "pages": len(portfolio.sources),
        "fetched_at": portfolio.fetched_at.isoformat(),
    }


def scrape_preview(
    index: str = settings.DEFAULT_INDEX,
    *,
    lake_uri: str,
    base_url: str | None = None,
    page_size: int = settings.B3_PAGE_SIZE,
    policy: RetryPolicy | None = None,
    writer: str = settings.WRITER_CLI,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Fetch the preview of ``index`` if B3 has a current one; write it or "no preview now".

    The session B3 serves must pass the day's date rule, as for the theoretical portfolio.

    ``status`` is ``stored`` (a preview was written), ``none`` (the marker was written) or
    ``kept`` (no current preview now, and the one stored earlier for the session stays).
    """
    outcome = fetch_preview(B3Client(base_url, policy), index, page_size=page_size)
    check_trading_day(outcome.session, now or calendar.now())
    written = write_preview(open_lake(lake_uri), outcome, writer=writer)
    common = {**_summary(written), "fetched_at": outcome.fetched_at.isoformat()}
    if isinstance(outcome, NoPreview):
        return {
            **common,
            "status": "kept" if written.kept else "none",
            "reason": outcome.reason,
            "sha256": outcome.configuration_source.sha256,
            "pages": 0,
        }
    return {
        **common,
        "status": "stored",
        "target_cycle": outcome.target_cycle.label,
        "sha256": outcome.sha256,
        "pages": len(outcome.sources),
        "contract": UNVERIFIED,
    }


def _summary(written: Written) -> dict[str, Any]:
    return {
        "dataset": written.dataset,
        "index": written.index,
        "dt": written.dt.isoformat(),
        "rows": written.rows,
        "uri": written.uri,
        "responses": list(written.archived),
        "object_sha256": written.object_sha256,
        "version": written.version,
    }

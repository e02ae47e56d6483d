"""Scrape one index's dataset (the day's or one ahead) into the raw layer."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from services.pipeline import settings
from services.pipeline.b3 import calendar
from services.pipeline.b3.client import B3Client, Limits, RetryPolicy
from services.pipeline.b3.portfolio import Portfolio
from services.pipeline.b3.preview import UNVERIFIED, NoPreview
from services.pipeline.lake.datasets import BY_NAME, DAY, PREVIEW
from services.pipeline.lake.raw import write_raw
from services.pipeline.lake.storage import open_lake
from services.pipeline.validate.contract import check_trading_day


def scrape(
    index: str = settings.DEFAULT_INDEX, *, lake_uri: str, dataset: str = DAY,
    base_url: str | None = None, page_size: int = settings.B3_PAGE_SIZE,
    policy: RetryPolicy | None = None, limits: Limits | None = None,
    writer: str = settings.WRITER_CLI, now: datetime | None = None,
) -> dict[str, Any]:  # fmt: skip
    """Fetch, check and write ``dataset`` of ``index`` (nothing unless every check passed);
    return the summary: its pin (``version`` with ``etag`` or ``object_sha256``), and for a
    preview ``status`` ``none`` (B3 has none now) or ``kept`` (one stored earlier stays)."""
    client = B3Client(base_url, policy, limits)
    outcome: Portfolio | NoPreview
    if dataset == DAY:
        outcome = client.fetch_portfolio(index, page_size=page_size)
    else:
        outcome = client.fetch_ahead(BY_NAME[dataset], index, page_size=page_size)
    check_trading_day(outcome.trading_date, now or calendar.now(), scraped=True)
    written = write_raw(open_lake(lake_uri), outcome, writer=writer)
    if isinstance(outcome, NoPreview):
        sha256, pages = outcome.answers["configuration"].sha256, 0
    else:
        sha256, pages = outcome.sha256, len(outcome.sources)
    summary = {
        "index": written.index,
        "dt": written.dt.isoformat(),
        "rows": written.rows,
        "uri": written.uri,
        "version": written.version,
        "sha256": sha256,
        "pages": pages,
        "fetched_at": outcome.fetched_at.isoformat(),
        "responses": list(written.archived),
    }
    if dataset == DAY:
        return {**summary, "session": calendar.portfolio_label(written.dt), "etag": written.etag}
    if isinstance(outcome, NoPreview):
        kept = written.kept
        return {
            **summary,
            "dataset": PREVIEW.name,
            "status": "kept" if kept else "none",
            "reason": outcome.reason,
            "object_sha256": written.sha256 if kept else None,
            "version": written.version if kept else None,
        }
    assert outcome.cycle is not None  # every dataset ahead has one
    return {
        **summary,
        "dataset": dataset,
        "status": "stored",
        outcome.dataset.period: outcome.cycle.label,
        "object_sha256": written.sha256,
        **({"contract": UNVERIFIED} if outcome.dataset is PREVIEW else {}),
    }

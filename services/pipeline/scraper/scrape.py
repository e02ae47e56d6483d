"""Scrape one index's dataset into the raw layer and describe what was written.

The dataset is the day's portfolio (``day``) or one ahead: the four-month theoretical
portfolio or the preview of the next one (:mod:`services.pipeline.lake.datasets`). Every
one is fetched by the same client (same retries and bounds), checked with the same
contract code, dated by the session B3 serves (which must pass the day's date rule,
:func:`services.pipeline.validate.contract.check_trading_day`), and written the same way.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from services.pipeline import settings
from services.pipeline.b3 import calendar
from services.pipeline.b3.client import B3Client, Limits, RetryPolicy
from services.pipeline.b3.portfolio import bodies_sha256
from services.pipeline.b3.preview import UNVERIFIED, NoPreview
from services.pipeline.b3.theoretical import fetch_ahead
from services.pipeline.lake.ahead import write_ahead
from services.pipeline.lake.datasets import DATASETS, DAY, PREVIEW
from services.pipeline.lake.raw import Written, write_raw
from services.pipeline.lake.storage import open_lake
from services.pipeline.validate.contract import check_trading_day


def scrape(
    index: str = settings.DEFAULT_INDEX,
    *,
    lake_uri: str,
    dataset: str = DAY,
    base_url: str | None = None,
    page_size: int = settings.B3_PAGE_SIZE,
    policy: RetryPolicy | None = None,
    limits: Limits | None = None,
    writer: str = settings.WRITER_CLI,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Fetch, check and write ``dataset`` of ``index``; return the summary.

    Nothing is written unless every check passed, B3's session included: it must be a B3
    session no later than the next session after ``now`` (default
    :func:`services.pipeline.b3.calendar.now`). ``limits`` bounds the scrape (pages,
    bytes, one deadline; defaults from settings). ``writer`` is recorded as S3 object
    metadata, for people reading the bucket.

    The summary has ``index``, ``dt`` (the session B3 served), ``rows``, ``uri``,
    ``sha256`` (of B3's bodies), ``pages``, ``fetched_at``, ``responses`` (the archived
    bodies) and ``version``: with the day's ``etag``, or a dataset ahead's
    ``object_sha256`` (of the Parquet object's bytes), the pin of exactly the object
    written -- how the S3-event trigger tells this write from any other, and what the
    Glue job refines (``--ahead``). A dataset ahead's also has ``dataset``, ``status``
    (``stored``; for a preview ``none`` when B3 has no current one -- a normal outcome,
    never an error -- or ``kept`` when one stored earlier for the session stays) and its
    cycle (``cycle`` or ``target_cycle``) or, for no preview, the ``reason``.
    """
    client = B3Client(base_url, policy, limits=limits)
    if dataset == DAY:
        portfolio = client.fetch_portfolio(index, page_size=page_size)
        check_trading_day(portfolio.trading_date, now or calendar.now())
        written = write_raw(open_lake(lake_uri), portfolio, writer=writer)
        return {
            **_summary(written, portfolio.sha256, len(portfolio.sources), portfolio.fetched_at),
            "session": calendar.portfolio_label(written.dt),
            "etag": written.etag,
        }
    ahead = {candidate.name: candidate for candidate in DATASETS}[dataset]
    outcome = fetch_ahead(client, ahead, index, page_size=page_size)
    check_trading_day(outcome.session, now or calendar.now())
    written = write_ahead(open_lake(lake_uri), outcome, writer=writer)
    if isinstance(outcome, NoPreview):
        configuration = outcome.answers["configuration"].sha256
        return {
            **_summary(written, configuration, 0, outcome.fetched_at),
            "dataset": PREVIEW.name,
            "status": "kept" if written.kept else "none",
            "reason": outcome.reason,
            "object_sha256": written.sha256 if written.kept else None,
            "version": written.version if written.kept else None,
        }
    pages = len(outcome.sources)
    return {
        **_summary(written, bodies_sha256(outcome.sources), pages, outcome.fetched_at),
        "dataset": ahead.name,
        "status": "stored",
        ahead.period: outcome.cycle.label,
        "object_sha256": written.sha256,
        **({"contract": UNVERIFIED} if ahead is PREVIEW else {}),
    }


def _summary(written: Written, sha256: str, pages: int, fetched_at: datetime) -> dict[str, Any]:
    return {
        "index": written.index,
        "dt": written.dt.isoformat(),
        "rows": written.rows,
        "uri": written.uri,
        "version": written.version,
        "sha256": sha256,
        "pages": pages,
        "fetched_at": fetched_at.isoformat(),
        "responses": list(written.archived),
    }

"""B3's four-month portfolios: the theoretical portfolio and the preview of the next one.

The theoretical portfolio (``GetTheoricalPortfolio``) is the one an index was set to at its
last rebalance; it holds for a whole cycle (Jan.-Apr., May-Aug., Sep.-Dec.). The preview
(``GetQuartelyPreview``, :mod:`services.pipeline.b3.preview`) is the one proposed for the
next cycle, with the same contract. Both bodies have the day's envelope and numbers
(:mod:`services.pipeline.b3.portfolio`), but ``header`` holds only B3's totals (**no
date**) and each row ``cod``, ``asset``, ``type``, ``theoricalQty``, ``part`` and ``cont``
(the row's rank by company name) and **no sector**. Their contracts are strict.

The period is derived, never read: B3 states none in the JSON, and the clock cannot say
which session an answer belongs to, so :func:`fetch_ahead` first asks ``GetPortfolioDay``
which session B3 serves; the theoretical portfolio is of that session's cycle, a preview
of the next (:mod:`services.pipeline.b3.cycles`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import partial

from services.pipeline import settings
from services.pipeline.b3 import preview
from services.pipeline.b3.client import B3Client, check_index
from services.pipeline.b3.cycles import Cycle, cycle_of
from services.pipeline.b3.portfolio import (
    ROW,
    TOTALS,
    Asset,
    Contract,
    PageSource,
    Totals,
    join,
    parse_totals_page,
)
from services.pipeline.lake.datasets import PREVIEW, Dataset

CALL = "GetTheoricalPortfolio"
CONTRACT = Contract(CALL, TOTALS, (*ROW, "cont"))


@dataclass(frozen=True)
class Ahead:
    """A dataset ahead of one index, every check passed, with the cycle its rows are for."""

    dataset: Dataset
    index: str
    #: The session B3 served when this was fetched (``GetPortfolioDay``'s ``header.date``).
    session: date
    #: The session's cycle (theoretical) or the next one (preview).
    cycle: Cycle
    header: Totals
    total_records: int
    assets: tuple[Asset, ...]
    #: The dataset's own pages.
    sources: tuple[PageSource, ...]
    #: The other answers it was decided by, archived beside it: ``session``
    #: (``GetPortfolioDay``) and, for a preview, ``configuration`` (``GetConfigurations``).
    answers: Mapping[str, PageSource]
    fetched_at: datetime


def page_params(index: str, number: int, page_size: int) -> dict[str, object]:
    """The parameters B3's site sends to the four-month endpoints (no ``segment``)."""
    return {"language": "pt-br", "pageNumber": number, "pageSize": page_size, "index": index}


def fetch_ahead(
    client: B3Client, dataset: Dataset, index: str, *, page_size: int = settings.B3_PAGE_SIZE
) -> Ahead | preview.NoPreview:
    """Ask B3 which session it serves (and, for a preview, whether one is current), then
    fetch every page of ``dataset`` and check it."""
    index = check_index(index)
    fetched_at = datetime.now(UTC)
    session, session_source = client.serving_session(index)
    answers = {"session": session_source}
    contract, cycle = CONTRACT, cycle_of(session)
    if dataset is PREVIEW:
        url = client.call_url(preview.CONFIGURATION_CALL, page_params(index, 1, page_size))
        configuration, document = client.fetch_one(url)
        answers = {"configuration": configuration, **answers}
        reason = preview.why_not_current(document, session)
        if reason is not None:
            return preview.NoPreview(index, session, reason, answers, fetched_at)
        contract, cycle = preview.CONTRACT, cycle.next()
    pages, sources = client.fetch_pages(
        lambda number: client.call_url(contract.call, page_params(index, number, page_size)),
        partial(parse_totals_page, contract=contract),
    )
    header, total_records, assets = join(pages)
    return Ahead(
        dataset, index, session, cycle, header, total_records, assets, tuple(sources), answers,
        fetched_at,
    )  # fmt: skip

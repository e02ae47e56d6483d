"""Raw lakes and bodies made from B3's recorded answers by changing their trading date
only (rows, totals and lineage stay B3's): for the benchmark, the Glue runtime and the tests."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable
from datetime import UTC, date, datetime
from pathlib import Path

from services.pipeline import settings
from services.pipeline.b3.calendar import is_session, previous_session
from services.pipeline.b3.portfolio import PageSource, Portfolio, assemble, parse_page
from services.pipeline.lake.raw import write_raw
from services.pipeline.lake.storage import Lake
from services.tool.local.replay import DEMO_RECORDINGS

#: The recorded day that ``make demo`` replays.
DEMO_BODY = settings.FIXTURES_DIR / DEMO_RECORDINGS["IBOV"][1]
FETCHED_AT = datetime(2025, 7, 10, 21, 30, tzinfo=UTC)


def recorded_portfolio(path: Path = DEMO_BODY, index: str = "IBOV") -> Portfolio:
    """Parse and check a recorded body exactly as the scraper does."""
    body = path.read_bytes()
    page = parse_page(json.loads(body))
    source = PageSource(1, f"replay://{path.name}", body)
    return assemble(index, [page], [source], FETCHED_AT)


def redate_body(body: bytes, day: date) -> bytes:
    """A derived ``GetPortfolioDay`` body, in memory: ``body`` with ``header.date`` set to
    ``day`` (``dd/mm/yy``, as B3 writes it), all else the recording's."""
    document = json.loads(body)
    if not isinstance(document, dict) or not isinstance(document.get("header"), dict):
        raise ValueError("not a GetPortfolioDay body: it has no header to re-date")
    document["header"]["date"] = day.strftime("%d/%m/%y")
    return json.dumps(document, ensure_ascii=False).encode("utf-8")


def on_day(portfolio: Portfolio, day: date) -> Portfolio:
    header = dataclasses.replace(
        portfolio.header, trading_date=day, date_raw=day.strftime("%d/%m/%y")
    )
    return dataclasses.replace(portfolio, header=header)


def business_days(last: date, count: int) -> list[date]:
    """``count`` B3 sessions ending on ``last`` (or before it, if it is none), oldest first."""
    days: list[date] = []
    day = last if is_session(last) else previous_session(last)
    while len(days) < count:
        days.append(day)
        day = previous_session(day)
    return sorted(days)


def write_days(lake: Lake, portfolio: Portfolio, days: Iterable[date]) -> None:
    for day in days:
        write_raw(lake, on_day(portfolio, day), writer=settings.WRITER_CLI)

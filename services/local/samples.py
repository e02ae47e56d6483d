"""Raw lakes made from B3's recorded answers, for the benchmark, the demo and the tests.

Backfills are generated from a real day by shifting its trading date: the rows, totals and
lineage are B3's own, only the date changes.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from services import settings
from services.b3.portfolio import PageSource, Portfolio, assemble, parse_page
from services.lake.raw import write_raw
from services.lake.storage import Lake

#: The recorded day that ``make demo`` replays.
DEMO_BODY = settings.FIXTURES_DIR / "GetPortfolioDay_IBOV_segment2_2025-07-10_derived.json"
FETCHED_AT = datetime(2025, 7, 10, 21, 30, tzinfo=UTC)


def recorded_portfolio(path: Path = DEMO_BODY, index: str = "IBOV") -> Portfolio:
    """Parse and check a recorded body exactly as the scraper does."""
    body = path.read_bytes()
    page = parse_page(json.loads(body))
    source = PageSource(1, f"replay://{path.name}", body)
    return assemble(index, [page], [source], FETCHED_AT, require_sector=True)


def on_day(portfolio: Portfolio, day: date) -> Portfolio:
    """The same portfolio, dated ``day``."""
    header = dataclasses.replace(
        portfolio.header, trading_date=day, date_raw=day.strftime("%d/%m/%y")
    )
    return dataclasses.replace(portfolio, header=header)


def business_days(last: date, count: int) -> list[date]:
    """``count`` weekdays ending on ``last`` (holidays are not skipped), oldest first."""
    days: list[date] = []
    day = last
    while len(days) < count:
        if day.weekday() < 5:
            days.append(day)
        day -= timedelta(days=1)
    return sorted(days)


def write_days(lake: Lake, portfolio: Portfolio, days: Iterable[date]) -> None:
    """Write ``portfolio`` as the raw partition of each of ``days``."""
    for day in days:
        write_raw(lake, on_day(portfolio, day), writer=settings.WRITER_CLI)

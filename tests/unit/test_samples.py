"""Test-made portfolios for ``make bench``: every check of the contract still passes."""

from __future__ import annotations

from datetime import date

from services.pipeline.b3.codes import is_ticker
from services.tool.local.replay import demo_cases
from services.tool.local.samples import recorded_portfolio, sized_like

DAY = date(2025, 7, 10)


def test_an_index_larger_than_the_recordings_gets_copies_under_b3_shaped_tickers() -> None:
    recordings = [recorded_portfolio(p, i) for (i, s), p in demo_cases().items() if s == "2"]
    pool = {a.cod for r in recordings for a in r.assets}
    made = sized_like("IGCX", len(pool) + 44, recordings, DAY)
    tickers = [a.cod for a in made.assets]
    assert len(tickers) == len(set(tickers)) == len(pool) + 44 == made.total_records
    assert set(tickers) >= pool
    assert all(is_ticker(t) for t in tickers)
    assert made.header.part == sum(a.part for a in made.assets)
    assert made.header.theoretical_qty == sum(a.theoretical_qty for a in made.assets)
    assert (made.index, made.header.trading_date) == ("IGCX", DAY)

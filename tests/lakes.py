"""Test-only changes to real portfolios (the generators themselves live in services.local)."""

from __future__ import annotations

import dataclasses

from services.b3.portfolio import Portfolio
from services.local.samples import on_day, recorded_portfolio, write_days

__all__ = ["on_day", "recorded_portfolio", "without", "write_days"]


def without(portfolio: Portfolio, ticker: str) -> Portfolio:
    """The portfolio with ``ticker`` gone and B3's totals adjusted (a ticker that left)."""
    gone = next(asset for asset in portfolio.assets if asset.cod == ticker)
    header = dataclasses.replace(
        portfolio.header,
        theoretical_qty=portfolio.header.theoretical_qty - gone.theoretical_qty,
        part=portfolio.header.part - gone.part,
    )
    assets = tuple(asset for asset in portfolio.assets if asset.cod != ticker)
    return dataclasses.replace(
        portfolio, header=header, assets=assets, total_records=portfolio.total_records - 1
    )

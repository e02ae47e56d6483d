"""B3's ``GetPortfolioDay`` endpoint: HTTP client, exact parsing and the portfolio checks."""

from services.b3.client import B3Client, RetryPolicy
from services.b3.errors import (
    B3Error,
    B3Unavailable,
    EmptyPortfolio,
    SchemaDrift,
    TotalsMismatch,
)
from services.b3.portfolio import Asset, Header, Portfolio

__all__ = [
    "Asset",
    "B3Client",
    "B3Error",
    "B3Unavailable",
    "EmptyPortfolio",
    "Header",
    "Portfolio",
    "RetryPolicy",
    "SchemaDrift",
    "TotalsMismatch",
]

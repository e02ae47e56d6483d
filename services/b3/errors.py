"""The errors a scrape can end in. Each has a one-line message that says what and why."""

from __future__ import annotations


class B3Error(Exception):
    """Base class: a scrape that must not write anything."""

    #: Process exit code used by the ``bovespa`` CLI for this kind of failure.
    exit_code = 1

    def __init__(self, message: str) -> None:
        super().__init__(" ".join(message.split()))


class B3Unavailable(B3Error):
    """B3 did not give a usable answer after every retry (network, 429/5xx, HTML page)."""

    exit_code = 3


class SchemaDrift(B3Error):
    """B3 answered with JSON that is not a GetPortfolioDay portfolio as we know it."""

    exit_code = 4


class EmptyPortfolio(B3Error):
    """B3 answered with a portfolio that has no assets (a holiday, or not published yet)."""

    exit_code = 5


class TotalsMismatch(B3Error):
    """The rows do not reconcile with B3's own header and page totals.

    Each check has its own subclass, so the error's type names the check that failed
    (Step Functions shows it as the error of the failed state).
    """

    exit_code = 6


class RowCountMismatch(TotalsMismatch):
    """The number of rows differs from ``page.totalRecords``."""


class DuplicateTickers(TotalsMismatch):
    """A ticker appears more than once."""


class QuantityTotalMismatch(TotalsMismatch):
    """The quantities do not sum exactly to ``header.theoricalQty``."""


class WeightTotalMismatch(TotalsMismatch):
    """The weights do not sum to ``header.part`` within the rounding tolerance."""


class PeriodMismatch(B3Error):
    """The four-month period B3 states is not the one the session belongs to.

    Also raised for a statement that names no B3 cycle (Jan.-Apr., May-Aug., Sep.-Dec.).
    """

    exit_code = 7

"""The errors a scrape can end in. Each has a one-line message that says what and why.

Their exit codes are in :data:`services.pipeline.errors.EXIT_CODES`.
"""

from __future__ import annotations


class B3Error(Exception):
    """Base class: a scrape that must not write anything."""

    def __init__(self, message: str) -> None:
        super().__init__(" ".join(message.split()))


class B3Unavailable(B3Error):
    """B3 did not give a usable answer after every retry (network, 429/5xx, HTML page)."""


class SchemaDrift(B3Error):
    """B3 answered with JSON that is not a GetPortfolioDay portfolio as we know it."""


class EmptyPortfolio(B3Error):
    """B3 answered with a portfolio that has no assets (a holiday, or not published yet)."""


class TotalsMismatch(B3Error):
    """The rows do not reconcile with B3's own header and page totals.

    Each check has its own subclass, so the error's type names the check that failed
    (Step Functions shows it as the error of the failed state).
    """


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


class LimitExceeded(B3Error):
    """An answer went past one of the scraper's bounds (``services.pipeline.settings``)."""


class TooManyPages(LimitExceeded):
    """B3 claims more pages than ``B3_MAX_PAGES``: stopped before requesting them."""


class BodyTooLarge(LimitExceeded):
    """A body is larger than ``B3_MAX_WIRE_BYTES`` received or ``B3_MAX_BODY_BYTES`` decoded."""


class B3Redirect(B3Error):
    """B3 answered with a redirect, which the scraper does not follow."""

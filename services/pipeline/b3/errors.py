"""The errors a scrape can end in, each with a one-line message that says what and why
(exit codes: :data:`services.pipeline.errors.EXIT_CODES`)."""

from __future__ import annotations


class B3Error(Exception):
    """Base class: a scrape that must not write anything."""

    def __init__(self, message: str) -> None:
        super().__init__(" ".join(message.split()))


class B3Unavailable(B3Error):
    """No usable answer after every retry (network, 429/5xx, an HTML page), or a 4xx."""


class SchemaDrift(B3Error):
    """An answer that is not what B3 publishes, as we know it."""


class EmptyPortfolio(B3Error):
    """A portfolio with no assets (a holiday, or not published yet)."""


class TotalsMismatch(B3Error):
    """The rows do not reconcile with B3's own totals; each check has its own subclass, so
    the error's type names it (Step Functions shows it as the failed state's error)."""


class RowCountMismatch(TotalsMismatch): ...


class DuplicateTickers(TotalsMismatch): ...


class QuantityTotalMismatch(TotalsMismatch): ...


class WeightTotalMismatch(TotalsMismatch): ...


class LimitExceeded(B3Error):
    """An answer went past one of the scraper's bounds (``services.pipeline.settings``)."""


class TooManyPages(LimitExceeded): ...


class BodyTooLarge(LimitExceeded): ...


class B3Redirect(B3Error):
    """A redirect, which the scraper does not follow."""

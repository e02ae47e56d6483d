"""The data contract's errors, one class per check (standard library only).

Apart from :mod:`services.pipeline.validate.contract`, so that the Glue job can raise
:class:`UnreadableParquet` without importing the contract's checks (pyarrow), which
its import check would hold to Glue 5.0's own versions.
"""

from __future__ import annotations


class ContractViolation(Exception):
    """Base class: the raw object breaks the data contract; nothing downstream may run."""


class NotARawObject(ContractViolation):
    """The key is not a day's canonical ``raw/index=<INDEX>/dt=<YYYY-MM-DD>/portfolio.parquet``."""


class UnreadableParquet(ContractViolation):
    """The object is not a readable Parquet file."""


class SchemaMismatch(ContractViolation):
    """Columns are missing, extra, or of another type than the raw schema's."""


class MissingValues(ContractViolation):
    """A required column has nulls."""


class HeaderMismatch(ContractViolation):
    """The B3 header columns differ between rows, or disagree with the path's date."""


class TooManyRows(ContractViolation):
    """The object holds more rows than :data:`services.pipeline.settings.MAX_RAW_ROWS`."""


class NotATradingDay(ContractViolation):
    """The trading date is not a B3 session (weekend, holiday), or lies beyond the next
    session after now, which B3 cannot have published yet."""

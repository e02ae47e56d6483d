"""The data contract's errors, one class per check; standard library only (the Glue job
raises :class:`UnreadableParquet` without importing the checks' pyarrow)."""

from __future__ import annotations


class ContractViolation(Exception):
    """Base class: the raw object breaks the data contract; nothing downstream may run."""


class NotARawObject(ContractViolation):
    pass


class UnreadableParquet(ContractViolation):
    pass


class SchemaMismatch(ContractViolation):
    pass


class MissingValues(ContractViolation):
    pass


class HeaderMismatch(ContractViolation):
    pass


class TooManyRows(ContractViolation):
    pass


class NotATradingDay(ContractViolation):
    """A day that is no B3 session, or beyond the next session after now."""

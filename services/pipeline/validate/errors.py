"""The data contract's errors, one class per check; standard library only (the Glue job
raises :class:`UnreadableParquet` without importing the checks' pyarrow)."""

from __future__ import annotations


class ContractViolation(Exception):
    """Base class: the raw object breaks the data contract; nothing downstream may run."""


class NotARawObject(ContractViolation): ...


class UnreadableParquet(ContractViolation): ...


class SchemaMismatch(ContractViolation): ...


class MissingValues(ContractViolation): ...


class HeaderMismatch(ContractViolation): ...


class TooManyRows(ContractViolation): ...


class TooLarge(ContractViolation): ...


class NotATradingDay(ContractViolation):
    """A day that is no B3 session, or beyond the next session after now."""

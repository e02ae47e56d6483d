"""Every error the ``bovespa`` command can end in, and its exit code: one table, one place.

A failing command prints ``error <Class>: <what and why>`` and exits with the code of the
error's class or its nearest listed ancestor, else 1. Classes are named, not imported, so
the table costs no import and is matched the way Step Functions matches errors.
"""

from __future__ import annotations

from typing import Final, NamedTuple


class BadArgument(ValueError):
    """An argument a person gave is not valid (an index code, a date, a parameter)."""


class ExitCode(NamedTuple):
    code: int


#: Error class name → exit code (what each means: docs/cli.md). Subclasses not listed take
#: their parent's code (``WeightTotalMismatch`` is a ``TotalsMismatch``: 6).
EXIT_CODES: Final[dict[str, ExitCode]] = {
    name: ExitCode(code)
    for name, code in {
        "BadArgument": 2, "UsageError": 2, "B3Unavailable": 3, "SchemaDrift": 4,
        "EmptyPortfolio": 5, "TotalsMismatch": 6, "NotATradingDay": 8, "TooManyPages": 9,
        "BodyTooLarge": 10, "B3Redirect": 11, "ContractViolation": 12, "TooManyRows": 13,
        "NoRawData": 14, "RefinedCheckFailed": 15, "QueryRefused": 16, "QueryFailed": 17,
        "SparkFailed": 18, "RenderError": 19, "PackageBuildFailed": 21, "RawObjectChanged": 22,
        "OutsideCalendar": 24,
    }.items()
}  # fmt: skip

#: Anything not in :data:`EXIT_CODES`: an unexpected failure.
UNEXPECTED: Final = 1


def exit_code(error: BaseException) -> int:
    """The exit code of ``error``: its class's, else its nearest listed ancestor's, else 1."""
    for kind in type(error).__mro__:
        if kind.__name__ in EXIT_CODES:
            return EXIT_CODES[kind.__name__].code
    return UNEXPECTED


def one_line(error: BaseException, limit: int = 500) -> str:
    """``<Class>: <first line of the message>``, at most ``limit`` characters."""
    text = str(error).strip()
    first = text.splitlines()[0] if text else ""
    line = f"{type(error).__name__}: {first}" if first else type(error).__name__
    return line if len(line) <= limit else line[: limit - 1] + "…"

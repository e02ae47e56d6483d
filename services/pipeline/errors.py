"""Every error the ``bovespa`` command can end in, and its exit code: one table, one place.

A command that fails prints one line on stderr (``error <Class>: <what and why>``) and
exits with the code of the error's class, or of the nearest class above it in this table;
anything not in it is unexpected and exits 1. The exit-code table of docs/cli.md is this one
(a test keeps them equal). Classes are named, not imported, so the table costs no import
(the Glue job's module loads Spark) and is matched the way Step Functions matches errors.
"""

from __future__ import annotations

from typing import Final, NamedTuple


class BadArgument(ValueError):
    """An argument a person gave is not valid (an index code, a date, a parameter)."""


class ExitCode(NamedTuple):
    code: int
    when: str


#: Error class name → exit code and when it happens. Subclasses not listed take their
#: parent's code (``WeightTotalMismatch`` is a ``TotalsMismatch``: 6).
EXIT_CODES: Final[dict[str, ExitCode]] = {
    "BadArgument": ExitCode(2, "bad arguments: an index code, a date, a query parameter"),
    "UsageError": ExitCode(2, "bad command line (unknown option, missing argument)"),
    "B3Unavailable": ExitCode(
        3,
        "no usable answer from B3 after every retry, or within the scrape's deadline: "
        "connection errors and cuts, timeouts, HTTP 429/5xx, a body that is not JSON; or a 4xx",
    ),
    "SchemaDrift": ExitCode(
        4,
        "an answer or a file that is not what B3 publishes: missing or renamed fields, "
        "numbers that are not pt-BR numbers or do not fit their type, negative weights or "
        "quantities, a ticker or index code not shaped like B3's, a body that is not UTF-8 "
        "JSON (Latin-1, a byte-order mark), the look-alike `indexStatisticsProxy` body",
    ),
    "EmptyPortfolio": ExitCode(5, "B3 published no assets (a holiday, or not out yet)"),
    "TotalsMismatch": ExitCode(
        6, "a reconciliation check failed; the message names it and gives the numbers"
    ),
    "PeriodMismatch": ExitCode(
        7,
        "a four-month period stated by B3 is not the cycle of the session "
        '(see "The portfolio ahead")',
    ),
    "NotATradingDay": ExitCode(
        8,
        "B3's header date is not a B3 session (the message names the holiday: "
        "`dt=2025-12-25 is not a B3 session: Natal`), or lies beyond the next session after "
        'now (see "B3\'s calendar")',
    ),
    "TooManyPages": ExitCode(
        9, "B3 claims more pages than `B3_MAX_PAGES`; no further page is requested"
    ),
    "BodyTooLarge": ExitCode(
        10, "a body past `B3_MAX_WIRE_BYTES` as received or `B3_MAX_BODY_BYTES` decoded"
    ),
    "B3Redirect": ExitCode(11, "B3 answered with a redirect (3xx); the line names its Location"),
    "ContractViolation": ExitCode(
        12, "a raw object breaks the data contract (Validate's checks; the class names which)"
    ),
    "TooManyRows": ExitCode(13, "a raw object holds more rows than `MAX_RAW_ROWS`"),
    "NoRawData": ExitCode(14, "the days asked for have no raw partition"),
    "RefinedCheckFailed": ExitCode(15, "refined rows do not reconcile with the raw rows"),
    "QueryRefused": ExitCode(
        16, "`bovespa query` SQL that is not one read-only statement, or touches files"
    ),
    "QueryFailed": ExitCode(17, "Athena ended the query FAILED or CANCELLED"),
    "SparkFailed": ExitCode(18, "the Glue job's Spark failed; the line gives Spark's own cause"),
    "PackagingError": ExitCode(
        20, "a Dockerfile, requirements file or pin is not what the packaging expects"
    ),
    "PackageBuildFailed": ExitCode(
        21, "a function's package could not be built (no package index, no wheel, a bad pin)"
    ),
    "RenderError": ExitCode(
        19, "the state machine template and the deployment's values do not match"
    ),
    "RawObjectChanged": ExitCode(
        22,
        "the raw object changed or vanished after Validate pinned it: nothing of it is "
        "refined (the new object's own execution refines it)",
    ),
    "NotValidated": ExitCode(
        23,
        "the Glue engine was asked to refine days without Validate's pins (`--objects`); "
        "`bovespa etl` validates each day itself",
    ),
    "OutsideCalendar": ExitCode(
        24,
        "a day outside the span of B3's generated calendar "
        "(`services/pipeline/b3/data/bvmf.json`): widen `scripts/make_calendar.py` and regenerate",
    ),
    "InjectedFault": ExitCode(
        25, "a fault injected with `BOVESPA_FAULT` (tests of a killed run; never in normal use)"
    ),
}

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

"""B3's trading calendar: which days are sessions, and the portfolio B3 may already serve.

One module answers every calendar question of the pipeline (validate, the scraper, the
Glue job's date features, the run summary). The calendar itself comes from a maintained
library, `exchange_calendars <https://pypi.org/project/exchange-calendars/>`_, calendar
``BVMF`` (B3): national holidays, Carnival Monday and Tuesday, Good Friday, Corpus
Christi, Christmas Eve, the last weekday of the year, São Paulo's municipal holidays
until B3 stopped closing on them (2022), Black Awareness Day from 2024, and one-off
closures. Ash Wednesday opens late and is a session.

No calendar is written here: the library is asked once per year (with a year's margin
either side) and the answers are kept as plain sorted dates, so the lookups are pure
Python after that.

B3 publishes a session's portfolio once the previous session has closed (a body dated
Monday 07/07/25 was fetched on Saturday 2025-07-05; one dated 20/06/25 on the evening of
the 2025-06-19 holiday), so the furthest-ahead portfolio that may exist at a moment is
that of the next session after São Paulo's today: :func:`latest_publishable_session`.
"""

from __future__ import annotations

import bisect
import os
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from services import settings

#: The library's name of B3's calendar (ISO 10383 MIC of B3's equities market, BVMF).
CALENDAR = "BVMF"
#: Where the calendar comes from, for messages and the README.
SOURCE = f"exchange_calendars {CALENDAR}"
SAO_PAULO = ZoneInfo(settings.B3_TIMEZONE)
#: Locale-independent weekday names (``strftime('%a')`` follows the machine's locale).
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
WEEKDAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
#: The name given to a one-off closure, which the library lists without a name.
ADHOC_CLOSURE = "exceptional closure"


@dataclass(frozen=True)
class _Block:
    """The sessions and the named closures of the years ``first.year`` to ``last.year``."""

    first: date
    last: date
    sessions: tuple[date, ...]
    session_set: frozenset[date]
    closures: dict[date, str]


@lru_cache(maxsize=32)
def _block(year: int) -> _Block:
    """B3's calendar of ``year``, with a year's margin on either side.

    The margin means the next or previous session of any day of ``year`` is in the same
    block. (A short span keeps the library's work, and a cold start, small.)
    """
    import exchange_calendars  # pandas underneath: loaded on first use only

    first, last = date(year - 1, 1, 1), date(year + 1, 12, 31)
    calendar = exchange_calendars.get_calendar(
        CALENDAR, start=first.isoformat(), end=last.isoformat()
    )
    sessions = tuple(ts.date() for ts in calendar.sessions)
    named = calendar.regular_holidays.holidays(
        start=first.isoformat(), end=last.isoformat(), return_name=True
    )
    closures = {ts.date(): str(name) for ts, name in named.items()}
    for ts in calendar.adhoc_holidays:
        if first <= ts.date() <= last:
            closures.setdefault(ts.date(), ADHOC_CLOSURE)
    return _Block(first, last, sessions, frozenset(sessions), closures)


def _block_of(day: date) -> _Block:
    return _block(day.year)


def is_session(day: date) -> bool:
    """Whether B3 holds a trading session on ``day`` (a late opening counts)."""
    return day in _block_of(day).session_set


def holiday_name(day: date) -> str | None:
    """The name of B3's closure on ``day`` (``"Natal"``), or None for a session or a plain
    weekend day. A holiday that falls on a weekend keeps its name."""
    if is_session(day):
        return None
    return _block_of(day).closures.get(day)


def next_session(day: date) -> date:
    """The first session strictly after ``day``."""
    sessions = _block_of(day).sessions
    return sessions[bisect.bisect_right(sessions, day)]


def previous_session(day: date) -> date:
    """The last session strictly before ``day``."""
    sessions = _block_of(day).sessions
    return sessions[bisect.bisect_left(sessions, day) - 1]


def first_session_of_month(year: int, month: int) -> date:
    """The first session of ``year``-``month`` (2025-01 → 2025-01-02: the 1st is a holiday)."""
    return next_session(date(year, month, 1) - timedelta(days=1))


def sessions_between(first: date, last: date) -> list[date]:
    """Every session from ``first`` to ``last``, both included, oldest first."""
    found: list[date] = []
    for year in range(first.year, last.year + 1):
        sessions = _block(year).sessions
        low, high = max(first, date(year, 1, 1)), min(last, date(year, 12, 31))
        found += sessions[bisect.bisect_left(sessions, low) : bisect.bisect_right(sessions, high)]
    return found


def count_sessions(after: date, through: date) -> int:
    """How many sessions fall after ``after`` and on or before ``through`` (0 if none)."""
    if through <= after:
        return 0
    return len(sessions_between(after + timedelta(days=1), through))


def to_sao_paulo(moment: datetime) -> datetime:
    """``moment`` on São Paulo's clock; a naive datetime is refused (it names no instant)."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{moment.isoformat()} has no time zone: the calendar needs an instant")
    return moment.astimezone(SAO_PAULO)


def latest_publishable_session(now: datetime) -> date:
    """The next session after São Paulo's today: the furthest-ahead portfolio B3 may serve.

    Wednesday evening: Thursday. Saturday, or a holiday evening: the next session.
    """
    return next_session(to_sao_paulo(now).date())


def now() -> datetime:
    """The current instant, on São Paulo's clock.

    ``BOVESPA_NOW`` (an ISO 8601 instant with its offset, ``2026-11-25T20:30:00-03:00``)
    stands in for the clock where it is set: the local deployment sets it on the functions
    when a test freezes time. Nothing on AWS sets it.
    """
    frozen = os.environ.get(settings.CLOCK_ENV)
    if not frozen:
        return datetime.now(SAO_PAULO)
    try:
        moment = datetime.fromisoformat(frozen)
    except ValueError:
        raise ValueError(f"{settings.CLOCK_ENV}={frozen!r} is not an ISO 8601 instant") from None
    return to_sao_paulo(moment)


def session_label(day: date) -> str:
    """``"Thu 2026-11-26"``: the day with its weekday, whatever the machine's locale."""
    return f"{WEEKDAYS[day.weekday()]} {day.isoformat()}"


def portfolio_label(day: date) -> str:
    """``"portfolio for the session of Thu 2026-11-26"`` (run summary, report)."""
    return f"portfolio for the session of {session_label(day)}"

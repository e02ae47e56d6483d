"""B3's trading calendar: which days are sessions, and the portfolio B3 may already serve.

One module answers every calendar question of the pipeline (validate, the scraper, the
Glue job's date features, the run summary). The calendar itself is the one the maintained
`exchange_calendars <https://pypi.org/project/exchange-calendars/>`_ library states for
B3 (``BVMF``): national holidays, Carnival Monday and Tuesday, Good Friday, Corpus
Christi, Christmas Eve, the last weekday of the year, São Paulo's municipal holidays until
B3 stopped closing on them (2022), Black Awareness Day from 2024, and one-off closures.
Ash Wednesday opens late and is a session.

Nothing is written by hand: ``data/bvmf.json`` (B3's closures, one a line) is generated from
the library by ``python scripts/make_calendar.py``, and a unit test keeps it equal to the
library's answer, session for session. The functions and the Glue job read that file, so
they need neither the library nor pandas.

B3 publishes a session's portfolio once the previous session has closed (a body dated
Monday 07/07/25 was fetched on Saturday 2025-07-05; one dated 20/06/25 on the evening of
the 2025-06-19 holiday), so the furthest-ahead portfolio that may exist at a moment is
that of the next session after São Paulo's today: :func:`latest_publishable_session`.
"""

from __future__ import annotations

import json
import os
from datetime import date, datetime, timedelta
from functools import cache
from importlib.resources import files
from zoneinfo import ZoneInfo

from services.pipeline import settings

SAO_PAULO = ZoneInfo(settings.B3_TIMEZONE)
#: Locale-independent weekday names (``strftime('%a')`` follows the machine's locale).
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
WEEKDAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_DAY = timedelta(days=1)


class OutsideCalendar(ValueError):
    """A day outside the span of the generated calendar table."""


@cache
def _table() -> tuple[date, date, dict[date, str]]:
    """The first and last day of ``data/bvmf.json`` and its closures by day."""
    text = (files("services.pipeline.b3") / "data" / "bvmf.json").read_text(encoding="utf-8")
    table = json.loads(text)
    closures = {date.fromisoformat(day): name for day, name in table["closures"].items()}
    return date.fromisoformat(table["first_day"]), date.fromisoformat(table["last_day"]), closures


def is_session(day: date) -> bool:
    """Whether B3 holds a trading session on ``day`` (a late opening counts)."""
    first, last, closures = _table()
    if not first <= day <= last:
        raise OutsideCalendar(
            f"{day} is outside B3's calendar as generated ({first} to {last}): "
            "widen scripts/make_calendar.py and regenerate"
        )
    return day.weekday() < 5 and day not in closures


def holiday_name(day: date) -> str | None:
    """The name of B3's closure on ``day`` (``"Natal"``), or None for a session or a plain
    weekend day. A holiday that falls on a weekend keeps its name."""
    if is_session(day):
        return None
    return _table()[2].get(day)


def next_session(day: date) -> date:
    """The first session strictly after ``day``."""
    day += _DAY
    while not is_session(day):
        day += _DAY
    return day


def previous_session(day: date) -> date:
    """The last session strictly before ``day``."""
    day -= _DAY
    while not is_session(day):
        day -= _DAY
    return day


def first_session_of_month(year: int, month: int) -> date:
    """The first session of ``year``-``month`` (2025-01 → 2025-01-02: the 1st is a holiday)."""
    return next_session(date(year, month, 1) - _DAY)


def sessions_between(first: date, last: date) -> list[date]:
    """Every session from ``first`` to ``last``, both included, oldest first."""
    days = (first + timedelta(days=n) for n in range((last - first).days + 1))
    return [day for day in days if is_session(day)]


def count_sessions(after: date, through: date) -> int:
    """How many sessions fall after ``after`` and on or before ``through`` (0 if none)."""
    if through <= after:
        return 0
    return len(sessions_between(after + _DAY, through))


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

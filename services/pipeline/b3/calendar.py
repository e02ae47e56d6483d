"""B3's trading calendar: which days are sessions, and the portfolio B3 may already serve.

The closures are ``data/bvmf.json``, generated from the exchange_calendars library (``BVMF``)
by ``scripts/make_calendar.py``, so the functions and the Glue job need neither it nor pandas.
B3 serves a session's portfolio from the previous session's close until its own close
(:func:`served_sessions`).
"""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from functools import cache
from importlib.resources import files
from zoneinfo import ZoneInfo

from services.pipeline import settings

SAO_PAULO = ZoneInfo(settings.B3_TIMEZONE)
#: Locale-independent weekday names (``strftime('%a')`` follows the machine's locale).
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_DAY = timedelta(days=1)


class OutsideCalendar(ValueError):
    """A day outside the span of the generated calendar table."""


@cache
def _table() -> tuple[date, date, dict[date, str]]:
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
    """The name of B3's closure on ``day`` (``"Natal"``, kept on a weekend), or None."""
    return None if is_session(day) else _table()[2].get(day)


def next_session(day: date, step: timedelta = _DAY) -> date:
    """The first session strictly after ``day`` (before it, with a negative ``step``)."""
    day += step
    while not is_session(day):
        day += step
    return day


def previous_session(day: date) -> date:
    return next_session(day, -_DAY)


def first_session_of_month(year: int, month: int) -> date:
    """The first session of ``year``-``month`` (2025-01 → 2025-01-02: the 1st is a holiday)."""
    return next_session(date(year, month, 1) - _DAY)


def sessions_between(first: date, last: date) -> list[date]:
    """Every session from ``first`` to ``last``, both included, oldest first."""
    days = (first + timedelta(days=n) for n in range((last - first).days + 1))
    return [day for day in days if is_session(day)]


def count_sessions(after: date, through: date) -> int:
    """How many sessions fall after ``after`` and on or before ``through`` (0 if none)."""
    return len(sessions_between(after + _DAY, through))


def to_sao_paulo(moment: datetime) -> datetime:
    """``moment`` on São Paulo's clock; a naive datetime is refused (it names no instant)."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{moment.isoformat()} has no time zone: the calendar needs an instant")
    return moment.astimezone(SAO_PAULO)


def served_sessions(now: datetime) -> tuple[date, date]:
    """The oldest and latest session whose portfolio B3 may serve at ``now``: São Paulo's
    today until its close, the next session after it from then (B3 switches at an hour of
    its own, so a session day accepts both). Saturday, or a holiday: the next session only."""
    today = to_sao_paulo(now).date()
    latest = next_session(today)
    return (today if is_session(today) else latest), latest


def now() -> datetime:
    return datetime.now(SAO_PAULO)


def session_label(day: date) -> str:
    """``"Thu 2026-11-26"``: the day with its weekday, whatever the machine's locale."""
    return f"{WEEKDAYS[day.weekday()][:3]} {day.isoformat()}"


def portfolio_label(day: date) -> str:
    """``"portfolio for the session of Thu 2026-11-26"`` (run summary, report)."""
    return f"portfolio for the session of {session_label(day)}"

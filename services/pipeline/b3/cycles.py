"""B3's four-month rebalance cycles (Jan.-Apr., May-Aug., Sep.-Dec.), as pure arithmetic.

B3 recomposes its indices three times a year; a new theoretical portfolio takes effect on
the first session of January, May and September and holds until the next one. A cycle is
named by its year and first month, ``2025-01`` for Jan.-Apr. 2025. Which cycle contains a
day needs only the day's month, never a holiday list: the cycle of a session is the cycle
of its calendar month. (The first *session* of a cycle needs B3's calendar:
``services.pipeline.b3.calendar.first_session_of_month(cycle.year, cycle.first_month)``.)

B3's downloads state the period in their title line: ``IBOV - Carteira Jan. a Abr. 2025``
for the theoretical portfolio, ``... para JANEIRO a ABRIL de 2024`` for a preview;
:func:`stated_cycle` reads either, and :func:`check_cycle` holds it to the derived one.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date

from services.pipeline.b3.errors import PeriodMismatch

#: The first month of each cycle.
FIRST_MONTHS = (1, 5, 9)
#: Months per cycle.
LENGTH = 4

_MONTH_NAMES = (
    "janeiro", "fevereiro", "marco", "abril", "maio", "junho",
    "julho", "agosto", "setembro", "outubro", "novembro", "dezembro",
)  # fmt: skip
_ABBREVIATIONS = tuple(name[:3] for name in _MONTH_NAMES)  # jan, fev, mar, ...
_MONTH = {name: number for number, name in enumerate(_MONTH_NAMES, start=1)} | {
    abbreviation: number for number, abbreviation in enumerate(_ABBREVIATIONS, start=1)
}
_PERIOD = re.compile(r"\b([a-z]+)\.?\s+a\s+([a-z]+)\.?\s+(?:de\s+)?(\d{4})\b")


@dataclass(frozen=True)
class Cycle:
    """One four-month cycle: ``Cycle(2025, 1)`` is Jan.-Apr. 2025."""

    year: int
    first_month: int

    def __post_init__(self) -> None:
        if self.first_month not in FIRST_MONTHS:
            raise ValueError(
                f"a cycle starts in January, May or September, not in month {self.first_month}"
            )

    @property
    def label(self) -> str:
        """``2025-01``: year and first month, how the lake names the cycle."""
        return f"{self.year:04d}-{self.first_month:02d}"

    @property
    def last_month(self) -> int:
        """The cycle's last month: the month in which B3 publishes the next cycle's previews."""
        return self.first_month + LENGTH - 1

    def next(self) -> Cycle:
        """The cycle after this one (Sep.-Dec. 2024 is followed by Jan.-Apr. 2025)."""
        if self.first_month == FIRST_MONTHS[-1]:
            return Cycle(self.year + 1, FIRST_MONTHS[0])
        return Cycle(self.year, self.first_month + LENGTH)

    def __str__(self) -> str:
        first, last = _ABBREVIATIONS[self.first_month - 1], _ABBREVIATIONS[self.last_month - 1]
        return f"{first.title()}.-{last.title()}. {self.year} ({self.label})"


def cycle_of(day: date) -> Cycle:
    """The cycle whose months contain ``day``."""
    return Cycle(day.year, FIRST_MONTHS[(day.month - 1) // LENGTH])


def stated_cycle(title: str) -> Cycle:
    """The cycle a B3 title states: ``IBOV - Carteira Jan. a Abr. 2025`` is ``2025-01``.

    Accepts B3's abbreviations (``Jan. a Abr. 2025``) and full month names, accented or
    not, any case (``JANEIRO a ABRIL de 2024``). Raises :class:`PeriodMismatch` when the
    title states no period or one that is not a cycle.
    """
    plain = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode().lower()
    periods = [
        (_MONTH[m[1]], _MONTH[m[2]], int(m[3]))
        for m in _PERIOD.finditer(plain)
        if m[1] in _MONTH and m[2] in _MONTH
    ]
    if not periods:
        raise PeriodMismatch(f"{title!r} states no period (expected e.g. 'Jan. a Abr. 2025')")
    first, last, year = periods[0]
    if first not in FIRST_MONTHS or last != first + LENGTH - 1:
        raise PeriodMismatch(f"{title!r} states a period that is not a B3 cycle")
    return Cycle(year, first)


def check_cycle(derived: Cycle, stated: Cycle, *, what: str) -> None:
    """Raise :class:`PeriodMismatch` unless ``stated`` (by B3) is ``derived`` (by us)."""
    if stated != derived:
        raise PeriodMismatch(
            f"{what}: B3 states the period {stated}, the session it was fetched for is in {derived}"
        )

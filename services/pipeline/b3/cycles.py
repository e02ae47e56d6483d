"""B3's four-month rebalance cycles (Jan.-Apr., May-Aug., Sep.-Dec.), as pure arithmetic.

A new theoretical portfolio takes effect on the first session of January, May and September;
a cycle is named by its year and first month (``2025-01``). The cycle of a day needs only
its month, never a holiday list.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

FIRST_MONTHS, LENGTH = (1, 5, 9), 4  # of each cycle, and its months
_ABBREVIATIONS = (
    "jan", "fev", "mar", "abr", "mai", "jun", "jul", "ago", "set", "out", "nov", "dez",
)  # fmt: skip


@dataclass(frozen=True)
class Cycle:
    """One four-month cycle: ``Cycle(2025, 1)`` is Jan.-Apr. 2025."""

    year: int
    first_month: int

    @property
    def label(self) -> str:
        """``2025-01``: year and first month, how the lake names the cycle."""
        return f"{self.year:04d}-{self.first_month:02d}"

    @property
    def last_month(self) -> int:
        """The month in which B3 publishes the next cycle's previews."""
        return self.first_month + LENGTH - 1

    def next(self) -> Cycle:
        return cycle_of(date(self.year, self.last_month, 1) + timedelta(days=31))

    def __str__(self) -> str:
        first, last = _ABBREVIATIONS[self.first_month - 1], _ABBREVIATIONS[self.last_month - 1]
        return f"{first.title()}.-{last.title()}. {self.year} ({self.label})"


def cycle_of(day: date) -> Cycle:
    return Cycle(day.year, FIRST_MONTHS[(day.month - 1) // LENGTH])

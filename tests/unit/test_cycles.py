"""B3's four-month cycles: which cycle a session is in."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.pipeline.b3.cycles import Cycle, cycle_of


@pytest.mark.parametrize(
    ("day", "label"),
    [
        (date(2025, 1, 2), "2025-01"),  # the first session of 2025
        (date(2025, 4, 30), "2025-01"),  # the last session of Jan.-Apr.
        (date(2025, 5, 2), "2025-05"),
        (date(2025, 9, 1), "2025-09"),
        (date(2022, 12, 8), "2022-09"),  # the real 2022 recordings
    ],
)
def test_the_cycle_of_known_days(day: date, label: str) -> None:
    assert cycle_of(day).label == label


def test_cycle_arithmetic_across_a_year() -> None:
    assert Cycle(2024, 9).next() == Cycle(2025, 1)
    assert str(Cycle(2025, 1)) == "Jan.-Abr. 2025 (2025-01)"


@given(st.dates(min_value=date(1990, 1, 1), max_value=date(2100, 12, 31)))
def test_every_day_is_in_exactly_its_cycle(day: date) -> None:
    cycle = cycle_of(day)
    assert (cycle.year, cycle.first_month <= day.month <= cycle.last_month) == (day.year, True)
    assert cycle.next().first_month == cycle.last_month % 12 + 1

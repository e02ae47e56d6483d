"""B3's four-month cycles: which cycle a session is in, and what B3's titles state."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.pipeline.b3.cycles import Cycle, cycle_of, stated_cycle
from services.pipeline.b3.errors import PeriodMismatch


@pytest.mark.parametrize(
    ("day", "label"),
    [
        (date(2025, 1, 2), "2025-01"),  # the first session of 2025
        (date(2025, 4, 30), "2025-01"),  # the last session of Jan.-Apr.
        (date(2025, 5, 2), "2025-05"),  # the first session of May-Aug. (May 1 is a holiday)
        (date(2025, 7, 10), "2025-05"),  # the demo day
        (date(2025, 8, 29), "2025-05"),
        (date(2025, 9, 1), "2025-09"),
        (date(2022, 12, 8), "2022-09"),  # the real 2022 recordings
        (date(2022, 12, 12), "2022-09"),
        (date(2024, 12, 31), "2024-09"),
    ],
)
def test_the_cycle_of_known_days(day: date, label: str) -> None:
    assert cycle_of(day).label == label


def test_cycle_arithmetic_across_a_year() -> None:
    assert Cycle(2024, 9).next() == Cycle(2025, 1)
    assert Cycle(2024, 9).last_month == 12
    assert str(Cycle(2025, 1)) == "Jan.-Abr. 2025 (2025-01)"
    with pytest.raises(ValueError, match="January, May or September"):
        Cycle(2025, 2)


@pytest.mark.parametrize(
    ("title", "label"),
    [
        ("IBOV - Carteira Set. a Dez. 2022", "2022-09"),
        ("SMLL - Carteira Mai. a Ago. 2025", "2025-05"),
        # a preview download's title, as the press quotes it
        ("2 Previa do IBOVESPA com o PREGAO de 15/12/2023 para JANEIRO a ABRIL de 2024", "2024-01"),
        ("Prévia para maio a agosto de 2025", "2025-05"),
    ],
)
def test_titles_of_each_form(title: str, label: str) -> None:
    assert stated_cycle(title).label == label


@pytest.mark.parametrize(
    "title", ["IBOV - Carteira do Dia 10/07/25", "Fev. a Mai. 2025", "Jan. a Dez. 2025", ""]
)
def test_a_title_that_states_no_cycle_is_refused(title: str) -> None:
    with pytest.raises(PeriodMismatch):
        stated_cycle(title)


@given(st.dates(min_value=date(1990, 1, 1), max_value=date(2100, 12, 31)))
def test_every_day_is_in_exactly_its_cycle(day: date) -> None:
    cycle = cycle_of(day)
    assert (cycle.year, cycle.first_month <= day.month <= cycle.last_month) == (day.year, True)
    assert cycle.label == f"{day.year}-{cycle.first_month:02d}"
    following = cycle.next()
    assert following.first_month == cycle.last_month % 12 + 1
    first, last = str(cycle).split(" ")[0].split("-")  # "Jan.-Abr."
    assert stated_cycle(f"IBOV - Carteira {first} a {last} {cycle.year}") == cycle

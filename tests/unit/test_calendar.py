"""B3's trading calendar, asserted on days whose status B3 has published."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path

import pytest

from infra.etl import package_zip
from scripts import make_calendar
from services.pipeline.b3 import calendar


def test_the_generated_table_is_the_librarys_calendar() -> None:
    """data/bvmf.json is exactly what the pinned exchange-calendars says (regenerate if not)."""
    assert make_calendar.TARGET.read_text(encoding="utf-8") == make_calendar.render()
    first, last = make_calendar.FIRST_DAY, make_calendar.LAST_DAY
    assert calendar.sessions_between(first, last) == make_calendar.sessions(first, last)


def test_a_day_outside_the_table_is_refused() -> None:
    with pytest.raises(calendar.OutsideCalendar, match="1999-12-31 is outside B3's calendar"):
        calendar.is_session(date(1999, 12, 31))
    with pytest.raises(calendar.OutsideCalendar, match="2041-01-01 is outside B3's calendar"):
        calendar.next_session(date(2040, 12, 31))


def test_the_glue_job_reads_the_table_from_its_zip(tmp_path: Path) -> None:
    """The job imports the calendar from its ``--extra-py-files`` zip: the table is in it."""
    (package := tmp_path / "bovespa.zip").write_bytes(package_zip())
    script = (
        f"import sys; sys.path.insert(0, {str(package)!r}); from datetime import date; "
        "from services.pipeline.b3 import calendar, indices; "
        "print(calendar.__file__, calendar.holiday_name(date(2025, 12, 25)), len(indices.INDICES))"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True, check=True
    )
    assert done.stdout.split() == [f"{package}/services/pipeline/b3/calendar.py", "Natal", "34"]


@pytest.mark.parametrize(
    ("day", "name"),
    [
        (date(2025, 1, 1), "Dia da Confraternizacao Universal"),
        (date(2025, 3, 3), "Carnaval Segunda"),
        (date(2025, 3, 4), "Carnaval Terca"),
        (date(2025, 4, 18), "Good Friday"),
        (date(2025, 6, 19), "Corpus Christi"),
        (date(2024, 11, 20), "Dia Nacional de Zumbi e da Consciencia Negra"),  # national, 2024
        (date(2025, 12, 24), "Vespera Natal"),
        (date(2025, 12, 25), "Natal"),
        (date(2025, 12, 31), "Ano Novo"),  # B3 closes on the year's last weekday
        (date(2022, 12, 30), "Ano Novo"),  # ... a Friday, when December 31 is a Saturday
        (date(2021, 1, 25), "Aniversario de Sao Paulo"),  # São Paulo's holidays until 2021
        (date(2014, 6, 12), "exceptional closure"),  # the World Cup's opening match
        # sessions, no holiday name:
        (date(2025, 3, 5), None),  # Ash Wednesday: B3 opens at 13:00, a session
        (date(2023, 1, 25), None),  # São Paulo's anniversary: B3 has opened since 2022
        (date(2025, 7, 9), None),  # São Paulo's Constitutionalist Revolution: likewise
        (date(2023, 11, 20), None),  # Black Awareness Day before it became national
        (date(2025, 7, 10), None),
    ],
)
def test_b3_closes_on_its_holidays_and_names_them(day: date, name: str | None) -> None:
    assert calendar.is_session(day) == (name is None)
    assert calendar.holiday_name(day) == name


def test_a_weekend_is_no_session_and_a_holiday_on_a_weekend_keeps_its_name() -> None:
    assert not calendar.is_session(date(2025, 7, 12))
    assert calendar.holiday_name(date(2025, 7, 12)) is None
    assert calendar.holiday_name(date(2025, 11, 15)) == "Proclamacao da Republica"  # Saturday


@pytest.mark.parametrize(
    ("step", "day", "expected"),
    [
        (calendar.next_session, date(2025, 7, 4), date(2025, 7, 7)),  # Friday → Monday
        (calendar.next_session, date(2025, 7, 7), date(2025, 7, 8)),  # strictly after
        (calendar.next_session, date(2025, 2, 28), date(2025, 3, 5)),  # over Carnival
        (calendar.next_session, date(2019, 12, 30), date(2020, 1, 2)),  # across years
        (calendar.previous_session, date(2026, 1, 2), date(2025, 12, 30)),
        (calendar.previous_session, date(2025, 7, 10), date(2025, 7, 9)),
    ],
)
def test_next_and_previous_sessions_step_over_closures(
    step: Callable[[date], date], day: date, expected: date
) -> None:
    assert step(day) == expected


@pytest.mark.parametrize(
    ("year", "month", "first"),
    [(2025, 1, date(2025, 1, 2)), (2025, 5, date(2025, 5, 2)), (2024, 9, date(2024, 9, 2))],
)  # January 1 and May 1 are holidays, 2024-09-01 a Sunday
def test_first_session_of_a_month(year: int, month: int, first: date) -> None:
    assert calendar.first_session_of_month(year, month) == first


def test_sessions_between_and_counts() -> None:
    assert calendar.sessions_between(date(2019, 12, 27), date(2020, 1, 3)) == [
        date(2019, 12, 27), date(2019, 12, 30), date(2020, 1, 2), date(2020, 1, 3)
    ]  # fmt: skip
    assert calendar.count_sessions(date(2024, 12, 30), date(2025, 1, 2)) == 1
    assert calendar.count_sessions(date(2025, 1, 2), date(2025, 3, 5)) == 42
    assert calendar.count_sessions(date(2025, 3, 6), date(2025, 3, 5)) == 0


@pytest.mark.parametrize(
    ("now", "oldest", "latest"),
    [
        # Wednesday evening, after the close: Thursday's portfolio may be out, or not yet
        ("2026-11-25T20:30:00-03:00", date(2026, 11, 25), date(2026, 11, 26)),
        # the same instant in UTC is still Wednesday in São Paulo
        ("2026-11-25T23:30:00+00:00", date(2026, 11, 25), date(2026, 11, 26)),
        # recordings: Monday's body fetched on a Saturday; Friday's on a holiday evening
        ("2025-07-05T12:00:00-03:00", date(2025, 7, 7), date(2025, 7, 7)),
        ("2025-06-19T20:00:00-03:00", date(2025, 6, 20), date(2025, 6, 20)),
        # Christmas Eve and New Year's Eve are closed
        ("2025-12-23T20:00:00-03:00", date(2025, 12, 23), date(2025, 12, 26)),
        ("2025-12-30T20:00:00-03:00", date(2025, 12, 30), date(2026, 1, 2)),
    ],
)
def test_served_sessions(now: str, oldest: date, latest: date) -> None:
    assert calendar.served_sessions(datetime.fromisoformat(now)) == (oldest, latest)


def test_a_naive_now_is_refused() -> None:
    with pytest.raises(ValueError, match="has no time zone"):
        calendar.served_sessions(datetime(2026, 11, 25, 20, 30))


def test_labels_name_the_session_in_english_whatever_the_locale() -> None:
    assert calendar.session_label(date(2026, 11, 26)) == "Thu 2026-11-26"
    label = calendar.portfolio_label(date(2025, 7, 7))
    assert label == "portfolio for the session of Mon 2025-07-07"

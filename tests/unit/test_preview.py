"""When B3 has a current preview: ``GetConfigurations``' flags and the preview weeks (no
answer is recorded: the bodies hold the part public callers read, ``tests/ahead.py``)."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import pytest

from services.pipeline.b3.errors import SchemaDrift
from services.pipeline.b3.preview import parse_configuration, why_not_current
from tests.ahead import configuration


def test_configuration_flags() -> None:
    assert parse_configuration(json.loads(configuration(0, 1))) == (0, 1)
    # fields the contract does not read are allowed (they are archived with the body)
    assert parse_configuration({"preview": [{"has": 1, "index": "IBOV"}], "x": 2}) == (1,)


@pytest.mark.parametrize(
    "document",
    [[{"has": 1}], {}, {"preview": []}, {"preview": {"has": 1}}, {"preview": [{"has": True}]},
     {"preview": [{"has": 2}]}, {"preview": [{"active": 1}]}, {"preview": [1]}],
)  # fmt: skip
def test_a_configuration_of_another_shape_is_refused(document: Any) -> None:
    with pytest.raises(SchemaDrift, match="GetConfigurations"):
        parse_configuration(document)


@pytest.mark.parametrize(
    ("has", "session", "reason"),
    [
        ((1,), date(2024, 12, 16), None),  # the 2nd preview of Jan.-Apr. 2025
        ((0, 1), date(2025, 4, 1), None),
        ((1,), date(2025, 8, 29), None),
        ((0, 0), date(2024, 12, 16), "flags no preview (preview[].has is [0, 0])"),
        ((1,), date(2025, 7, 10), "not in the preview weeks (the last month of Mai.-Ago. 2025"),
        ((1,), date(2025, 1, 2), "not in the preview weeks"),  # the new portfolio took effect
        ((1,), date(2025, 3, 31), "not in the preview weeks"),
        ((1,), date(2025, 9, 1), "not in the preview weeks"),
    ],
)
def test_a_preview_is_current_only_when_flagged_and_in_the_preview_weeks(
    has: tuple[int, ...], session: date, reason: str | None
) -> None:
    why = why_not_current(json.loads(configuration(*has)), session)
    assert why is None if reason is None else reason in str(why)

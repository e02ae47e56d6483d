"""The preview's strict contract, on bodies built from the theoretical portfolio's recordings.

No ``GetQuartelyPreview`` or ``GetConfigurations`` answer is recorded anywhere: the
preview bodies here are theoretical-portfolio recordings served as a preview
(``tests/ahead.py``), and the configuration bodies hold only the part public callers read.
The preview is unverified against a live answer.
"""

from __future__ import annotations

import copy
import json
from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from services.pipeline.b3.errors import SchemaDrift
from services.pipeline.b3.preview import (
    CALL,
    Configuration,
    parse_configuration,
    parse_preview_page,
    why_not_current,
)
from services.pipeline.b3.theoretical import assemble_quarter
from tests.ahead import THEORETICAL_2022, THEORETICAL_2025_01, configuration, preview_body
from tests.recordings import SEGMENT2_2022_12_08, load, pt_br


@pytest.mark.parametrize("cont", [False, True])
def test_a_preview_with_the_theoretical_shape_parses_exactly(cont: bool) -> None:
    document = json.loads(preview_body(THEORETICAL_2025_01, cont=cont))
    body = assemble_quarter([parse_preview_page(document)], call=CALL)
    assert len(body.rows) == 87
    for row, raw in zip(body.rows, document["results"], strict=True):
        assert (row.cod, row.part, row.theoretical_qty) == (
            raw["cod"],
            pt_br(raw["part"]),
            pt_br(raw["theoricalQty"]),
        )
        assert row.cont == (raw["cont"] if cont else None)
    assert body.header.theoretical_qty == 98_370_249_996
    assert body.header.part == Decimal("100.000")


def changed(change: Any) -> Any:
    document = copy.deepcopy(json.loads(preview_body(THEORETICAL_2022)))
    change(document)
    return document


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d["header"].update(date="16/12/24"), "'header' has unknown 'date'"),
        (lambda d: d["header"].update(title="2a Previa"), "'header' has unknown 'title'"),
        (lambda d: d.update(preview=1), "has unknown 'preview'"),
        (lambda d: d["results"][0].update(segment="X"), "fields asset, cod, part, segment"),
        (lambda d: d["results"][0].pop("part"), "fields asset, cod, theoricalQty, type;"),
        (lambda d: d["results"][0].update(cont=1), "lack 'cont'"),
        (lambda d: d.pop("page"), "lacks 'page'"),
    ],
)
def test_an_unknown_shape_is_refused(change: Any, message: str) -> None:
    with pytest.raises(SchemaDrift, match=message):
        assemble_quarter([parse_preview_page(changed(change))], call=CALL)


def test_the_days_portfolio_served_as_a_preview_is_refused() -> None:
    with pytest.raises(SchemaDrift, match="'header' has unknown 'date', 'partAcum'"):
        parse_preview_page(load(SEGMENT2_2022_12_08))


def test_configuration_flags() -> None:
    assert parse_configuration(json.loads(configuration(1))) == Configuration((1,))
    assert parse_configuration(json.loads(configuration(0, 1))).preview_published
    assert not parse_configuration(json.loads(configuration(0, 0))).preview_published
    # fields the contract does not read are allowed (they are archived with the body)
    assert parse_configuration({"preview": [{"has": 1, "index": "IBOV"}], "x": 2}).has == (1,)


@pytest.mark.parametrize(
    "document",
    [
        [],
        {},
        {"preview": []},
        {"preview": {"has": 1}},
        {"preview": [{"has": "1"}]},
        {"preview": [{"has": True}]},
        {"preview": [{"has": 1.0}]},
        {"preview": [{"has": 2}]},
        {"preview": [{"active": 1}]},
        {"preview": [1]},
    ],
)
def test_a_configuration_of_another_shape_is_refused(document: Any) -> None:
    with pytest.raises(SchemaDrift, match="GetConfigurations"):
        parse_configuration(document)


@pytest.mark.parametrize(
    ("has", "session", "reason"),
    [
        ((1,), date(2024, 12, 16), None),  # the 2nd preview of Jan.-Apr. 2025
        ((0, 1), date(2025, 4, 1), None),
        ((1,), date(2025, 8, 29), None),
        ((0,), date(2024, 12, 16), "flags no preview"),
        ((1,), date(2025, 7, 10), "not in the preview weeks (the last month of Mai.-Ago. 2025"),
        ((1,), date(2025, 1, 2), "not in the preview weeks"),  # the new portfolio took effect
    ],
)
def test_a_preview_is_current_only_when_flagged_and_in_the_preview_weeks(
    has: tuple[int, ...], session: date, reason: str | None
) -> None:
    why = why_not_current(Configuration(has), session)
    if reason is None:
        assert why is None
    else:
        assert why is not None
        assert reason in why

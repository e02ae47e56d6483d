"""The theoretical portfolio's contract on both recordings: exact values, totals, period."""

from __future__ import annotations

import copy
import json
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest

from services.pipeline.b3.codes import is_ticker
from services.pipeline.b3.cycles import Cycle, stated_cycle
from services.pipeline.b3.errors import (
    DuplicateTickers,
    EmptyPortfolio,
    PeriodMismatch,
    QuantityTotalMismatch,
    RowCountMismatch,
    SchemaDrift,
    WeightTotalMismatch,
)
from services.pipeline.b3.portfolio import PageSource, parse_page
from services.pipeline.b3.theoretical import (
    CALL,
    QuarterBody,
    TheoreticalPortfolio,
    assemble_quarter,
    assemble_theoretical,
    parse_theoretical_page,
)
from tests.ahead import THEORETICAL_2022, THEORETICAL_2025_01, quad_csv
from tests.recordings import LOOK_ALIKE, SEGMENT2_2022_12_08, SEGMENT2_2025_07_10, load, pt_br


def body_of(document: Any) -> QuarterBody:
    return assemble_quarter([parse_theoretical_page(document)], call=CALL)


def portfolio_for(
    session: date, document: Any, stated: Cycle | None = None
) -> TheoreticalPortfolio:
    source = PageSource(1, "http://b3/GetTheoricalPortfolio/x", json.dumps(document).encode())
    return assemble_theoretical(
        "IBOV",
        session,
        [parse_theoretical_page(document)],
        [source],
        PageSource(1, "http://b3/GetPortfolioDay/x", b"{}"),
        datetime(2025, 1, 1, tzinfo=UTC),
        stated=stated,
    )


def test_the_real_2022_body_parses_exactly() -> None:
    recorded = load(THEORETICAL_2022)
    body = body_of(recorded)
    assert body.total_records == len(body.rows) == 92
    for row, raw in zip(body.rows, recorded["results"], strict=True):
        assert (row.cod, row.asset, row.type_raw) == (raw["cod"], raw["asset"], raw["type"])
        assert row.type_normalized == " ".join(raw["type"].split())
        assert row.part == pt_br(raw["part"])
        assert row.theoretical_qty == pt_br(raw["theoricalQty"])
        assert row.cont == raw["cont"]
    assert body.header.theoretical_qty == 99_273_271_525 == pt_br("99.273.271.525")
    assert body.header.part == Decimal("100.000")
    assert body.header.reductor == Decimal("18842281.23696071")
    assert sum(row.theoretical_qty for row in body.rows) == body.header.theoretical_qty
    assert sum(row.part for row in body.rows) == Decimal("100.000")
    # cont is the row's rank by company, then ticker
    ranked = sorted(body.rows, key=lambda row: (row.asset, row.cod))
    assert [row.cont for row in ranked] == list(range(1, 93))


def test_the_2025_body_parses_exactly_against_the_recorded_csv() -> None:
    body = body_of(load(THEORETICAL_2025_01))
    recorded = quad_csv()
    assert len(body.rows) == len(recorded["rows"]) == 87
    for row, raw in zip(body.rows, recorded["rows"], strict=True):
        assert (row.cod, row.asset, row.type_raw) == (raw["cod"], raw["asset"], raw["type"])
        assert row.part == pt_br(raw["part"])
        assert row.theoretical_qty == pt_br(raw["qty"])
    assert body.header.theoretical_qty == pt_br(recorded["total_qty"]) == 98_370_249_996
    assert body.header.part == pt_br(recorded["total_part"]) == Decimal("100.000")
    assert body.header.reductor == pt_br(recorded["reductor"])
    assert sum(row.theoretical_qty for row in body.rows) == 98_370_249_996
    # B3's 87 rounded weights miss 100.000 by 0.001: within 87 x 0.0005
    assert sum(row.part for row in body.rows) == Decimal("99.999")


@pytest.mark.parametrize(
    ("session", "label"),
    [
        (date(2022, 12, 8), "2022-09"),
        (date(2022, 12, 12), "2022-09"),  # the session B3 served on Saturday 2022-12-10
        (date(2025, 1, 2), "2025-01"),
        (date(2025, 4, 30), "2025-01"),
    ],
)
def test_the_period_is_the_cycle_of_the_session(session: date, label: str) -> None:
    assert portfolio_for(session, load(THEORETICAL_2022)).cycle.label == label


def test_a_stated_period_must_be_the_sessions_cycle() -> None:
    stated = stated_cycle(quad_csv()["title"])
    document = load(THEORETICAL_2025_01)
    assert portfolio_for(date(2025, 2, 14), document, stated).cycle == Cycle(2025, 1)
    with pytest.raises(PeriodMismatch, match="states the period Jan.-Abr. 2025"):
        portfolio_for(date(2025, 5, 2), document, stated)


def changed(path: Any, change: Any) -> Any:
    document = copy.deepcopy(load(path))
    change(document)
    return document


@pytest.mark.parametrize(
    ("change", "error", "message"),
    [
        (lambda d: d["header"].update(date="10/12/22"), SchemaDrift, "has unknown 'date'"),
        (lambda d: d["header"].pop("reductor"), SchemaDrift, "lacks 'reductor'"),
        (lambda d: d.update(extra=1), SchemaDrift, "has unknown 'extra'"),
        (lambda d: d["results"][0].pop("cont"), SchemaDrift, "expected asset, cod, cont"),
        (lambda d: d["results"][0].update(segment="X"), SchemaDrift, "fields asset, cod, cont"),
        (lambda d: d["results"][0].update(cont=True), SchemaDrift, "not an integer"),
        (lambda d: d["results"][1].update(cont=3), SchemaDrift, "'cont' 3 appear"),
        (lambda d: d["results"][0].update(cod="../x"), SchemaDrift, "not a B3 ticker"),
        (lambda d: d["results"][0].update(part="3,2510"), SchemaDrift, "has 4 decimals"),
        (lambda d: d["results"][0].update(part=3.251), SchemaDrift, "not a pt-BR number"),
        (lambda d: d["results"][0].update(theoricalQty="-1"), SchemaDrift, "negative"),
        (
            lambda d: d["results"][0].update(theoricalQty="4.386.652.507"),
            QuantityTotalMismatch,
            "off by 1",
        ),
        (lambda d: d["results"][0].update(part="4,251"), WeightTotalMismatch, "101.000"),
        (lambda d: d["results"].append(d["results"][0]), RowCountMismatch, "got 93 rows"),
        (
            lambda d: d["results"].__setitem__(1, {**d["results"][0], "cont": 93}),
            DuplicateTickers,
            "ABEV3",
        ),
        (lambda d: d.update(results=[]), EmptyPortfolio, "no assets"),
    ],
)
def test_any_other_shape_or_totals_are_refused(change: Any, error: type, message: str) -> None:
    with pytest.raises(error, match=message):
        body_of(changed(THEORETICAL_2022, change))


def test_the_days_body_and_the_look_alike_are_not_a_theoretical_portfolio() -> None:
    with pytest.raises(SchemaDrift, match="'header' has unknown 'date'"):
        parse_theoretical_page(load(SEGMENT2_2022_12_08))
    with pytest.raises(SchemaDrift):
        parse_theoretical_page(load(LOOK_ALIKE))


def test_pages_must_agree_and_together_reconcile() -> None:
    recorded = load(THEORETICAL_2022)
    first, second = copy.deepcopy(recorded), copy.deepcopy(recorded)
    first["results"], second["results"] = recorded["results"][:50], recorded["results"][50:]
    second["page"]["pageNumber"] = 2
    pages = [parse_theoretical_page(first), parse_theoretical_page(second)]
    joined = assemble_quarter(pages, call=CALL)
    assert [(row.cod, row.page_number) for row in joined.rows] == [
        (raw["cod"], 1 if i < 50 else 2) for i, raw in enumerate(recorded["results"])
    ]
    assert joined.header == body_of(recorded).header
    second["header"]["reductor"] = "1,00000000"
    with pytest.raises(SchemaDrift, match="page 2 disagrees with page 1"):
        assemble_quarter([pages[0], parse_theoretical_page(second)], call=CALL)


@pytest.mark.parametrize(
    ("cycle", "first"),
    [
        (Cycle(2025, 1), date(2025, 1, 2)),  # January 1 is a holiday
        (Cycle(2026, 5), date(2026, 5, 4)),  # May 1 (holiday), then a weekend
        (Cycle(2026, 9), date(2026, 9, 1)),
    ],
)
def test_a_cycle_takes_effect_on_its_first_b3_session(cycle: Cycle, first: date) -> None:
    assert cycle.first_session == first


@pytest.mark.parametrize("cod", ["PETR4XYZ", "PETRO4", "1234AB", "ABCD", "PE/TR4", "petr4"])
def test_a_row_ticker_follows_the_one_ticker_rule_with_the_days_error(cod: str) -> None:
    # [A-Z0-9]{4,12}, the rule this module had of its own, took the first four
    theoretical = changed(THEORETICAL_2022, lambda d: d["results"][0].update(cod=f" {cod} "))
    day = changed(SEGMENT2_2025_07_10, lambda d: d["results"][0].update(cod=f" {cod} "))
    with pytest.raises(SchemaDrift) as refused:
        parse_theoretical_page(theoretical)
    with pytest.raises(SchemaDrift) as refused_by_day:
        parse_page(day)
    assert str(refused.value) == str(refused_by_day.value)
    assert str(refused.value).startswith(f"field 'results[0].cod': {cod!r} is not a B3 ticker (")


def test_every_recorded_theoretical_ticker_passes_the_one_rule() -> None:
    for recording in (THEORETICAL_2022, THEORETICAL_2025_01):
        rows = parse_theoretical_page(load(recording)).rows
        assert len(rows) > 80
        assert all(is_ticker(row.cod) for row in rows)

"""The four-month contracts (theoretical portfolio, preview) on the recordings: exact values
and every other shape refused (the totals' checks are the day's: ``test_portfolio.py``).
A preview body is a theoretical recording served as one (``tests/ahead.py``)."""

from __future__ import annotations

import copy
import json
from decimal import Decimal
from typing import Any

import pytest

from services.pipeline.b3 import preview, theoretical
from services.pipeline.b3.errors import SchemaDrift, WeightTotalMismatch
from services.pipeline.b3.portfolio import Contract, Totals, join, parse_totals_page
from tests.ahead import THEORETICAL_2022, THEORETICAL_2025_01, preview_body, quad_csv
from tests.recordings import LOOK_ALIKE, SEGMENT2_2022_12_08, load, pt_br

THEORETICAL, PREVIEW = theoretical.CONTRACT, preview.CONTRACT


def joined(document: Any, contract: Contract = THEORETICAL) -> Any:
    return join([parse_totals_page(document, contract)])


def test_the_2025_body_parses_exactly_against_the_recorded_csv() -> None:
    header, total_records, rows = joined(load(THEORETICAL_2025_01))
    recorded = quad_csv()
    assert total_records == len(rows) == len(recorded["rows"]) == 87
    for row, raw in zip(rows, recorded["rows"], strict=True):
        assert (row.cod, row.asset, row.type_raw) == (raw["cod"], raw["asset"], raw["type"])
        assert row.part == pt_br(raw["part"])
        assert row.theoretical_qty == pt_br(raw["qty"])
    assert header == Totals(
        pt_br(recorded["total_part"]), 98_370_249_996, pt_br(recorded["reductor"])
    )
    assert sum(row.theoretical_qty for row in rows) == 98_370_249_996
    # B3's 87 rounded weights miss 100.000 by 0.001: within 87 x 0.0005
    assert sum(row.part for row in rows) == Decimal("99.999")


def test_cont_is_the_rank_by_company_and_a_preview_may_omit_it() -> None:
    recorded = load(THEORETICAL_2022)
    rows = joined(recorded)[2]
    assert [row.cont for row in rows] == [raw["cont"] for raw in recorded["results"]]
    ranked = sorted(rows, key=lambda row: (row.asset, row.cod))
    assert [row.cont for row in ranked] == list(range(1, 93))
    for cont in (False, True):
        served = json.loads(preview_body(THEORETICAL_2022, cont=cont))
        previewed = joined(served, PREVIEW)[2]
        assert [row.cont for row in previewed] == [row.cont if cont else None for row in rows]
        assert [(r.cod, r.part) for r in previewed] == [(r.cod, r.part) for r in rows]


def changed(change: Any, document: Any = None) -> Any:
    document = copy.deepcopy(document or load(THEORETICAL_2022))
    change(document)
    return document


@pytest.mark.parametrize(
    ("change", "error", "message"),
    [
        (lambda d: d["header"].update(date="10/12/22"), SchemaDrift, "has unknown 'date'"),
        (lambda d: d["header"].update(title="2a Previa"), SchemaDrift, "has unknown 'title'"),
        (lambda d: d["header"].pop("reductor"), SchemaDrift, "lacks 'reductor'"),
        (lambda d: d.update(extra=1), SchemaDrift, "'body' has unknown 'extra'"),
        (lambda d: d.pop("page"), SchemaDrift, "'body' lacks 'page'"),
        (lambda d: d["results"][0].update(segment="X"), SchemaDrift, "has unknown 'segment'"),
        (lambda d: d["results"][0].pop("part"), SchemaDrift, r"results\[0\]' lacks 'part'"),
        (lambda d: d["results"][0].update(cont=True), SchemaDrift, "not an integer"),
        (lambda d: d["results"][0].update(cont=0), SchemaDrift, "not a positive rank"),
        (lambda d: d["results"][1].update(cont=3), SchemaDrift, "'cont' 3 appear"),
        (lambda d: d["results"][0].update(asset=" "), SchemaDrift, "not a non-empty string"),
        (lambda d: d["results"][0].update(part=3.251), SchemaDrift, "not a pt-BR number"),
        (lambda d: d["results"][0].update(cod=" PE/TR4 "), SchemaDrift,
         r"^field 'results\[0\].cod': 'PE/TR4' is not a B3 ticker \("),
        (lambda d: d["results"][0].update(part="4,251"), WeightTotalMismatch, "101.000"),
    ],
)  # fmt: skip
@pytest.mark.parametrize("contract", [THEORETICAL, PREVIEW], ids=["theoretical", "preview"])
def test_any_other_shape_or_totals_are_refused(
    contract: Contract, change: Any, error: type, message: str
) -> None:
    with pytest.raises(error, match=message):
        joined(changed(change), contract)


def test_cont_is_sent_on_every_row_or_none() -> None:
    with pytest.raises(SchemaDrift, match="'results\\[0\\]' lacks 'cont'"):
        joined(changed(lambda d: d["results"][0].pop("cont")))
    without = json.loads(preview_body(THEORETICAL_2022))
    with pytest.raises(SchemaDrift, match="91 of 92 rows lack 'cont'"):
        joined(changed(lambda d: d["results"][0].update(cont=1), without), PREVIEW)


@pytest.mark.parametrize("contract", [THEORETICAL, PREVIEW], ids=["theoretical", "preview"])
def test_the_days_body_and_the_look_alike_are_not_a_four_month_portfolio(
    contract: Contract,
) -> None:
    with pytest.raises(SchemaDrift, match="'header' has unknown 'date', 'partAcum'"):
        parse_totals_page(load(SEGMENT2_2022_12_08), contract)
    with pytest.raises(SchemaDrift, match="'body' lacks 'page', 'header'"):
        parse_totals_page(load(LOOK_ALIKE), contract)


def test_pages_must_agree_and_together_reconcile() -> None:
    recorded = load(THEORETICAL_2022)
    first, second = copy.deepcopy(recorded), copy.deepcopy(recorded)
    first["results"], second["results"] = recorded["results"][:50], recorded["results"][50:]
    second["page"]["pageNumber"] = 2
    pages = [parse_totals_page(first, THEORETICAL), parse_totals_page(second, THEORETICAL)]
    header, _, rows = join(pages)
    assert [(row.cod, row.page_number) for row in rows] == [
        (raw["cod"], 1 if i < 50 else 2) for i, raw in enumerate(recorded["results"])
    ]
    assert header == joined(recorded)[0]
    second["header"]["reductor"] = "1,00000000"
    with pytest.raises(SchemaDrift, match="page 2 disagrees with page 1"):
        join([pages[0], parse_totals_page(second, THEORETICAL)])

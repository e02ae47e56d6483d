"""Parsing and checking GetPortfolioDay bodies, on the real recordings."""

from __future__ import annotations

import copy
from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest

from services.pipeline.b3 import portfolio
from services.pipeline.b3.errors import (
    DuplicateTickers,
    EmptyPortfolio,
    QuantityTotalMismatch,
    RowCountMismatch,
    SchemaDrift,
    WeightTotalMismatch,
)
from services.pipeline.b3.portfolio import PageSource, Portfolio, assemble, parse_page
from tests.recordings import (
    FIXTURES,
    LOOK_ALIKE,
    RESULTS_ONLY_2025_07_13,
    SEGMENT1_2025_07_10,
    SEGMENT2_2022_12_08,
    SEGMENT2_2025_07_10,
    load,
    pt_br,
)

NOW = datetime(2025, 7, 10, 21, 0, tzinfo=UTC)


def portfolio_of(document: Any) -> Portfolio:
    return assemble("IBOV", [parse_page(document)], [PageSource(1, "u", b"{}")], NOW)


def test_real_segment2_recording_parses_exactly() -> None:
    document = load(SEGMENT2_2022_12_08)
    portfolio = portfolio_of(document)
    assert portfolio.trading_date == date(2022, 12, 8)  # header.date, never the clock
    assert portfolio.header.theoretical_qty == 101_053_551_382
    assert portfolio.header.reductor == Decimal("18553794.87445950")
    w = next(a for a in portfolio.assets if a.cod == "WEGE3")
    assert (w.part, w.part_acum, w.theoretical_qty, w.type_raw, w.type_normalized) == (
        Decimal("2.728"), Decimal("2.728"), 1_481_593_024, "ON      NM", "ON NM"
    )  # fmt: skip
    assert len(portfolio.assets) == len(document["results"]) == 92
    for raw, asset in zip(document["results"], portfolio.assets, strict=True):
        assert (asset.cod, asset.segment) == (raw["cod"], raw["segment"])
        assert asset.part == pt_br(raw["part"])
        assert asset.theoretical_qty == int(pt_br(raw["theoricalQty"]))


def test_segment1_has_no_sector_and_is_refused() -> None:
    with pytest.raises(SchemaDrift, match="84 of 84 assets have no sector"):
        portfolio_of(load(SEGMENT1_2025_07_10))


def test_a_name_with_a_lost_character_is_refused_as_recorded() -> None:
    """The recorder lost the accents (the repaired copy is what the tests read)."""
    lost = r"^field 'results\[WEGE3\]\.segment': 'Bens Indls / M\ufffdqs e Equips' holds U\+FFFD"
    with pytest.raises(SchemaDrift, match=lost):
        portfolio_of(load(FIXTURES / "GetPortfolioDay_IBOV_segment2_2022-12-08.json"))


def renamed(where: str, field: str) -> Callable[[Any], None]:
    def change(document: Any) -> None:
        target = document["header"] if where == "header" else document["results"][3]
        target[field + "_renamed"] = target.pop(field)

    return change


def shifted_weight(by: str) -> Callable[[Any], None]:
    def change(document: Any) -> None:
        row = document["results"][0]
        row["part"] = str(pt_br(row["part"]) + Decimal(by)).replace(".", ",")

    return change


@pytest.mark.parametrize(
    ("change", "error", "message"),
    [
        (lambda d: d["header"].update(date="10/07/\u0662\u0665"), SchemaDrift, "not a dd/mm/yy"),
        (lambda d: [r.update(part=f"{pt_br(r['part']) / 2:.3f}".replace(".", ",")) for r in d[
            "results"]] and d["header"].update(part="50,000"), WeightTotalMismatch,  # sum 50
         "header.part is 50.000: both must be 100"),
        (lambda d: [r.update(part="0,000") for r in d["results"]] and d["header"].update(
            part="0,000"), WeightTotalMismatch, "header.part is 0.000: both"),
        (lambda d: d["header"].update(reductor="0,00000000"), SchemaDrift,
         "'header.reductor': '0,00000000' is not positive"),
        (lambda d: [r.update(partAcum="9.999,999") for r in d["results"]], SchemaDrift,
         r"partAcum': '9.999,999' is more than 100"),
        (lambda d: d["results"][0].update(theoricalQty="0"), SchemaDrift, "'0' is not positive"),
        (renamed("header", "theoricalQty"), SchemaDrift, "lacks 'theoricalQty'"),
        (renamed("header", "date"), SchemaDrift, "lacks 'date'"),
        (renamed("row", "cod"), SchemaDrift, "lacks 'cod'"),
        (lambda d: d.update(results=[]) or d["page"].update(totalRecords=0), EmptyPortfolio,
         "no assets"),
        (lambda d: d["results"][0].update(theoricalQty="734.631.702"),  # was ...701
         QuantityTotalMismatch, "'theoretical_qty_total'.*off by 1"),
        # 84 rows x 0.0005 = 0.042 is rounding; 0.043 is not
        (shifted_weight("0.043"), WeightTotalMismatch, "'weight_total'.*tolerance 0.0420"),
        (lambda d: d["results"].pop(), RowCountMismatch, "'row_count' failed: got 83 rows.* 84"),
        (lambda d: d["results"][1].update(cod=d["results"][0]["cod"]), DuplicateTickers,
         "'unique_tickers' failed: EMBR3"),
        (lambda d: d["results"][2].update(part="-1,000"), SchemaDrift, "'-1,000' is negative"),
        (lambda d: d["results"][3].update(cod="PE/TR4"), SchemaDrift,
         r"results\[3\].cod': 'PE/TR4' is not a B3 ticker"),
    ],
)  # fmt: skip
def test_a_body_that_breaks_the_contract_is_refused_naming_why(
    change: Callable[[Any], None], error: type[Exception], message: str
) -> None:
    document = copy.deepcopy(load(SEGMENT2_2025_07_10))
    change(document)
    with pytest.raises(error, match=message):
        portfolio_of(document)


def test_rounding_cannot_excuse_more_than_a_tenth_of_a_percent() -> None:
    totals = portfolio.RowTotals(10**5, (), 1, Decimal(60))
    with pytest.raises(WeightTotalMismatch, match="tolerance 0.1 for 100000 rows"):
        portfolio.check_totals(portfolio.Totals(Decimal(100), 1, Decimal(1)), 10**5, totals)


@pytest.mark.parametrize("key", ['"part": "50,000"', '"cod": "VALE3"', '"has": 1'])
def test_a_key_twice_in_one_object_is_ambiguous_and_refused(key: str) -> None:
    with pytest.raises(SchemaDrift, match=f"{key.split(':')[0]} twice in one object"):
        portfolio.decode_body(f'{{"x": [{{"a": 0, {key}, {key.replace("1", "0")}}}]}}'.encode())


@pytest.mark.parametrize("field", ["asset", "type", "segment"])
@pytest.mark.parametrize(
    "text", ["PETRO\x00BRAS", "\x1b[31mPETRO", "<b>PETRO</b>", "$x^2$", "", "  ", "A" * 1_500_000]
)
def test_hostile_text_is_refused_naming_ticker_and_field(field: str, text: str) -> None:
    document = copy.deepcopy(load(SEGMENT2_2025_07_10))
    document["results"][5][field] = text
    with pytest.raises(SchemaDrift, match=rf"field 'results\[RAIL3\]\.{field}'") as caught:
        portfolio_of(document)
    assert str(caught.value).splitlines() == [str(caught.value)[:300]]


def test_the_rounding_tolerance_is_accepted() -> None:
    shifted_weight("0.042")(document := copy.deepcopy(load(SEGMENT2_2025_07_10)))
    assert portfolio_of(document).trading_date == date(2025, 7, 10)


@pytest.mark.parametrize("recording", [LOOK_ALIKE, RESULTS_ONLY_2025_07_13])
def test_bodies_that_are_not_a_portfolio_are_schema_drift(recording: Any) -> None:
    with pytest.raises(SchemaDrift, match="'body' lacks 'page', 'header'"):
        parse_page(load(recording))

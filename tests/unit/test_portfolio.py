"""Parsing and checking GetPortfolioDay bodies, on the real recordings."""

from __future__ import annotations

import copy
from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest

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
    wege = next(a for a in portfolio.assets if a.cod == "WEGE3")
    assert (wege.part, wege.part_acum, wege.theoretical_qty) == (
        Decimal("2.728"),
        Decimal("2.728"),
        1_481_593_024,
    )
    assert (wege.type_raw, wege.type_normalized) == ("ON      NM", "ON NM")
    assert len(portfolio.assets) == len(document["results"]) == 92
    for raw, asset in zip(document["results"], portfolio.assets, strict=True):
        assert (asset.cod, asset.segment) == (raw["cod"], raw["segment"])
        assert asset.part == pt_br(raw["part"])
        assert asset.theoretical_qty == int(pt_br(raw["theoricalQty"]))


def test_segment1_has_no_sector_and_is_refused() -> None:
    document = load(SEGMENT1_2025_07_10)
    with pytest.raises(SchemaDrift, match="84 of 84 assets have no sector"):
        portfolio_of(document)


def renamed(where: str, field: str) -> Callable[[Any], None]:
    def change(document: Any) -> None:
        target = document["header"] if where == "header" else document["results"][3]
        target[field + "_renamed"] = target.pop(field)

    return change


def emptied(document: Any) -> None:
    document["results"], document["page"]["totalRecords"] = [], 0


def shifted_weight(by: str) -> Callable[[Any], None]:
    def change(document: Any) -> None:
        row = document["results"][0]
        row["part"] = str(pt_br(row["part"]) + Decimal(by)).replace(".", ",")

    return change


@pytest.mark.parametrize(
    ("change", "error", "message"),
    [
        (renamed("header", "theoricalQty"), SchemaDrift, "lacks 'theoricalQty'"),
        (renamed("header", "date"), SchemaDrift, "lacks 'date'"),
        (renamed("row", "cod"), SchemaDrift, "lacks 'cod'"),
        (emptied, EmptyPortfolio, "no assets"),
        (
            lambda d: d["results"][0].update(theoricalQty="734.631.702"),  # was ...701
            QuantityTotalMismatch,
            "'theoretical_qty_total'.*off by 1",
        ),
        # 84 rows x 0.0005 = 0.042 is rounding; 0.043 is not
        (shifted_weight("0.043"), WeightTotalMismatch, "'weight_total'.*tolerance 0.0420"),
        (lambda d: d["results"].pop(), RowCountMismatch, "'row_count' failed: got 83 rows.* 84"),
        (
            lambda d: d["results"][1].update(cod=d["results"][0]["cod"]),
            DuplicateTickers,
            "'unique_tickers' failed: EMBR3",
        ),
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


def test_the_rounding_tolerance_is_accepted() -> None:
    document = copy.deepcopy(load(SEGMENT2_2025_07_10))
    shifted_weight("0.042")(document)
    assert portfolio_of(document).trading_date == date(2025, 7, 10)


@pytest.mark.parametrize("recording", [LOOK_ALIKE, RESULTS_ONLY_2025_07_13])
def test_bodies_that_are_not_a_portfolio_are_schema_drift(recording: Any) -> None:
    with pytest.raises(SchemaDrift, match="'body' lacks 'page', 'header'"):
        parse_page(load(recording))

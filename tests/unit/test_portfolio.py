"""Parsing and checking GetPortfolioDay bodies, on the real recordings."""

from __future__ import annotations

import copy
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
    TotalsMismatch,
    WeightTotalMismatch,
)
from services.pipeline.b3.portfolio import PageSource, assemble, parse_page
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


def portfolio_of(document: Any, *, require_sector: bool = True) -> Any:
    page = parse_page(document)
    return assemble("IBOV", [page], [PageSource(1, "u", b"{}")], NOW, require_sector=require_sector)


def test_real_segment2_recording_parses_exactly() -> None:
    document = load(SEGMENT2_2022_12_08)
    portfolio = portfolio_of(document)
    assert portfolio.trading_date == date(2022, 12, 8)
    assert len(portfolio.assets) == 92
    assert portfolio.header.theoretical_qty == 101_053_551_382
    assert portfolio.header.reductor == Decimal("18553794.87445950")
    wege = next(a for a in portfolio.assets if a.cod == "WEGE3")
    assert (wege.part, wege.part_acum, wege.theoretical_qty) == (
        Decimal("2.728"),
        Decimal("2.728"),
        1_481_593_024,
    )
    assert wege.type_raw == "ON      NM"
    assert wege.type_normalized == "ON NM"
    for raw, asset in zip(document["results"], portfolio.assets, strict=True):
        assert asset.cod == raw["cod"]
        assert asset.segment == raw["segment"]
        assert asset.part == pt_br(raw["part"])
        assert asset.theoretical_qty == int(pt_br(raw["theoricalQty"]))


def test_trading_date_comes_from_the_header_not_the_clock() -> None:
    portfolio = portfolio_of(load(SEGMENT2_2025_07_10))
    assert portfolio.trading_date == date(2025, 7, 10)
    assert portfolio.fetched_at == NOW  # the clock is lineage only


def test_segment1_has_no_sector_and_is_refused_when_a_sector_is_required() -> None:
    document = load(SEGMENT1_2025_07_10)
    assert len(portfolio_of(document, require_sector=False).assets) == 84
    with pytest.raises(SchemaDrift, match="84 of 84 assets have no sector"):
        portfolio_of(document)


def test_look_alike_index_statistics_body_is_schema_drift() -> None:
    with pytest.raises(
        SchemaDrift, match="'body' lacks 'page', 'header' .*: not a GetPortfolioDay portfolio"
    ):
        parse_page(load(LOOK_ALIKE))


def test_body_without_page_and_header_is_schema_drift() -> None:
    with pytest.raises(SchemaDrift, match="lacks 'page', 'header'"):
        parse_page(load(RESULTS_ONLY_2025_07_13))


@pytest.mark.parametrize(
    ("where", "field"),
    [("header", "theoricalQty"), ("header", "date"), ("row", "cod"), ("row", "part")],
)
def test_renamed_field_is_schema_drift_naming_it(where: str, field: str) -> None:
    document = load(SEGMENT2_2025_07_10)
    target = document["header"] if where == "header" else document["results"][3]
    target[field + "_renamed"] = target.pop(field)
    with pytest.raises(SchemaDrift, match=f"lacks '{field}'"):
        parse_page(document)


def test_empty_portfolio_is_its_own_error() -> None:
    document = load(SEGMENT2_2025_07_10)
    document["results"] = []
    document["page"]["totalRecords"] = 0
    with pytest.raises(EmptyPortfolio, match="no assets"):
        parse_page(document)


def mutated(change: Any) -> Any:
    document = copy.deepcopy(load(SEGMENT2_2025_07_10))
    change(document)
    return document


def test_quantity_total_must_reconcile_exactly() -> None:
    def bump(document: Any) -> None:
        document["results"][0]["theoricalQty"] = "734.631.702"  # was 734.631.701

    with pytest.raises(QuantityTotalMismatch, match="'theoretical_qty_total'.*off by 1"):
        portfolio_of(mutated(bump))


def test_weight_total_allows_only_the_rounding_tolerance() -> None:
    def shift(by: str) -> Any:
        def change(document: Any) -> None:
            row = document["results"][0]
            row["part"] = str(pt_br(row["part"]) + Decimal(by)).replace(".", ",")

        return change

    portfolio_of(mutated(shift("0.042")))  # 84 rows x 0.0005 = 0.042: still rounding
    with pytest.raises(WeightTotalMismatch, match="'weight_total'.*tolerance 0.0420"):
        portfolio_of(mutated(shift("0.043")))


def test_row_count_must_match_total_records() -> None:
    def drop(document: Any) -> None:
        document["results"].pop()

    with pytest.raises(RowCountMismatch, match="'row_count' failed: got 83 rows.* 84"):
        portfolio_of(mutated(drop))


def test_every_check_is_a_totals_mismatch_for_the_cli() -> None:
    for kind in (RowCountMismatch, DuplicateTickers, QuantityTotalMismatch, WeightTotalMismatch):
        assert issubclass(kind, TotalsMismatch)


def test_tickers_must_be_unique() -> None:
    def duplicate(document: Any) -> None:
        document["results"][1]["cod"] = document["results"][0]["cod"]

    with pytest.raises(DuplicateTickers, match="'unique_tickers' failed: EMBR3"):
        portfolio_of(mutated(duplicate))


def shifted(field: str, first: str, second: str) -> Any:
    """The 2025-07-10 body with two rows' ``field`` changed so the totals still reconcile."""
    document = copy.deepcopy(load(SEGMENT2_2025_07_10))
    document["results"][0][field] = first
    document["results"][1][field] = second
    return document


def test_a_negative_weight_is_refused_even_when_the_total_reconciles() -> None:
    document = load(SEGMENT2_2025_07_10)
    a, b = (pt_br(document["results"][i]["part"]) for i in (0, 1))
    changed = shifted("part", "-1,000", f"{b + a + 1:.3f}".replace(".", ","))
    with pytest.raises(SchemaDrift, match=r"results\[\w+\].part': '-1,000' is negative"):
        portfolio_of(changed)


def test_a_negative_quantity_is_refused_even_when_the_total_reconciles() -> None:
    document = load(SEGMENT2_2025_07_10)
    a, b = (int(pt_br(document["results"][i]["theoricalQty"])) for i in (0, 1))
    changed = shifted("theoricalQty", "-5", f"{a + b + 5:,}".replace(",", "."))
    with pytest.raises(SchemaDrift, match=r"theoricalQty': '-5' is negative"):
        portfolio_of(changed)


@pytest.mark.parametrize(
    ("field", "value", "kind"),
    [
        ("partAcum", "12.345,678", r"decimal\(7,3\)"),
        ("part", "10.000,000", r"decimal\(7,3\)"),
        ("theoricalQty", "9.223.372.036.854.775.808", "int64"),
    ],
)
def test_a_number_too_large_for_its_column_is_schema_drift(
    field: str, value: str, kind: str
) -> None:
    document = copy.deepcopy(load(SEGMENT2_2025_07_10))
    document["results"][2][field] = value
    with pytest.raises(SchemaDrift, match=f"'{value}' is larger than {kind} holds"):
        portfolio_of(document)


def test_a_reductor_too_large_for_its_column_is_schema_drift() -> None:
    document = copy.deepcopy(load(SEGMENT2_2025_07_10))
    document["header"]["reductor"] = "1" + "0" * 16 + ",0"
    with pytest.raises(SchemaDrift, match=r"header.reductor'.*larger than decimal\(24,8\)"):
        portfolio_of(document)

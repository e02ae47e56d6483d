"""The report's sections about the portfolio ahead: shaping the views' rows (polars).

The rows fed here are the ones the views must return, computed independently from B3's
strings (tests.ahead_expected) and given as Athena gives them (strings). The day's body
is the recorded IBOV portfolio of 2022-12-08; the theoretical body the recorded one of
2022-12-10 (same cycle, Sep.-Dec. 2022). The preview is test-made (no GetQuartelyPreview
answer is recorded): the Jan.-Apr. 2025 theoretical portfolio served as a preview, so
tickers enter, leave and change weight.
"""

from __future__ import annotations

from collections import Counter
from decimal import Decimal

from services.tool.analysis.report import TOP_CHANGES, shape_rebalance, shape_theoretical
from tests.ahead import THEORETICAL_2022, THEORETICAL_2025_01
from tests.ahead_expected import as_athena, next_rebalance, theoretical_vs_day
from tests.recordings import SEGMENT2_2022_12_08, load, pt_br

DAY = "2022-12-08"


def test_the_quantities_corporate_actions_moved_are_the_recorded_ones() -> None:
    day, cycle = load(SEGMENT2_2022_12_08), load(THEORETICAL_2022)
    expected = theoretical_vs_day(day, cycle)
    shape = shape_theoretical(as_athena(expected, dt=DAY, index_code="IBOV", cycle="2022-09"))
    assert shape is not None
    assert (shape.cycle, shape.tickers, shape.one_side.height) == ("2022-09", 92, 0)
    days = {r["cod"]: int(pt_br(r["theoricalQty"])) for r in day["results"]}
    cycles = {r["cod"]: int(pt_br(r["theoricalQty"])) for r in cycle["results"]}
    moved = {t: (cycles[t], days[t], days[t] - cycles[t]) for t in days if days[t] != cycles[t]}
    assert sorted(moved) == ["FLRY3", "IGTI11", "IRBR3", "ITSA4", "RENT3"]
    got = {
        r["ticker"]: (r["cycle_qty"], r["day_qty"], r["qty_change"])
        for r in shape.moved.rows(named=True)
    }
    assert got == moved
    assert moved["IRBR3"] == (1_255_237_214, 2_455_237_214, 1_200_000_000)
    # the largest relative change first (IRBR3 +95.6 %), the smallest last (RENT3 +0.3 %)
    assert shape.moved["ticker"].to_list() == ["IRBR3", "FLRY3", "IGTI11", "ITSA4", "RENT3"]
    weights = {r["cod"]: pt_br(r["part"]) for r in day["results"]}
    drift = sum(abs(weights[r["cod"]] - pt_br(r["part"])) for r in cycle["results"])
    assert shape.weight_drift == drift
    assert isinstance(shape.weight_drift, Decimal)


def test_a_ticker_in_only_one_side_is_shown() -> None:
    day, cycle = load(SEGMENT2_2022_12_08), load(THEORETICAL_2022)
    day["results"] = [r for r in day["results"] if r["cod"] != "ABEV3"]
    cycle["results"] = [r for r in cycle["results"] if r["cod"] != "WEGE3"]
    shape = shape_theoretical(as_athena(theoretical_vs_day(day, cycle), cycle="2022-09"))
    assert shape is not None
    assert shape.one_side.rows() == [
        ("WEGE3", "WEG", "day"),
        ("ABEV3", "AMBEV S/A", "theoretical"),
    ]


def test_the_next_rebalance_counts_moves_and_largest_changes() -> None:
    day, preview = load(SEGMENT2_2022_12_08), load(THEORETICAL_2025_01)
    expected = next_rebalance(day, preview)
    head = {"preview_dt": DAY, "portfolio_dt": DAY, "target_cycle": "2023-01"}
    shape = shape_rebalance(as_athena(expected, **head, contract="unverified"))
    assert shape is not None
    assert (shape.preview_dt, shape.portfolio_dt, shape.target_cycle) == (DAY, DAY, "2023-01")
    assert shape.contract == "unverified"
    counted = Counter(row["change"] for row in expected.values())
    assert shape.counts == {
        "entering": counted["entering"],
        "leaving": counted["leaving"],
        "weight change": counted["weight change"],
        "unchanged": 0,
    }
    assert (shape.counts["entering"], shape.counts["leaving"]) == (13, 18)
    days = {r["cod"] for r in day["results"]}
    previews = {r["cod"] for r in preview["results"]}
    assert [(r[0], r[1]) for r in shape.moves.rows()] == sorted(
        [("entering", t) for t in previews - days] + [("leaving", t) for t in days - previews]
    )
    changes = sorted(
        (
            (abs(r["weight_change_pct"]), t)
            for t, r in expected.items()
            if r["weight_change_pct"] is not None
        ),
        key=lambda x: (-x[0], x[1]),
    )[:TOP_CHANGES]
    assert shape.top_changes["ticker"].to_list() == [t for _, t in changes]
    assert [abs(v) for v in shape.top_changes["weight_change_pct"].to_list()] == [
        c for c, _ in changes
    ]


def test_no_rows_is_no_section_data() -> None:
    assert shape_theoretical([]) is None
    assert shape_rebalance([]) is None

"""The rows the views of the portfolio ahead must return, computed independently.

Straight from B3's pt-BR strings in the bodies (``tests.conftest.pt_br``), with Python's
``Decimal`` and ``int``: no code of the project's runs here. A ticker's row is a dict of
the view's columns (``None`` where a side does not hold the ticker).
"""

from __future__ import annotations

from typing import Any

from tests.recordings import pt_br

Row = dict[str, Any]


def _by_ticker(document: Any) -> dict[str, Row]:
    return {
        row["cod"]: {
            "company": row["asset"],
            "qty": int(pt_br(row["theoricalQty"])),
            "weight": pt_br(row["part"]),
        }
        for row in document["results"]
    }


def theoretical_vs_day(day: Any, theoretical: Any) -> dict[str, Row]:
    """``b3_theoretical_vs_day`` for one day and index: the day's body against the cycle's."""
    days, cycles = _by_ticker(day), _by_ticker(theoretical)
    rows: dict[str, Row] = {}
    for ticker in days.keys() | cycles.keys():
        d, c = days.get(ticker), cycles.get(ticker)
        rows[ticker] = {
            "company": (d or c or {})["company"],  # the day's name, the newer
            "present_in": "both" if d and c else ("day" if d else "theoretical"),
            "cycle_qty": c["qty"] if c else None,
            "day_qty": d["qty"] if d else None,
            "qty_change": d["qty"] - c["qty"] if d and c else None,
            "cycle_weight_pct": c["weight"] if c else None,
            "day_weight_pct": d["weight"] if d else None,
            "weight_change_pct": d["weight"] - c["weight"] if d and c else None,
        }
    return rows


def next_rebalance(day: Any, preview: Any) -> dict[str, Row]:
    """``b3_next_rebalance`` for one index: the day's body against the preview's."""
    days, previews = _by_ticker(day), _by_ticker(preview)
    rows: dict[str, Row] = {}
    for ticker in days.keys() | previews.keys():
        d, p = days.get(ticker), previews.get(ticker)
        if d is None:
            change = "entering"
        elif p is None:
            change = "leaving"
        else:
            change = "unchanged" if d["weight"] == p["weight"] else "weight change"
        rows[ticker] = {
            "company": (p or d or {})["company"],  # the preview's name, the newer
            "change": change,
            "day_weight_pct": d["weight"] if d else None,
            "preview_weight_pct": p["weight"] if p else None,
            "weight_change_pct": p["weight"] - d["weight"] if d and p else None,
            "day_qty": d["qty"] if d else None,
            "preview_qty": p["qty"] if p else None,
        }
    return rows

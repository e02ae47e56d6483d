"""``bovespa report``: one self-contained HTML page (and PNGs) about a portfolio day.

Charts (matplotlib): the 20 heaviest tickers, the sectors, and — when the lake holds an
earlier portfolio — the biggest day-over-day weight changes and the entries and exits.
The data comes from the saved queries, run on Athena.
"""

from __future__ import annotations

import base64
import html
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt

from services.analysis.athena import Result
from services.analysis.queries import bind, saved_queries
from services.b3.calendar import portfolio_label

#: Runs bound SQL and returns its rows (Athena in production, the emulator's locally).
Runner = Callable[[str], Result]
BLUE, GREEN, RED = "#1f4e79", "#2e7d32", "#c62828"


@dataclass
class Report:
    dt: str
    index: str
    previous_dt: str | None
    images: dict[str, Path] = field(default_factory=dict)
    html_path: Path | None = None


def previous_dt(glue: Any, database: str, table: str, index: str, dt: str) -> str | None:
    """The latest portfolio date of ``index`` before ``dt`` in the catalogue, if any."""
    days: set[str] = set()
    paginator = glue.get_paginator("get_partitions")
    for page in paginator.paginate(
        DatabaseName=database, TableName=table, Expression=f"dt < '{dt}' AND index_code = '{index}'"
    ):
        days.update(
            p["Values"][0]
            for p in page["Partitions"]
            if p["Values"][1] == index and p["Values"][0] < dt
        )
    return max(days, default=None)


def query(runner: Runner, name: str, values: Mapping[str, str]) -> list[dict[str, str | None]]:
    return runner(bind(saved_queries()[name], values)).as_dicts()


def build(runner: Runner, dt: str, index: str, previous_dt: str | None, out_dir: Path) -> Report:
    """Query, draw and write ``out_dir/report-<index>-<dt>.html`` with its PNGs beside it."""
    out_dir.mkdir(parents=True, exist_ok=True)
    values = {"dt": dt, "index_code": index, "previous_dt": previous_dt or dt}
    report = Report(dt, index, previous_dt)
    top = query(runner, "top_weights", values)
    if not top:
        raise LookupError(f"no refined rows for {index} on {dt}: run the pipeline for that day")
    sectors = query(runner, "weights_by_sector", values)
    report.images["top_weights"] = _bar_chart(
        out_dir / f"top_weights-{index}-{dt}.png",
        [f"{r['ticker']}  {r['company']}" for r in top],
        [_number(r["weight_pct"]) for r in top],
        f"{index} on {dt}: the 20 heaviest tickers (% of the index)",
        BLUE,
    )
    report.images["sectors"] = _bar_chart(
        out_dir / f"sectors-{index}-{dt}.png",
        [str(r["sector"]) for r in sectors],
        [_number(r["weight_pct"]) for r in sectors],
        f"{index} on {dt}: weight by sector (%)",
        BLUE,
    )
    sections = [
        _figure("The 20 heaviest tickers", report.images["top_weights"]),
        _figure("Weight by sector", report.images["sectors"]),
    ]
    if previous_dt:
        changes = [r for r in query(runner, "day_over_day", values) if r["change_pct"] is not None][
            :15
        ]
        movements = query(runner, "entries_exits", values)
        report.images["changes"] = _bar_chart(
            out_dir / f"changes-{index}-{dt}.png",
            [str(r["ticker"]) for r in changes],
            [_number(r["change_pct"]) for r in changes],
            f"{index}: largest weight changes, {previous_dt} → {dt} (percentage points)",
            [GREEN if _number(r["change_pct"]) >= 0 else RED for r in changes],
        )
        sections.append(_figure(f"Changes since {previous_dt}", report.images["changes"]))
        sections.append(_movements(movements, previous_dt, dt))
    else:
        sections.append(
            "<p>No earlier portfolio of this index is in the lake, so there are no "
            "day-over-day changes, entries or exits to show.</p>"
        )
    report.html_path = out_dir / f"report-{index}-{dt}.html"
    report.html_path.write_text(_page(index, dt, sections), encoding="utf-8")
    return report


def _number(value: str | None) -> float:
    return float(Decimal(value or "0"))  # charts only: the data stays decimal


def _bar_chart(
    path: Path, labels: list[str], values: list[float], title: str, color: str | list[str]
) -> Path:
    height = max(3.0, 0.32 * len(labels) + 1.2)
    figure, axes = plt.subplots(figsize=(9, height), dpi=110)
    positions = list(range(len(labels)))[::-1]
    axes.barh(positions, values, color=color)
    axes.set_yticks(positions, labels, fontsize=8)
    axes.set_title(title, fontsize=10)
    axes.grid(axis="x", alpha=0.3)
    for position, value in zip(positions, values, strict=True):
        axes.annotate(f"{value:.3f}", (value, position), xytext=(3, 0), textcoords="offset points",
                      va="center", fontsize=7)  # fmt: skip
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)
    return path


def _figure(title: str, image: Path) -> str:
    data = base64.b64encode(image.read_bytes()).decode()
    name = html.escape(title)
    return f'<h2>{name}</h2><img alt="{name}" src="data:image/png;base64,{data}">'


def _movements(rows: list[dict[str, str | None]], previous_dt: str, dt: str) -> str:
    if not rows:
        return f"<h2>Entries and exits</h2><p>None between {previous_dt} and {dt}.</p>"
    items = "".join(
        f"<tr><td>{html.escape(str(r['movement']))}</td><td>{html.escape(str(r['ticker']))}</td>"
        f"<td>{html.escape(str(r['company']))}</td></tr>"
        for r in rows
    )
    return (
        f"<h2>Entries and exits, {previous_dt} → {dt}</h2>"
        f"<table><tr><th>movement</th><th>ticker</th><th>company</th></tr>{items}</table>"
    )


def _page(index: str, dt: str, sections: list[str]) -> str:
    session = portfolio_label(date.fromisoformat(dt))
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>{html.escape(index)} portfolio on {html.escape(dt)}</title>"
        "<style>body{font-family:sans-serif;max-width:960px;margin:2em auto}"
        "img{max-width:100%}td,th{padding:2px 8px;text-align:left}</style></head><body>"
        f"<h1>{html.escape(index)} — {html.escape(session)}</h1>"
        + "".join(sections)
        + "<p>Source: B3 GetPortfolioDay, refined by bovespa-pipeline.</p></body></html>"
    )

"""``bovespa report``: one self-contained HTML page (PNGs beside it) about a portfolio day.

Every number comes from a saved query, run on Athena; each section about the portfolio
ahead says so when its table is not catalogued or holds nothing for the day.
"""

from __future__ import annotations

import base64
import contextlib
import html
from collections.abc import Callable, Collection, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt

from services.pipeline import settings
from services.pipeline.b3.calendar import portfolio_label
from services.tool.analysis.athena import Result
from services.tool.analysis.queries import bind, saved_queries

#: Runs bound SQL and returns its rows (Athena in production, the emulator's locally).
Runner = Callable[[str], Result]
Rows = list[dict[str, str | None]]
#: The sections about the portfolio ahead: the table each reads (a stack may not deploy
#: it), its saved query, its heading and what it says when the lake holds nothing for it.
SECTIONS = (
    (settings.REFINED_THEORETICAL_TABLE, "theoretical_vs_day",
     "The cycle's theoretical portfolio against the day's",
     "No theoretical portfolio of {index} for {dt} is in the lake: nothing to compare the "
     "day's with."),
    (settings.REFINED_PREVIEW_TABLE, "next_rebalance", "Next rebalance (the latest preview)",
     "No preview of {index} is in the lake: B3 publishes one only in the weeks before a "
     "rebalance (January, May, September)."),
)  # fmt: skip
SECTION_TABLES = tuple(section[0] for section in SECTIONS)
#: Bars in a chart of changes; lines in the chart of weights across the days.
TOP_CHANGES, TOP_HISTORY = 15, 5
CHANGES = ("entering", "leaving", "weight change", "unchanged")
BLUE, GREEN, RED = "#1f4e79", "#2e7d32", "#c62828"


def days_before(glue: Any, database: str, table: str, index: str, dt: str) -> list[str]:
    """The portfolio dates of ``index`` before ``dt`` in the catalogue, oldest first."""
    pages = glue.get_paginator("get_partitions").paginate(
        DatabaseName=database, TableName=table, Expression=f"dt < '{dt}' AND index_code = '{index}'"
    )
    days = {p["Values"][0] for page in pages for p in page["Partitions"] if p["Values"][1] == index}
    return sorted(day for day in days if day < dt)  # whatever the emulator filters


def catalogued(glue: Any, database: str, names: Iterable[str]) -> set[str]:
    found = set()
    for name in names:
        with contextlib.suppress(glue.exceptions.EntityNotFoundException):
            glue.get_table(DatabaseName=database, Name=name)
            found.add(name)
    return found


@dataclass
class Report:
    out_dir: Path
    name: str
    parts: list[str] = field(default_factory=list)
    images: dict[str, Path] = field(default_factory=dict)
    html_path: Path | None = None

    def text(self, sentence: str, tag: str = "p") -> None:
        self.parts.append(f"<{tag}>{html.escape(sentence)}</{tag}>")

    def table(self, head: tuple[str, ...], rows: list[tuple[Any, ...]], empty: str) -> None:
        if not rows:
            self.text(empty)
            return
        cells = [
            "".join(f"<{tag}>{html.escape('' if v is None else str(v))}</{tag}>" for v in row)
            for tag, row in [("th", head), *(("td", row) for row in rows)]
        ]
        self.parts.append("<table>" + "".join(f"<tr>{row}</tr>" for row in cells) + "</table>")

    def chart(self, key: str, heading: str, bars: list[tuple[str, Any]], signed: bool) -> None:
        """Horizontal bars, the first on top (floats for the chart only: the data stays decimal)."""
        if not bars:
            return
        labels, values = [label for label, _ in bars], [float(v or 0) for _, v in bars]
        figure, axes = plt.subplots(figsize=(9, max(3.0, 0.32 * len(bars) + 1.2)), dpi=110)
        positions = list(range(len(bars)))[::-1]
        colors = [GREEN if v >= 0 else RED for v in values] if signed else BLUE
        bars_ = axes.barh(positions, values, color=colors)
        axes.bar_label(bars_, fmt="%.3f", fontsize=7, padding=3)
        axes.set_yticks(positions, labels, fontsize=8)
        self._show(figure, axes, key, heading)

    def lines(self, key: str, heading: str, series: dict[str, Rows]) -> None:
        """One line per ticker: its ``weight_pct`` on each ``dt`` of its rows."""
        figure, axes = plt.subplots(figsize=(9, 4), dpi=110)
        for ticker, rows in series.items():
            days: Any = [date.fromisoformat(str(r["dt"])) for r in rows]  # matplotlib takes dates
            axes.plot(days, [float(r["weight_pct"] or 0) for r in rows], marker=".", label=ticker)
        axes.legend(fontsize=8)
        figure.autofmt_xdate()
        self._show(figure, axes, key, heading)

    def _show(self, figure: Any, axes: Any, key: str, heading: str) -> None:
        axes.set_title(f"{self.name}: {heading}", fontsize=10)
        axes.grid(alpha=0.3)
        figure.tight_layout()
        path = self.images[key] = self.out_dir / f"{key}-{self.name.replace(' ', '-')}.png"
        figure.savefig(path)
        plt.close(figure)
        self.text(heading, "h2")
        data = base64.b64encode(path.read_bytes()).decode()
        self.parts.append(f'<img alt="{html.escape(heading)}" src="data:image/png;base64,{data}">')


def build(
    runner: Runner,
    dt: str,
    index: str,
    earlier: Sequence[str],
    out_dir: Path,
    available: Collection[str] = frozenset(),
) -> Report:
    """Query, draw and write ``out_dir/report-<index>-<dt>.html``; ``earlier``: the index's
    days before ``dt`` (:func:`days_before`), ``available``: :func:`catalogued`'s tables."""
    first, previous = (earlier[0], earlier[-1]) if earlier else (dt, dt)
    values = {"dt": dt, "index_code": index, "previous_dt": previous}

    def run(name: str, more: dict[str, str]) -> Rows:
        return runner(bind(saved_queries()[name], values | more)).as_dicts()

    top = run("top_weights", {})
    if not top:
        raise LookupError(f"no refined rows for {index} on {dt}: run the pipeline for that day")
    tickers = [str(r["ticker"]) for r in top[:TOP_HISTORY]]
    asked: dict[str, tuple[str, dict[str, str]]] = {"weights_by_sector": ("weights_by_sector", {})}
    if earlier:
        asked["day_over_day"] = ("day_over_day", {})
        asked |= {f"since {d}": ("entries_exits", {"previous_dt": d}) for d in (first, previous)}
        span = {"start_dt": first, "end_dt": dt}
        asked |= {t: ("ticker_history", {"ticker": t, **span}) for t in tickers}
    asked |= {query: (query, {}) for table, query, *_ in SECTIONS if table in available}
    with ThreadPoolExecutor() as pool:  # the rest at once: Athena runs queries concurrently
        answers = dict(zip(asked, pool.map(lambda job: run(*job), asked.values()), strict=True))
    ask = answers.__getitem__
    out_dir.mkdir(parents=True, exist_ok=True)
    report = Report(out_dir, f"{index} {dt}")
    report.text(f"{index} — {portfolio_label(date.fromisoformat(dt))}", "h1")
    tops = [(f"{r['ticker']}  {r['company']}", r["weight_pct"]) for r in top]
    report.chart("top_weights", "The 20 heaviest tickers (% of the index)", tops, False)
    sectors = [(str(r["sector"]), r["weight_pct"]) for r in ask("weights_by_sector")]
    report.chart("sectors", "Weight by sector (%)", sectors, False)
    if not sectors:  # the day has rows, none with a sector
        report.text("Weight by sector (%)", "h2")
        report.text("B3's CSV download has no sector: this day's rows have none.")
    if earlier:
        _history(report, ask, tickers, earlier, dt)
    else:
        report.text("No earlier portfolio of this index is in the lake: no changes to show.")
    _ahead(report, ask, available, index, dt)
    report.html_path = out_dir / f"report-{index}-{dt}.html"
    report.html_path.write_text(
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>{html.escape(report.name)}</title>"
        "<style>body{font-family:sans-serif;max-width:960px;margin:2em auto}"
        "img{max-width:100%}td,th{padding:2px 8px;text-align:left}</style></head><body>"
        + "".join(report.parts)
        + "<p>Source: B3 (GetPortfolioDay, or its CSV download), refined by bovespa-pipeline."
        "</p></body></html>",
        encoding="utf-8",
    )
    return report


def _history(
    report: Report, ask: Callable[[str], Rows], tickers: list[str], earlier: Sequence[str], dt: str
) -> None:
    """The changes since the day before, and the heaviest tickers' weights since the first."""
    first, previous = earlier[0], earlier[-1]
    changes = [(str(r["ticker"]), r["change_pct"]) for r in ask("day_over_day")]
    changes = [(ticker, change) for ticker, change in changes if change is not None]
    heading = f"Largest weight changes since {previous} (percentage points)"
    report.chart("changes", heading, changes[:TOP_CHANGES], True)
    _moves(report, ask(f"since {previous}"), previous, dt)
    heading = f"The {len(tickers)} heaviest tickers' weights, {first} → {dt} (%)"
    report.lines("history", heading, {ticker: ask(ticker) for ticker in tickers})
    if first != previous:
        _moves(report, ask(f"since {first}"), first, dt)


def _moves(report: Report, rows: Rows, earlier: str, dt: str) -> None:
    report.text(f"Entries and exits, {earlier} → {dt}", "h2")
    moves = [(r["movement"], r["ticker"], r["company"]) for r in rows]
    report.table(("movement", "ticker", "company"), moves, "None.")


def _ahead(
    report: Report, ask: Callable[[str], Rows], available: Collection[str], index: str, dt: str
) -> None:
    for (table, query, heading, none), section in zip(
        SECTIONS, (_theoretical, _rebalance), strict=True
    ):
        report.text(heading, "h2")
        if table not in available:
            report.text(f"The table {table} is not catalogued in this lake.")
        elif rows := ask(query):
            section(report, rows, index, dt)
        else:
            report.text(none.format(index=index, dt=dt))


def _theoretical(report: Report, rows: Rows, index: str, dt: str) -> None:
    """The quantities corporate actions moved since the rebalance, and the weights' drift."""
    both = [r for r in rows if r["present_in"] == "both"]
    moved = [
        (r, 100 * int(r["qty_change"] or 0) / int(r["cycle_qty"] or 1))
        for r in both if r["qty_change"] != "0"
    ]  # fmt: skip
    moved.sort(key=lambda pair: (-abs(pair[1]), str(pair[0]["ticker"])))
    drift = sum(abs(Decimal(r["weight_change_pct"] or 0)) for r in both)
    report.text(
        f"Cycle {rows[0]['cycle']}: {len(rows)} tickers; {len(moved)} with a quantity moved "
        f"since the rebalance (corporate actions); weights drifted {drift} percentage points "
        "in total (sum of |day - theoretical|)."
    )
    bars = [(f"{r['ticker']}  {r['company']}", pct) for r, pct in moved]
    heading = "Quantities moved since the rebalance (% of the theoretical)"
    report.chart("theoretical", heading, bars, True)
    quantities = [
        (r["ticker"], r["company"], *(f"{int(r[k] or 0):,}" for k in ("cycle_qty", "day_qty")),
         f"{int(r['qty_change'] or 0):+,}")
        for r, _ in moved
    ]  # fmt: skip
    head = ("ticker", "company", "theoretical qty", "day qty", "change")
    report.table(head, quantities, "No quantity moved since the rebalance.")
    one_side = [
        (r["ticker"], r["company"], r["present_in"]) for r in rows if r["present_in"] != "both"
    ]
    report.table(("ticker", "company", "only in"), one_side, "Both hold the same tickers.")


def _rebalance(report: Report, rows: Rows, index: str, dt: str) -> None:
    """The latest preview against the day's portfolio, in the saved query's order; the
    query's ``contract`` says what the preview is (unverified, or synthetic and from what)."""
    first = rows[0]
    preview, cycle, contract = first["preview_dt"], str(first["target_cycle"]), first["contract"]
    if cycle <= dt[:7]:
        report.text(
            f"No preview ahead of {dt}: the latest preview of {index} in the lake ({contract}; "
            f"fetched for the session of {preview}) is for the cycle {cycle}, which has begun."
        )
        return
    counts = ", ".join(f"{sum(r['change'] == c for r in rows)} {c}" for c in CHANGES)
    report.text(
        f"The latest preview of {index} for the cycle {cycle} ({contract}; fetched for the "
        f"session of {preview}) against the day's portfolio of {first['portfolio_dt']}: "
        f"{counts}. No live GetQuartelyPreview answer is recorded to check a preview against."
    )
    changed = [
        (f"{r['ticker']}  {r['company']}", r["weight_change_pct"])
        for r in rows if r["change"] == "weight change"
    ]  # fmt: skip
    heading = f"Largest weight changes, preview ({contract}) - day (percentage points)"
    report.chart("rebalance", heading, changed[:TOP_CHANGES], True)
    keys = ("change", "ticker", "company", "day_weight_pct", "preview_weight_pct")
    moves = [tuple(r[k] for k in keys) for r in rows if r["change"] in CHANGES[:2]]
    report.table(
        ("change", "ticker", "company", "day %", "preview %"), moves, "No ticker enters or leaves."
    )

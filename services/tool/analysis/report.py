"""``bovespa report``: one self-contained HTML page (and PNGs) about a portfolio day.

Charts (matplotlib): the 20 heaviest tickers, the sectors, and — when the lake holds an
earlier portfolio — the biggest day-over-day weight changes and the entries and exits.
Two sections about the portfolio ahead follow, each when its data is in the lake (and a
sentence saying so when it is not): the cycle's theoretical portfolio against the day's
(the quantities corporate actions moved since the rebalance), and the next rebalance from
B3's latest preview (entering, leaving, weight changes). The data comes from the saved
queries, run on Athena; :mod:`polars` shapes the two sections' rows (typed columns from
Athena's strings, filters, sorts, counts) in :func:`shape_theoretical` and
:func:`shape_rebalance`, pure functions of the rows.
"""

from __future__ import annotations

import base64
import html
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

import matplotlib
import polars as pl

matplotlib.use("Agg")

import matplotlib.pyplot as plt

from services.pipeline import settings
from services.pipeline.b3.calendar import portfolio_label
from services.tool.analysis.athena import Result
from services.tool.analysis.queries import bind, saved_queries

#: Runs bound SQL and returns its rows (Athena in production, the emulator's locally).
Runner = Callable[[str], Result]
BLUE, GREEN, RED = "#1f4e79", "#2e7d32", "#c62828"


@dataclass(frozen=True)
class AheadSource:
    """Where a section about the portfolio ahead reads, and what it says when it cannot."""

    #: The table the section's saved query reads besides the day's.
    table: str
    #: What the table holds, as the sentence saying it is not catalogued names it.
    holds: str
    #: The sentence when the query has no rows (``{index}`` and ``{dt}`` filled in).
    absent: str


#: The sections about the portfolio ahead, by the saved query each runs.
AHEAD_SOURCES = {
    "theoretical_vs_day": AheadSource(
        settings.REFINED_THEORETICAL_TABLE,
        "The theoretical portfolio",
        "No theoretical portfolio of {index} for {dt} is in the lake, so there is nothing to "
        "compare the day's portfolio with.",
    ),
    "next_rebalance": AheadSource(
        settings.REFINED_PREVIEW_TABLE,
        "The preview",
        "No preview of {index} is in the lake: B3 publishes one only in the weeks before a "
        "rebalance (January, May, September).",
    ),
}
#: The tables the sections about the portfolio ahead read (see :func:`catalogued`); the
#: Glue job's own list of the tables ahead is :data:`glue.schema.AHEAD_TABLES`.
SECTION_TABLES = tuple(source.table for source in AHEAD_SOURCES.values())
#: A section's rows shaped for it (:class:`TheoreticalShape`, :class:`RebalanceShape`).
Shape = TypeVar("Shape")
#: Bars in a chart of changes.
TOP_CHANGES = 15


@dataclass
class Report:
    dt: str
    index: str
    previous_dt: str | None
    images: dict[str, Path] = field(default_factory=dict)
    html_path: Path | None = None


def latest_dt_before(glue: Any, database: str, table: str, index: str, dt: str) -> str | None:
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


def catalogued(glue: Any, database: str, names: Iterable[str]) -> set[str]:
    """Which of the tables ``names`` the catalogue has (a dataset ahead may not be deployed)."""
    found: set[str] = set()
    for name in names:
        try:
            glue.get_table(DatabaseName=database, Name=name)
        except glue.exceptions.EntityNotFoundException:
            continue
        found.add(name)
    return found


def build(
    runner: Runner,
    dt: str,
    index: str,
    previous_dt: str | None,
    out_dir: Path,
    available: Collection[str] = frozenset(),
) -> Report:
    """Query, draw and write ``out_dir/report-<index>-<dt>.html`` with its PNGs beside it.

    ``available`` names the tables of :data:`SECTION_TABLES` in the catalogue (see
    :func:`catalogued`); a section whose table is not there says so instead of querying it.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    values = {"dt": dt, "index_code": index, "previous_dt": previous_dt or dt}
    report = Report(dt, index, previous_dt)
    sections = [
        *_day_sections(runner, values, report, out_dir),
        *_change_sections(runner, values, report, out_dir),
        _ahead_section(
            "The cycle's theoretical portfolio against the day's",
            "theoretical_vs_day",
            shape_theoretical,
            lambda shape: _theoretical_body(shape, values, report, out_dir),
            runner,
            values,
            available,
        ),
        _ahead_section(
            "Next rebalance (B3's preview)",
            "next_rebalance",
            shape_rebalance,
            lambda shape: _rebalance_body(shape, values, report, out_dir),
            runner,
            values,
            available,
        ),
    ]
    report.html_path = out_dir / f"report-{index}-{dt}.html"
    report.html_path.write_text(_page(index, dt, sections), encoding="utf-8")
    return report


def _day_sections(
    runner: Runner, values: Mapping[str, str], report: Report, out_dir: Path
) -> list[str]:
    """The day's own charts: the 20 heaviest tickers and the weight by sector."""
    index, dt = values["index_code"], values["dt"]
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
    return [
        _figure("The 20 heaviest tickers", report.images["top_weights"]),
        _figure("Weight by sector", report.images["sectors"]),
    ]


def _change_sections(
    runner: Runner, values: Mapping[str, str], report: Report, out_dir: Path
) -> list[str]:
    """The changes since the earlier portfolio, or a sentence saying there is none."""
    index, dt, previous = values["index_code"], values["dt"], report.previous_dt
    if not previous:
        return [
            "<p>No earlier portfolio of this index is in the lake, so there are no "
            "day-over-day changes, entries or exits to show.</p>"
        ]
    rows = query(runner, "day_over_day", values)
    changes = [r for r in rows if r["change_pct"] is not None][:TOP_CHANGES]
    report.images["changes"] = _bar_chart(
        out_dir / f"changes-{index}-{dt}.png",
        [str(r["ticker"]) for r in changes],
        [_number(r["change_pct"]) for r in changes],
        f"{index}: largest weight changes, {previous} → {dt} (percentage points)",
        [GREEN if _number(r["change_pct"]) >= 0 else RED for r in changes],
    )
    return [
        _figure(f"Changes since {previous}", report.images["changes"]),
        _movements(query(runner, "entries_exits", values), previous, dt),
    ]


@dataclass(frozen=True)
class TheoreticalShape:
    """The theoretical-vs-day rows of one day and index, shaped for the report."""

    cycle: str | None
    tickers: int
    #: Tickers whose quantity moved since the rebalance: ticker, company, cycle_qty,
    #: day_qty, qty_change (Int64), qty_change_pct (Float64, for the chart only).
    moved: pl.DataFrame
    #: Tickers in only one of the two portfolios: ticker, company, present_in.
    one_side: pl.DataFrame
    #: Sum of |day weight - cycle weight| over the tickers in both, percentage points.
    weight_drift: Decimal


@dataclass(frozen=True)
class RebalanceShape:
    """The next-rebalance rows of one index, shaped for the report."""

    preview_dt: str
    portfolio_dt: str
    target_cycle: str
    contract: str
    #: Tickers per change (entering, leaving, weight change, unchanged), zero counts kept.
    counts: dict[str, int]
    #: Entering and leaving tickers: change, ticker, company, weights.
    moves: pl.DataFrame
    #: The largest weight changes (|preview - day|), at most :data:`TOP_CHANGES`.
    top_changes: pl.DataFrame


CHANGES = ("entering", "leaving", "weight change", "unchanged")


def _frame(
    rows: list[dict[str, str | None]], ints: Iterable[str], weights: Iterable[str]
) -> pl.DataFrame:
    """Athena's strings as typed columns: quantities Int64, weights exact decimals."""
    frame = pl.DataFrame(rows, schema={name: pl.String for name in rows[0]}, orient="row")
    return frame.with_columns(
        *(pl.col(name).cast(pl.Int64, strict=True) for name in ints),
        *(pl.col(name).str.to_decimal(scale=3) for name in weights),
    )


def shape_theoretical(rows: list[dict[str, str | None]]) -> TheoreticalShape | None:
    """The ``theoretical_vs_day`` rows shaped for the report; ``None`` when there are none."""
    if not rows:
        return None
    frame = _frame(
        rows,
        ("cycle_qty", "day_qty", "qty_change"),
        ("cycle_weight_pct", "day_weight_pct", "weight_change_pct"),
    )
    both = frame.filter(pl.col("present_in") == "both")
    moved = (
        both.filter(pl.col("qty_change") != 0)
        .with_columns(
            (pl.col("qty_change").cast(pl.Float64) / pl.col("cycle_qty") * 100).alias(
                "qty_change_pct"
            )
        )
        .sort([pl.col("qty_change_pct").abs(), "ticker"], descending=[True, False])
        .select("ticker", "company", "cycle_qty", "day_qty", "qty_change", "qty_change_pct")
    )
    cycles = frame["cycle"].drop_nulls().unique().to_list()
    drift = both["weight_change_pct"].abs().sum()
    return TheoreticalShape(
        cycle=cycles[0] if len(cycles) == 1 else None,
        tickers=frame.height,
        moved=moved,
        one_side=frame.filter(pl.col("present_in") != "both")
        .sort("present_in", "ticker")
        .select("ticker", "company", "present_in"),
        weight_drift=Decimal(drift if drift is not None else 0),
    )


def shape_rebalance(rows: list[dict[str, str | None]]) -> RebalanceShape | None:
    """The ``next_rebalance`` rows shaped for the report; ``None`` when there are none."""
    if not rows:
        return None
    frame = _frame(rows, (), ("day_weight_pct", "preview_weight_pct", "weight_change_pct"))
    (head,) = frame.select("preview_dt", "portfolio_dt", "target_cycle", "contract").unique().rows()
    counted = dict(frame.group_by("change").len().rows())
    weights = ("day_weight_pct", "preview_weight_pct", "weight_change_pct")
    return RebalanceShape(
        preview_dt=head[0],
        portfolio_dt=head[1],
        target_cycle=head[2],
        contract=head[3],
        counts={change: int(counted.get(change, 0)) for change in CHANGES},
        moves=frame.filter(pl.col("change").is_in(["entering", "leaving"]))
        .sort("change", "ticker")
        .select("change", "ticker", "company", *weights),
        top_changes=frame.filter(pl.col("change") == "weight change")
        .sort([pl.col("weight_change_pct").abs(), "ticker"], descending=[True, False])
        .head(TOP_CHANGES)
        .select("ticker", "company", *weights),
    )


def _ahead_section(
    title: str,
    name: str,
    shaper: Callable[[list[dict[str, str | None]]], Shape | None],
    body: Callable[[Shape], str],
    runner: Runner,
    values: Mapping[str, str],
    available: Collection[str],
) -> str:
    """A section about the portfolio ahead, from the saved query ``name``.

    It says so plainly when the query's table is not catalogued (not queried then) or when
    the query has no rows for this day and index; otherwise ``body`` renders the shape.
    """
    source, head = AHEAD_SOURCES[name], f"<h2>{title}</h2>"
    if source.table not in available:
        return f"{head}<p>{source.holds} is not catalogued in this lake.</p>"
    shape = shaper(query(runner, name, values))
    if shape is None:
        index, dt = html.escape(values["index_code"]), html.escape(values["dt"])
        return f"{head}<p>{source.absent.format(index=index, dt=dt)}</p>"
    return head + body(shape)


def _theoretical_body(
    shape: TheoreticalShape, values: Mapping[str, str], report: Report, out_dir: Path
) -> str:
    index, dt = values["index_code"], values["dt"]
    parts = [
        f"<p>Cycle {html.escape(shape.cycle or '?')}: {shape.tickers} tickers; "
        f"{shape.moved.height} with a quantity moved since the rebalance (corporate actions); "
        f"weights drifted {shape.weight_drift} percentage points in total (sum of "
        "|day - theoretical|).</p>"
    ]
    if shape.moved.height:
        moved = shape.moved.rows(named=True)
        report.images["theoretical"] = _bar_chart(
            out_dir / f"theoretical-{index}-{dt}.png",
            [f"{r['ticker']}  {r['company']}" for r in moved],
            [float(r["qty_change_pct"]) for r in moved],
            f"{index} on {dt}: quantity change since the rebalance (% of the theoretical)",
            [GREEN if r["qty_change"] >= 0 else RED for r in moved],
        )
        parts.append(_figure("Quantities moved since the rebalance", report.images["theoretical"]))
        heads = ("ticker", "company", "theoretical qty", "day qty", "change")
        cells = [
            (
                r["ticker"],
                r["company"],
                f"{r['cycle_qty']:,}",
                f"{r['day_qty']:,}",
                f"{r['qty_change']:+,}",
            )
            for r in moved
        ]
        parts.append(_table(heads, cells))
    else:
        parts.append("<p>No quantity moved since the rebalance.</p>")
    if shape.one_side.height:
        parts.append("<p>In only one of the two portfolios:</p>")
        parts.append(_table(("ticker", "company", "present in"), list(shape.one_side.iter_rows())))
    return "".join(parts)


def _rebalance_body(
    shape: RebalanceShape, values: Mapping[str, str], report: Report, out_dir: Path
) -> str:
    index, dt = html.escape(values["index_code"]), values["dt"]
    preview, cycle = html.escape(shape.preview_dt), html.escape(shape.target_cycle)
    if not shape.target_cycle > dt[:7]:
        return (
            f"<p>No preview ahead of {html.escape(dt)}: B3's latest preview of {index} in the "
            f"lake (fetched for the session of {preview}) is for the cycle {cycle}, which has "
            "begun.</p>"
        )
    counts = ", ".join(f"{n} {change}" for change, n in shape.counts.items())
    parts = [
        f"<p>B3's latest preview of {index} for the cycle {cycle} (fetched for the session of "
        f"{preview}) against the day's portfolio of {html.escape(shape.portfolio_dt)}: "
        f"{html.escape(counts)}. The preview is {html.escape(shape.contract)}: no live "
        "GetQuartelyPreview answer has been recorded to check its contract against.</p>",
    ]
    if shape.top_changes.height:
        top = shape.top_changes.rows(named=True)
        report.images["rebalance"] = _bar_chart(
            out_dir / f"rebalance-{values['index_code']}-{shape.preview_dt}.png",
            [f"{r['ticker']}  {r['company']}" for r in top],
            [float(r["weight_change_pct"]) for r in top],
            f"{values['index_code']}: largest weight changes at the next rebalance, "
            "preview - day (percentage points)",
            [GREEN if r["weight_change_pct"] >= 0 else RED for r in top],
        )
        parts.append(_figure("Largest weight changes", report.images["rebalance"]))
    if not shape.moves.height:
        return "".join([*parts, "<p>No ticker enters or leaves.</p>"])
    heads = ("change", "ticker", "company", "day %", "preview %")
    moves = shape.moves.select("change", "ticker", "company", "day_weight_pct",
                               "preview_weight_pct")  # fmt: skip
    return "".join([*parts, _table(heads, list(moves.iter_rows()))])


def _text(value: object) -> str:
    return "" if value is None else str(value)


def _table(head: tuple[str, ...], rows: list[tuple[Any, ...]]) -> str:
    header = "".join(f"<th>{html.escape(h)}</th>" for h in head)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(_text(v))}</td>" for v in row) + "</tr>" for row in rows
    )
    return f"<table><tr>{header}</tr>{body}</table>"


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

"""The refined tables' columns, spelled once: the job casts to them, the deployments
declare the tables from them. One table per dataset: their grain and columns differ, and
the unverified preview stays out of every query that does not name it."""

from __future__ import annotations

from dataclasses import dataclass

from services.pipeline import settings
from services.pipeline.b3.numbers import REDUCTOR_TYPE, WEIGHT_TYPE
from services.pipeline.lake.datasets import DAY, PREVIEW, THEORETICAL


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    meaning: str


def _columns(text: str) -> tuple[Column, ...]:
    """Lines of ``name type meaning``; an indented line continues the meaning."""
    rows: list[list[str]] = []
    for line in text.strip("\n").splitlines():
        if line.startswith(" "):
            rows[-1][2] += " " + line.strip()
        else:
            rows.append(line.split(maxsplit=2))
    return tuple(Column(*row) for row in rows)


#: B3 field names (raw layer) to refined names (transformation B).
RENAMES: dict[str, str] = {
    "cod": "ticker",
    "asset": "company",
    "segment": "sector",
    "type_normalized": "share_type",
    "type": "share_type_raw",
    "part": "weight_pct",
    "partAcum": "sector_weight_pct_b3",
    "theoricalQty": "theoretical_qty",
    "header_part": "index_weight_pct_b3",
    "header_theoricalQty": "index_theoretical_qty_b3",
    "header_reductor": "index_reductor",
    "fetched_at": "source_fetched_at",
    "body_sha256": "source_sha256",
    "index": "index_code",
}
#: The datasets ahead's: the day's where the fields coincide (no sector), plus ``cont``.
AHEAD_RENAMES: dict[str, str] = {
    **{raw: name for raw, name in RENAMES.items() if raw not in {"segment", "partAcum"}},
    "cont": "company_rank",
}

#: The day's data columns, in file order (the partition columns are the path).
COLUMNS = _columns(f"""
company string company name as B3 writes it (PETROBRAS)
sector string B3 sector / subsector
share_type string share type, single-spaced (ON NM)
share_type_raw string share type as B3 sends it (ON      NM)
weight_pct {WEIGHT_TYPE} the ticker's weight in the index, %
theoretical_qty bigint the ticker's theoretical quantity
company_weight_pct {WEIGHT_TYPE} sum of the company's tickers' weights, %
company_theoretical_qty bigint sum of the company's quantities
company_ticker_count int tickers of the company in the index
sector_weight_pct {WEIGHT_TYPE} sum of the sector's weights, %
sector_weight_pct_b3 {WEIGHT_TYPE} the sector's weight as B3 states it
sector_theoretical_qty bigint sum of the sector's quantities
sector_ticker_count int tickers of the sector in the index
index_ticker_count int tickers in the index that day
index_theoretical_qty bigint sum of every ticker's quantity
index_theoretical_qty_b3 bigint the index total as B3 states it
index_weight_pct_b3 {WEIGHT_TYPE} the index's total weight as B3 states it
index_reductor {REDUCTOR_TYPE} the index reductor (divisor)
trading_date date the trading date (B3's header.date)
trading_weekday int ISO weekday of the trading date, 1=Monday
rebalance_cycle_start date first B3 session of the portfolio's 4-month cycle (Jan/May/Sep)
next_rebalance_date date first B3 session of the next cycle
days_since_rebalance int calendar days since the cycle began
days_to_next_rebalance int calendar days until the next cycle
sessions_since_rebalance int B3 sessions after the cycle's first, up to the trading date
    (0 on the first)
sessions_to_next_rebalance int B3 sessions after the trading date, up to the next cycle's first
processing_date date the day the job ran (São Paulo)
days_since_trading int processing_date minus trading_date, days; negative when refined
    before its session
source_fetched_at timestamp when the scraper fetched B3's answer
source_sha256 string SHA-256 of B3's response body
""")
_DAY = {column.name: column for column in COLUMNS}

#: Partition columns, in path order; all strings.
PARTITION_COLUMNS = tuple(
    Column(name, "string", meaning)
    for name, meaning in zip(
        settings.REFINED_PARTITION_KEYS,
        ("trading date, YYYY-MM-DD", "B3 index code (IBOV)", "the asset's ticker (PETR4)"),
        strict=True,
    )
)


def _day(names: str) -> tuple[Column, ...]:
    return tuple(_DAY[name] for name in names.split())


def _ahead(rank: str, own: str, day: str = "") -> tuple[Column, ...]:
    """A dataset ahead's columns: the day's it shares, B3's rank, its ``own``, then ``day``'s."""
    return (
        *_day("company share_type share_type_raw weight_pct theoretical_qty"),
        Column("company_rank", "int", rank),
        *_day("company_weight_pct company_theoretical_qty company_ticker_count"),
        *_day("index_ticker_count index_theoretical_qty index_theoretical_qty_b3"),
        *_day("index_weight_pct_b3 index_reductor"),
        Column("trading_date", "date", "the session B3 served when it was fetched (dt)"),
        *_day("processing_date source_fetched_at source_sha256"),
        *_columns(own),
        *_day(day),
    )


THEORETICAL_COLUMNS = _ahead(
    "B3's cont: the row's rank by company name",
    """
cycle string the cycle containing the session, YYYY-MM of its first month
cycle_start date first B3 session of the cycle
""",
    "next_rebalance_date sessions_since_rebalance",
)
PREVIEW_COLUMNS = _ahead(
    "B3's cont: the row's rank by company name; NULL when B3 does not send it",
    f"""
target_cycle string the cycle the preview is for (the next one), YYYY-MM of its first month
target_cycle_start date first B3 session of the target cycle
sessions_to_target int B3 sessions after the trading date, up to the target cycle's first
contract string '{settings.PREVIEW_CONTRACT}': no GetQuartelyPreview answer is recorded to
    verify it
""",
)


@dataclass(frozen=True)
class Table:
    dataset: str  # the raw dataset it refines
    name: str
    prefix: str
    description: str
    columns: tuple[Column, ...]


DAY_TABLE = Table(
    DAY, settings.REFINED_TABLE, settings.REFINED_PREFIX,
    "B3 index portfolios of the day, refined (bovespa-pipeline)", COLUMNS,
)  # fmt: skip
THEORETICAL_TABLE = Table(
    THEORETICAL.name, settings.REFINED_THEORETICAL_TABLE, settings.REFINED_THEORETICAL_PREFIX,
    "B3 four-month theoretical portfolios, refined (bovespa-pipeline)", THEORETICAL_COLUMNS,
)  # fmt: skip
PREVIEW_TABLE = Table(
    PREVIEW.name, settings.REFINED_PREVIEW_TABLE, settings.REFINED_PREVIEW_PREFIX,
    "B3 previews of the next four-month portfolio, refined; UNVERIFIED against a live "
    "answer (bovespa-pipeline)", PREVIEW_COLUMNS,
)  # fmt: skip
#: Every refined table, the day's first.
TABLES = (DAY_TABLE, THEORETICAL_TABLE, PREVIEW_TABLE)
#: The tables of the datasets ahead, by raw dataset name.
AHEAD_TABLES = {t.dataset: t for t in (THEORETICAL_TABLE, PREVIEW_TABLE)}

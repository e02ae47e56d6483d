"""The refined layer's schema: one list of (column, type, meaning) per table, read by the
job, the catalogue, the Pulumi program and docs/refined-layer.md.

Three tables, one per dataset (:data:`TABLES`): the day's portfolio, the four-month
theoretical portfolio and the preview of the next one. One table per dataset, not a
``portfolio_kind`` partition: their grain and columns differ (no sector, B3's ``cont``
rank, a cycle), and the preview is unverified against a live answer, so a table of its
own keeps its rows out of every query over the verified tables unless a query names it.

Types are Hive/Athena type strings; Spark parses the same strings, so one list drives the
casts in the job and the Glue table's columns.
"""

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
    #: The raw (B3) column it was renamed from, or the transformation that computes it.
    source: str


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

#: A weight in percent, exact as B3 sends it (:mod:`services.pipeline.b3.numbers` owns it).
WEIGHT = WEIGHT_TYPE

#: Data columns, in file order (partition columns excluded).
COLUMNS: tuple[Column, ...] = (
    Column("company", "string", "company name as B3 writes it (PETROBRAS)", "asset"),
    Column("sector", "string", "B3 sector / subsector", "segment"),
    Column("share_type", "string", "share type, single-spaced (ON NM)", "type_normalized"),
    Column("share_type_raw", "string", "share type as B3 sends it (ON      NM)", "type"),
    Column("weight_pct", WEIGHT, "the ticker's weight in the index, %", "part"),
    Column("theoretical_qty", "bigint", "the ticker's theoretical quantity", "theoricalQty"),
    Column("company_weight_pct", WEIGHT, "sum of the company's tickers' weights, %", "A"),
    Column("company_theoretical_qty", "bigint", "sum of the company's quantities", "A"),
    Column("company_ticker_count", "int", "tickers of the company in the index", "A"),
    Column("sector_weight_pct", WEIGHT, "sum of the sector's weights, %", "A"),
    Column("sector_weight_pct_b3", WEIGHT, "the sector's weight as B3 states it", "partAcum"),
    Column("sector_theoretical_qty", "bigint", "sum of the sector's quantities", "A"),
    Column("sector_ticker_count", "int", "tickers of the sector in the index", "A"),
    Column("index_ticker_count", "int", "tickers in the index that day", "A"),
    Column("index_theoretical_qty", "bigint", "sum of every ticker's quantity", "A"),
    Column(
        "index_theoretical_qty_b3",
        "bigint",
        "the index total as B3 states it",
        "header_theoricalQty",
    ),
    Column(
        "index_weight_pct_b3", WEIGHT, "the index's total weight as B3 states it", "header_part"
    ),
    Column("index_reductor", REDUCTOR_TYPE, "the index reductor (divisor)", "header_reductor"),
    Column("trading_date", "date", "the trading date (B3's header.date)", "C"),
    Column("trading_weekday", "int", "ISO weekday of the trading date, 1=Monday", "C"),
    Column(
        "rebalance_cycle_start",
        "date",
        "first B3 session of the portfolio's 4-month cycle (Jan/May/Sep)",
        "C",
    ),
    Column("next_rebalance_date", "date", "first B3 session of the next cycle", "C"),
    Column("days_since_rebalance", "int", "calendar days since the cycle began", "C"),
    Column("days_to_next_rebalance", "int", "calendar days until the next cycle", "C"),
    Column(
        "sessions_since_rebalance",
        "int",
        "B3 sessions after the cycle's first, up to the trading date (0 on the first)",
        "C",
    ),
    Column(
        "sessions_to_next_rebalance",
        "int",
        "B3 sessions after the trading date, up to the next cycle's first",
        "C",
    ),
    Column("processing_date", "date", "the day the job ran (São Paulo)", "C"),
    Column(
        "days_since_trading",
        "int",
        "processing_date minus trading_date, days; negative when refined before its session",
        "C",
    ),
    Column("source_fetched_at", "timestamp", "when the scraper fetched B3's answer", "fetched_at"),
    Column("source_sha256", "string", "SHA-256 of B3's response body", "body_sha256"),
)

#: Partition columns, in path order; all strings.
PARTITION_COLUMNS: tuple[Column, ...] = (
    Column("dt", "string", "trading date, YYYY-MM-DD", "dt"),
    Column("index_code", "string", "B3 index code (IBOV)", "index"),
    Column("ticker", "string", "the asset's ticker (PETR4)", "cod"),
)


def _core(rank: str) -> tuple[Column, ...]:
    """The columns both datasets ahead have, in file order (AHEAD_SCHEMA's core)."""
    by_name = {c.name: c for c in COLUMNS}
    day = [by_name[name] for name in ("company", "share_type", "share_type_raw")]
    day += [by_name[name] for name in ("weight_pct", "theoretical_qty")]
    day.append(Column("company_rank", "int", rank, "cont"))
    day += [
        by_name[name]
        for name in (
            "company_weight_pct",
            "company_theoretical_qty",
            "company_ticker_count",
            "index_ticker_count",
            "index_theoretical_qty",
            "index_theoretical_qty_b3",
            "index_weight_pct_b3",
            "index_reductor",
        )
    ]
    day.append(
        Column("trading_date", "date", "the session B3 served when it was fetched (dt)", "C")
    )
    day += [by_name["processing_date"], by_name["source_fetched_at"], by_name["source_sha256"]]
    return tuple(day)


#: The theoretical portfolio's data columns, in file order.
THEORETICAL_COLUMNS: tuple[Column, ...] = (
    *_core("B3's cont: the row's rank by company name"),
    Column(
        "cycle", "string", "the cycle containing the session, YYYY-MM of its first month", "cycle"
    ),
    Column("cycle_start", "date", "first B3 session of the cycle", "C"),
    Column("next_rebalance_date", "date", "first B3 session of the next cycle", "C"),
    Column(
        "sessions_since_rebalance",
        "int",
        "B3 sessions after the cycle's first, up to the trading date (0 on the first)",
        "C",
    ),
)

#: The preview's data columns, in file order.
PREVIEW_COLUMNS: tuple[Column, ...] = (
    *_core("B3's cont: the row's rank by company name; NULL when B3 does not send it"),
    Column(
        "target_cycle",
        "string",
        "the cycle the preview is for (the next one), YYYY-MM of its first month",
        "target_cycle",
    ),
    Column("target_cycle_start", "date", "first B3 session of the target cycle", "C"),
    Column(
        "sessions_to_target",
        "int",
        "B3 sessions after the trading date, up to the target cycle's first",
        "C",
    ),
    Column(
        "contract",
        "string",
        f"'{settings.PREVIEW_CONTRACT}': no GetQuartelyPreview answer is recorded to verify it",
        "C",
    ),
)

#: B3 field names of the datasets ahead to refined names: the day's where the fields
#: coincide (they have no ``segment``/``partAcum``), plus ``cont``.
AHEAD_RENAMES: dict[str, str] = {
    **{raw: name for raw, name in RENAMES.items() if raw not in {"segment", "partAcum"}},
    "cont": "company_rank",
}


@dataclass(frozen=True)
class Table:
    """One refined table: its catalogue name, lake prefix, description and columns."""

    #: The raw dataset it refines: :data:`DAY_DATASET`, or a dataset ahead's name
    #: (:data:`services.pipeline.lake.datasets.DATASETS`).
    dataset: str
    name: str
    prefix: str
    description: str
    columns: tuple[Column, ...]
    partitions: tuple[Column, ...] = PARTITION_COLUMNS


#: The day's portfolio, as :attr:`Table.dataset` names it (the datasets ahead are named by
#: :data:`services.pipeline.lake.datasets.DATASETS`).
DAY_DATASET = DAY

DAY_TABLE = Table(
    DAY_DATASET,
    settings.REFINED_TABLE,
    settings.REFINED_PREFIX,
    "B3 index portfolios of the day, refined (bovespa-pipeline)",
    COLUMNS,
)
THEORETICAL_TABLE = Table(
    THEORETICAL.name,
    settings.REFINED_THEORETICAL_TABLE,
    settings.REFINED_THEORETICAL_PREFIX,
    "B3 four-month theoretical portfolios, refined (bovespa-pipeline)",
    THEORETICAL_COLUMNS,
)
PREVIEW_TABLE = Table(
    PREVIEW.name,
    settings.REFINED_PREVIEW_TABLE,
    settings.REFINED_PREVIEW_PREFIX,
    "B3 previews of the next four-month portfolio, refined; UNVERIFIED against a live "
    "answer (bovespa-pipeline)",
    PREVIEW_COLUMNS,
)
#: Every refined table, the day's first.
TABLES: tuple[Table, ...] = (DAY_TABLE, THEORETICAL_TABLE, PREVIEW_TABLE)
#: The tables of the datasets ahead, by raw dataset name.
AHEAD_TABLES: dict[str, Table] = {t.dataset: t for t in (THEORETICAL_TABLE, PREVIEW_TABLE)}

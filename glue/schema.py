"""The refined layer's schema: one list of (column, type, meaning), read by the job, the
catalogue and the README.

Types are Hive/Athena type strings; Spark parses the same strings, so one list drives the
casts in the job and the Glue table's columns.
"""

from __future__ import annotations

from dataclasses import dataclass


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

WEIGHT = "decimal(7,3)"

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
    Column("index_reductor", "decimal(24,8)", "the index reductor (divisor)", "header_reductor"),
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

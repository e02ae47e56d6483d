"""The three transformations: B renames B3's fields, A adds company-, sector- and
index-level totals per day, C places the trading day in B3's rebalance calendar and dates
its processing. No float is involved: weights stay decimals. C is computed on the driver,
once per trading day (:func:`date_features`), and joined: no Python function runs per row.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from glue.schema import (
    AHEAD_RENAMES,
    DAY_TABLE,
    PARTITION_COLUMNS,
    RENAMES,
    THEORETICAL_TABLE,
    Table,
)
from services.pipeline import settings
from services.pipeline.b3.calendar import count_sessions, first_session_of_month
from services.pipeline.b3.cycles import cycle_of
from services.pipeline.b3.numbers import WEIGHT_TYPE
from services.pipeline.lake.datasets import BY_NAME
from services.pipeline.lake.refined import DAY_COLUMNS

#: C, the date features of each trading day, joined on ``dt``.
DATE_FEATURES = (
    "dt string, trading_date date, trading_weekday int, rebalance_cycle_start date, "
    "next_rebalance_date date, days_since_rebalance int, days_to_next_rebalance int, "
    "sessions_since_rebalance int, sessions_to_next_rebalance int, processing_date date, "
    "days_since_trading int"
)


def date_features(day: date, processing_date: date) -> tuple[object, ...]:
    """C for one trading day, a row of :data:`DATE_FEATURES`: its ISO weekday; the first
    sessions of its four-month cycle (January, May, September) and of the next, the calendar
    days and the B3 sessions since the first (0 on it) and until the next (1 on a cycle's
    last session); the days from trading to processing (negative when refined before its
    session: B3 publishes a portfolio once the previous session has closed)."""
    cycle, following = cycle_of(day), cycle_of(day).next()
    start = first_session_of_month(cycle.year, cycle.first_month)
    end = first_session_of_month(following.year, following.first_month)
    return (
        *(day.isoformat(), day, day.isoweekday(), start, end, (day - start).days, (end - day).days),
        *(count_sessions(start, day), count_sessions(day, end), processing_date),
        (processing_date - day).days,
    )


def _totals(rows: DataFrame, level: str) -> DataFrame:
    """A: per day and index, the total weight and quantity of each ``level`` (company,
    sector), with its ticker count, joined to ``rows`` (null for a row without one: B3's CSV
    download has no sector)."""
    totals = (
        rows.where(F.col(level).isNotNull())
        .groupBy(*DAY_COLUMNS, level)
        .agg(
            F.sum("weight_pct").cast(WEIGHT_TYPE).alias(f"{level}_weight_pct"),
            F.sum("theoretical_qty").alias(f"{level}_theoretical_qty"),
            F.count("*").cast("int").alias(f"{level}_ticker_count"),
        )
    )
    return rows.join(totals, [*DAY_COLUMNS, level], "left")


def add_aggregates(rows: DataFrame, sectors: bool = True) -> DataFrame:
    """A: index, sector (reconciling with B3's ``partAcum``; the datasets ahead have none)
    and company (PETR3 + PETR4 are PETROBRAS) totals. The index's ticker count is taken
    before any join, so the job's check sees a row a join lost."""
    index = rows.groupBy(*DAY_COLUMNS).agg(
        F.count("*").cast("int").alias("index_ticker_count"),
        F.sum("theoretical_qty").alias("index_theoretical_qty"),
    )
    rows = _totals(_totals(rows, "sector") if sectors else rows, "company")
    return rows.join(index, list(DAY_COLUMNS))


def _place_ahead(rows: DataFrame, table: Table) -> DataFrame:
    """C for a dataset ahead: the theoretical portfolio's own cycle, the preview's target
    (the next) cycle, marked unverified."""
    if table is THEORETICAL_TABLE:
        return rows.withColumn("cycle_start", F.col("rebalance_cycle_start"))
    return rows.select(
        "*",
        F.col("next_rebalance_date").alias("target_cycle_start"),
        F.col("sessions_to_next_rebalance").alias("sessions_to_target"),
        F.lit(settings.PREVIEW_CONTRACT).alias("contract"),
    )


def refine(
    raw: DataFrame, table: Table, processing_date: date, trading_days: Iterable[date]
) -> DataFrame:
    """Raw rows to ``table``'s rows: B, A, C, cast to its columns. ``trading_days`` are the
    days of ``raw`` (a row of another day would be lost, which the job's checks report)."""
    day = table is DAY_TABLE
    renames = RENAMES if day else AHEAD_RENAMES
    kept = ["dt"] if day else [BY_NAME[table.dataset].period, "dt"]  # a raw cycle, as stored
    renamed = raw.select(*(F.col(f"`{old}`").alias(new) for old, new in renames.items()), *kept)
    dated = [date_features(d, processing_date) for d in sorted(set(trading_days))]
    features = F.broadcast(raw.sparkSession.createDataFrame(dated, DATE_FEATURES))
    rows = add_aggregates(renamed, sectors=day).join(features, "dt")
    rows = rows if day else _place_ahead(rows, table)
    return rows.select(
        *(F.col(c.name).cast(c.type).alias(c.name) for c in table.columns),
        *(F.col(c.name) for c in PARTITION_COLUMNS),
    )

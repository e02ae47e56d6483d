"""The three transformations, as pure ``DataFrame -> DataFrame`` functions.

* B, :func:`rename_columns`: B3's field names to readable English snake_case.
* A, :func:`add_aggregates`: company-, sector- and index-level sums and counts per day.
* C, :func:`add_date_features`: the trading date against the rebalance calendar and the
  processing date.

:func:`refine` chains them and casts to :data:`glue.schema.COLUMNS`. No float is ever
involved: weights stay ``decimal(7,3)``, quantities ``bigint``.
"""

from __future__ import annotations

from datetime import date

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from glue.schema import COLUMNS, PARTITION_COLUMNS, RENAMES, WEIGHT

DAY = ["dt", "index_code"]

#: B3 rebalances its main indices every four months: the portfolio takes effect in
#: January, May and September.
REBALANCE_MONTHS = (1, 5, 9)


def rename_columns(raw: DataFrame) -> DataFrame:
    """B: keep the raw columns the refined layer uses, under their readable names."""
    return raw.select(*(F.col(f"`{old}`").alias(new) for old, new in RENAMES.items()), "dt")


def add_aggregates(refined: DataFrame) -> DataFrame:
    """A: per day and index, the totals of each company, each sector and the whole index.

    Several companies list two tickers (PETR3/PETR4), so company totals differ from the
    ticker's own; sector totals can be reconciled with B3's ``partAcum``.
    """
    weight, qty = F.col("weight_pct"), F.col("theoretical_qty")
    company = refined.groupBy(*DAY, "company").agg(
        F.sum(weight).cast(WEIGHT).alias("company_weight_pct"),
        F.sum(qty).alias("company_theoretical_qty"),
        F.count("*").cast("int").alias("company_ticker_count"),
    )
    sector = refined.groupBy(*DAY, "sector").agg(
        F.sum(weight).cast(WEIGHT).alias("sector_weight_pct"),
        F.sum(qty).alias("sector_theoretical_qty"),
        F.count("*").cast("int").alias("sector_ticker_count"),
    )
    index = refined.groupBy(*DAY).agg(
        F.count("*").cast("int").alias("index_ticker_count"),
        F.sum(qty).alias("index_theoretical_qty"),
    )
    return refined.join(company, [*DAY, "company"]).join(sector, [*DAY, "sector"]).join(index, DAY)


def add_date_features(refined: DataFrame, processing_date: date) -> DataFrame:
    """C: where the trading date sits in the rebalance calendar, and how old the data is.

    The cycle start is the 1st of the latest of January, May or September on or before
    the trading date; the next rebalance is four months later. Days are calendar days.
    """
    trading = F.to_date("dt")
    month = F.month(trading)
    cycle_month = F.when(month < REBALANCE_MONTHS[1], REBALANCE_MONTHS[0]).when(
        month < REBALANCE_MONTHS[2], REBALANCE_MONTHS[1]
    )
    cycle_start = F.make_date(F.year(trading), cycle_month.otherwise(REBALANCE_MONTHS[2]), F.lit(1))
    processed = F.lit(processing_date)
    return refined.select(
        "*",
        trading.alias("trading_date"),
        _iso_weekday(trading).alias("trading_weekday"),
        cycle_start.alias("rebalance_cycle_start"),
        F.add_months(cycle_start, 4).alias("next_rebalance_date"),
        F.datediff(trading, cycle_start).alias("days_since_rebalance"),
        F.datediff(F.add_months(cycle_start, 4), trading).alias("days_to_next_rebalance"),
        processed.alias("processing_date"),
        F.datediff(processed, trading).alias("days_since_trading"),
    )


def refine(raw: DataFrame, processing_date: date) -> DataFrame:
    """Raw rows to refined rows: B, then A, then C, cast to the refined schema."""
    refined = add_date_features(add_aggregates(rename_columns(raw)), processing_date)
    return refined.select(
        *(F.col(c.name).cast(c.type).alias(c.name) for c in COLUMNS),
        *(F.col(c.name) for c in PARTITION_COLUMNS),
    )


def _iso_weekday(day: Column) -> Column:
    # Spark's dayofweek is 1=Sunday..7=Saturday; ISO is 1=Monday..7=Sunday.
    return ((F.dayofweek(day) + 5) % 7 + 1).cast("int")

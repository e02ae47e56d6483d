"""The three transformations, as pure ``DataFrame -> DataFrame`` functions.

* B, :func:`rename_columns`: B3's field names to readable English snake_case.
* A, :func:`add_aggregates`: company-, sector- and index-level sums and counts per day.
* C, :func:`add_date_features`: the trading date against B3's rebalance calendar and the
  processing date.

:func:`refine` chains them and casts to :data:`glue.schema.COLUMNS`. No float is ever
involved: weights stay ``decimal(7,3)``, quantities ``bigint``.

B3's calendar (:mod:`services.pipeline.b3.calendar`) is asked on the driver only, once per trading
day of the job: :func:`session_calendar` is a small DataFrame (a row per day) that C joins,
so no Python function runs per row and the values are the library's, locally and on AWS.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import DateType, IntegerType, StringType, StructField, StructType

from glue.schema import (
    AHEAD_RENAMES,
    COLUMNS,
    PARTITION_COLUMNS,
    PREVIEW_TABLE,
    RENAMES,
    THEORETICAL_TABLE,
    WEIGHT,
    Table,
)
from services.pipeline import settings
from services.pipeline.b3.calendar import count_sessions, first_session_of_month
from services.pipeline.b3.cycles import FIRST_MONTHS
from services.pipeline.lake.refined import DAY_COLUMNS

#: The columns of one index on one day (what the aggregates group by).
DAY = list(DAY_COLUMNS)

#: B3 rebalances its main indices every four months: the new portfolio takes effect on
#: the first session of January, May and September (the first months of B3's cycles).
REBALANCE_MONTHS = FIRST_MONTHS

#: The per-day calendar features that C joins on ``dt``.
SESSION_CALENDAR_SCHEMA = StructType(
    [
        StructField("dt", StringType(), nullable=False),
        StructField("rebalance_cycle_start", DateType(), nullable=False),
        StructField("next_rebalance_date", DateType(), nullable=False),
        StructField("sessions_since_rebalance", IntegerType(), nullable=False),
        StructField("sessions_to_next_rebalance", IntegerType(), nullable=False),
    ]
)


def rebalance_dates(day: date) -> tuple[date, date]:
    """``(cycle start, next rebalance)`` around ``day``: the latest first session of
    January, May or September on or before ``day``, and the first one after it."""
    firsts = [
        first_session_of_month(year, month)
        for year in (day.year - 1, day.year, day.year + 1)
        for month in REBALANCE_MONTHS
    ]
    return max(f for f in firsts if f <= day), min(f for f in firsts if f > day)


def session_features(day: date) -> tuple[str, date, date, int, int]:
    """One row of :data:`SESSION_CALENDAR_SCHEMA` for ``day``.

    Sessions since the rebalance count those after the cycle's first session up to
    ``day`` (0 on the first session); sessions to the next count those after ``day`` up
    to the next cycle's first session (1 on the last session of a cycle).
    """
    start, following = rebalance_dates(day)
    return (
        day.isoformat(),
        start,
        following,
        count_sessions(start, day),
        count_sessions(day, following),
    )


def session_calendar(spark: SparkSession, days: Iterable[date]) -> DataFrame:
    """The calendar features of each of ``days``, computed on the driver, as a DataFrame."""
    rows = [session_features(day) for day in sorted(set(days))]
    return spark.createDataFrame(rows, SESSION_CALENDAR_SCHEMA)


def rename_columns(raw: DataFrame) -> DataFrame:
    """B: keep the raw columns the refined layer uses, under their readable names."""
    return raw.select(*(F.col(f"`{old}`").alias(new) for old, new in RENAMES.items()), "dt")


def add_aggregates(refined: DataFrame) -> DataFrame:
    """A: per day and index, the totals of each company, each sector and the whole index.

    Several companies list two tickers (PETR3/PETR4), so company totals differ from the
    ticker's own; sector totals can be reconciled with B3's ``partAcum``.
    """
    weight, qty = F.col("weight_pct"), F.col("theoretical_qty")
    sector = refined.groupBy(*DAY, "sector").agg(
        F.sum(weight).cast(WEIGHT).alias("sector_weight_pct"),
        F.sum(qty).alias("sector_theoretical_qty"),
        F.count("*").cast("int").alias("sector_ticker_count"),
    )
    return _company_and_index(refined.join(sector, [*DAY, "sector"]))


def _company_and_index(refined: DataFrame) -> DataFrame:
    """A's company and index totals, which every dataset has (the datasets ahead no sector)."""
    weight, qty = F.col("weight_pct"), F.col("theoretical_qty")
    company = refined.groupBy(*DAY, "company").agg(
        F.sum(weight).cast(WEIGHT).alias("company_weight_pct"),
        F.sum(qty).alias("company_theoretical_qty"),
        F.count("*").cast("int").alias("company_ticker_count"),
    )
    index = refined.groupBy(*DAY).agg(
        F.count("*").cast("int").alias("index_ticker_count"),
        F.sum(qty).alias("index_theoretical_qty"),
    )
    return refined.join(company, [*DAY, "company"]).join(index, DAY)


def add_date_features(refined: DataFrame, processing_date: date, calendar: DataFrame) -> DataFrame:
    """C: where the trading date sits in B3's rebalance calendar, and how old the data is.

    ``calendar`` is :func:`session_calendar` of the trading days: the cycle start and the
    next rebalance (first sessions of January, May, September) and the sessions between.
    Days are calendar days. ``days_since_trading`` is negative for a portfolio refined
    before its session (B3 publishes it once the previous session has closed).
    """
    trading = F.to_date("dt")
    processed = F.lit(processing_date)
    return refined.join(F.broadcast(calendar), "dt").select(
        "*",
        trading.alias("trading_date"),
        _iso_weekday(trading).alias("trading_weekday"),
        F.datediff(trading, "rebalance_cycle_start").alias("days_since_rebalance"),
        F.datediff("next_rebalance_date", trading).alias("days_to_next_rebalance"),
        processed.alias("processing_date"),
        F.datediff(processed, trading).alias("days_since_trading"),
    )


def refine(raw: DataFrame, processing_date: date, trading_days: Iterable[date]) -> DataFrame:
    """Raw rows to refined rows: B, then A, then C, cast to the refined schema.

    ``trading_days`` are the days of ``raw`` (the job knows them from the partitions it
    reads); a row of another day would be lost, which the job's checks report.
    """
    calendar = session_calendar(raw.sparkSession, trading_days)
    refined = add_date_features(add_aggregates(rename_columns(raw)), processing_date, calendar)
    return refined.select(
        *(F.col(c.name).cast(c.type).alias(c.name) for c in COLUMNS),
        *(F.col(c.name) for c in PARTITION_COLUMNS),
    )


def refine_ahead(
    raw: DataFrame, table: Table, processing_date: date, trading_days: Iterable[date]
) -> DataFrame:
    """A dataset ahead's raw rows (theoretical portfolio or preview) to ``table``'s rows.

    B renames B3's fields as the day's are renamed where they coincide, ``cont`` to
    ``company_rank``, and keeps the raw cycle column; A adds the company and index totals
    (no sector: B3 sends none); C places the session ``dt`` in B3's calendar:

    * theoretical: ``cycle_start`` (first session of the cycle containing ``dt``), the
      ``next_rebalance_date`` and ``sessions_since_rebalance``;
    * preview: ``target_cycle_start`` (first session of the next cycle, the one previewed),
      ``sessions_to_target`` and ``contract`` (``'unverified'``).

    The cycle the scraper stored must be the one the calendar gives for ``dt`` (for the
    preview, the next one); :func:`ahead_cycle_mismatches` lists the days where it is not.
    """
    if table not in (THEORETICAL_TABLE, PREVIEW_TABLE):
        raise ValueError(f"{table.name} is not a table of a dataset ahead")
    calendar = session_calendar(raw.sparkSession, trading_days)
    period = "cycle" if table is THEORETICAL_TABLE else "target_cycle"
    renamed = raw.select(
        *(F.col(f"`{old}`").alias(new) for old, new in AHEAD_RENAMES.items()), period, "dt"
    )
    dated = _company_and_index(renamed).join(F.broadcast(calendar), "dt")
    if table is THEORETICAL_TABLE:
        dated = dated.select(
            "*",
            F.col("rebalance_cycle_start").alias("cycle_start"),
        )
    else:
        dated = dated.select(
            "*",
            F.col("next_rebalance_date").alias("target_cycle_start"),
            F.col("sessions_to_next_rebalance").alias("sessions_to_target"),
            F.lit(settings.PREVIEW_CONTRACT).alias("contract"),
        )
    dated = dated.select(
        "*", F.to_date("dt").alias("trading_date"), F.lit(processing_date).alias("processing_date")
    )
    return dated.select(
        *(F.col(c.name).cast(c.type).alias(c.name) for c in table.columns),
        *(F.col(c.name) for c in table.partitions),
    )


def ahead_cycle_mismatches(refined: DataFrame, table: Table) -> list[tuple[str, str]]:
    """The ``(dt, index_code)`` of :func:`refine_ahead`'s rows whose stored cycle is not
    the one B3's calendar gives for the session (for a preview, the next cycle)."""
    period, start = (
        ("cycle", "cycle_start")
        if table is THEORETICAL_TABLE
        else ("target_cycle", "target_cycle_start")
    )
    wrong = F.date_format(start, "yyyy-MM") != F.col(period)
    rows = refined.where(wrong).select(*DAY).distinct().collect()
    return sorted((row["dt"], row["index_code"]) for row in rows)


def _iso_weekday(day: Column) -> Column:
    # Spark's dayofweek is 1=Sunday..7=Saturday; ISO is 1=Monday..7=Sunday.
    return ((F.dayofweek(day) + 5) % 7 + 1).cast("int")

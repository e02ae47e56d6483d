"""Tickers and index codes as the Glue job checks them, with Spark's (Java's) regex.

The pure checks are in ``tests/unit/test_codes.py``; this one starts Spark.
"""

from __future__ import annotations

from typing import Any

from services.pipeline.b3.codes import INDEX_CODE_FULL, TICKER_FULL, is_index_code, is_ticker
from tests.unit.test_codes import HOSTILE


def test_spark_reads_the_patterns_alike(spark: Any) -> None:
    """The Glue job checks with Java's regex: same verdicts, trailing newline included."""
    from pyspark.sql import functions as F

    values = [*HOSTILE, "PETR4", "TAEE11", "IBOV", "ICO2"]
    frame = spark.createDataFrame([(v,) for v in values], "v string")
    rows = frame.select(
        "v", F.col("v").rlike(TICKER_FULL).alias("t"), F.col("v").rlike(INDEX_CODE_FULL).alias("i")
    ).collect()
    assert {r["v"]: (r["t"], r["i"]) for r in rows} == {
        v: (is_ticker(v), is_index_code(v)) for v in values
    }

"""The refined layer's key layout, for every refined table (each under its own prefix)::

    <prefix>/dt=<YYYY-MM-DD>/index_code=<INDEX>/ticker=<TICKER>/part-00000.snappy.parquet

Standard library only: the Glue job imports it.
"""

from __future__ import annotations

from typing import Final

from services.pipeline import settings

#: ``(dt, index_code)``: one index on one day, the unit the job publishes.
Day = tuple[str, str]
#: ``(dt, index_code, ticker)``: one refined partition.
PartitionValues = tuple[str, str, str]

REFINED_FILE_NAME: Final = "part-00000.snappy.parquet"

_DT, _INDEX, _TICKER = settings.REFINED_PARTITION_KEYS
DAY_COLUMNS: Final = (_DT, _INDEX)


def day_prefix(day: Day, prefix: str = settings.REFINED_PREFIX) -> str:
    """``<prefix>/dt=<dt>/index_code=<index>/``: every partition of one index on one day."""
    dt, index = day
    return f"{prefix}/{_DT}={dt}/{_INDEX}={index}/"


def refined_key(values: PartitionValues, prefix: str = settings.REFINED_PREFIX) -> str:
    dt, index, ticker = values
    return f"{day_prefix((dt, index), prefix)}{_TICKER}={ticker}/{REFINED_FILE_NAME}"

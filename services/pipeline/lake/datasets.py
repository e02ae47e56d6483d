"""What the scraper writes, and where: the day's portfolio under ``raw/`` and the datasets
ahead beside it (never under it: the bucket's rule starts the day's pipeline for any
``raw/*.parquet``)::

    raw/index=IBOV/dt=2025-07-10/portfolio.parquet
    raw-theoretical/index=IBOV/dt=2022-12-08/theoretical.parquet
    raw-preview/index=IBOV/dt=2024-12-16/preview.parquet      (or _no-preview.json)

with the bodies archived beside (``_b3-response-page-001.json``, ``-session.json``,
``-configuration.json``). ``dt`` is always the session B3 served.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Final

from services.pipeline import settings
from services.pipeline.lake import layout


@dataclass(frozen=True)
class Dataset:
    name: str
    prefix: str
    object_name: str
    #: The column (and summary field) naming the cycle its rows are for; none for the day's.
    period: str = ""


#: The name of the day's portfolio among the scraper's datasets (``event["dataset"]``).
DAY: Final = "day"
DAILY = Dataset(DAY, settings.RAW_PREFIX, settings.RAW_OBJECT_NAME)
THEORETICAL = Dataset("theoretical", "raw-theoretical", "theoretical.parquet", "cycle")
PREVIEW = Dataset("preview", "raw-preview", "preview.parquet", "target_cycle")
DATASETS = (THEORETICAL, PREVIEW)
#: Every dataset the scraper writes, by name: the day's first.
BY_NAME: Final = {dataset.name: dataset for dataset in (DAILY, *DATASETS)}
#: Every raw prefix of the lake: the day's portfolio (``raw/``), then each dataset's.
RAW_PREFIXES: tuple[str, ...] = tuple(dataset.prefix for dataset in BY_NAME.values())


def partition(dataset: Dataset, index: str, dt: date) -> str:
    return layout.partition(index, dt, prefix=dataset.prefix)


def object_key(dataset: Dataset, index: str, dt: date) -> str:
    return f"{partition(dataset, index, dt)}/{dataset.object_name}"


def no_preview_key(index: str, dt: date) -> str:
    return f"{partition(PREVIEW, index, dt)}/{settings.NO_PREVIEW_MARKER}"

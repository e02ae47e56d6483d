"""The datasets the scraper writes besides the day's portfolio, and their layout.

One partition per index and session B3 served when the dataset was fetched::

    raw-theoretical/index=IBOV/dt=2022-12-08/theoretical.parquet
    raw-theoretical/index=IBOV/dt=2022-12-08/_b3-response-page-001.json     (the body)
    raw-theoretical/index=IBOV/dt=2022-12-08/_b3-response-session.json      (GetPortfolioDay)
    raw-preview/index=IBOV/dt=2024-12-16/preview.parquet
    raw-preview/index=IBOV/dt=2024-12-16/_b3-response-page-001.json
    raw-preview/index=IBOV/dt=2024-12-16/_b3-response-configuration.json    (GetConfigurations)
    raw-preview/index=IBOV/dt=2024-12-16/_b3-response-session.json
    raw-preview/index=IBOV/dt=2025-07-10/_no-preview.json                   ("no preview now")

Why beside ``raw/`` and not under it: the bucket's EventBridge rule starts the day's
pipeline for any object matching ``raw/*.parquet`` (``*`` crosses ``/``), so a dataset
under ``raw/`` (``raw/theoretical/...`` or a second file in a day's partition) would
start executions, be listed by the Glue job's scan of ``raw/`` and trip the day's raw
contract. ``raw-theoretical/`` and ``raw-preview/`` match nothing of the day's pipeline
and still read as the raw layer. ``dt`` is a session, as in ``raw/``, so joining a
dataset with the day's portfolio is a join on ``(index, dt)``; the cycle is a column.
The archived bodies' keys are the day's (:mod:`services.pipeline.lake.layout`), in the
dataset's partition.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Final

from services.pipeline import settings
from services.pipeline.lake import layout


@dataclass(frozen=True)
class Dataset:
    """A dataset ahead: its name, top-level prefix, data object's name and cycle column."""

    name: str
    prefix: str
    object_name: str
    #: The column (and summary field) naming the cycle its rows are for.
    period: str


THEORETICAL = Dataset(
    "theoretical", settings.RAW_THEORETICAL_PREFIX, settings.THEORETICAL_OBJECT_NAME, "cycle"
)
PREVIEW = Dataset(
    "preview", settings.RAW_PREVIEW_PREFIX, settings.PREVIEW_OBJECT_NAME, "target_cycle"
)
DATASETS = (THEORETICAL, PREVIEW)
#: The name of the day's portfolio among the scraper's datasets (``event["dataset"]``), beside
#: the :data:`DATASETS` ahead; its layout is :mod:`services.pipeline.lake.layout`'s.
DAY: Final = "day"
#: Every dataset the scraper writes, by name: the day's first.
NAMES: Final = (DAY, *(dataset.name for dataset in DATASETS))
#: Every raw prefix of the lake: the day's portfolio (``raw/``), then each dataset's, beside it.
RAW_PREFIXES: tuple[str, ...] = (settings.RAW_PREFIX, *(dataset.prefix for dataset in DATASETS))


def partition(dataset: Dataset, index: str, dt: date) -> str:
    """``<prefix>/index=<INDEX>/dt=<YYYY-MM-DD>``; the index must be a B3 index code."""
    return layout.partition(index, dt, prefix=dataset.prefix)


def object_key(dataset: Dataset, index: str, dt: date) -> str:
    """Key of the dataset's Parquet object for that index and session."""
    return f"{partition(dataset, index, dt)}/{dataset.object_name}"


def no_preview_key(index: str, dt: date) -> str:
    """Key of the "no preview now" marker."""
    return f"{partition(PREVIEW, index, dt)}/{settings.NO_PREVIEW_MARKER}"

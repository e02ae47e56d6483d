"""Layout of the four-month datasets: every key is built and parsed here, nowhere else.

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
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Final

from services.pipeline import settings
from services.pipeline.b3.codes import INDEX_CODE
from services.pipeline.lake import layout


@dataclass(frozen=True)
class Dataset:
    """A raw dataset of its own: its name, top-level prefix and data object's name."""

    name: str
    prefix: str
    object_name: str


THEORETICAL = Dataset(
    "theoretical", settings.RAW_THEORETICAL_PREFIX, settings.THEORETICAL_OBJECT_NAME
)
PREVIEW = Dataset("preview", settings.RAW_PREVIEW_PREFIX, settings.PREVIEW_OBJECT_NAME)
DATASETS = (THEORETICAL, PREVIEW)
#: The name of the day's portfolio among the scraper's datasets (``event["dataset"]``), beside
#: the :data:`DATASETS` ahead; its layout is :mod:`services.pipeline.lake.layout`'s.
DAY: Final = "day"
#: Every raw prefix of the lake: the day's portfolio (``raw/``), then each dataset's, beside it.
RAW_PREFIXES: tuple[str, ...] = (settings.RAW_PREFIX, *(dataset.prefix for dataset in DATASETS))

_KEY = re.compile(
    layout.partition_regex(r"(?P<prefix>[^/]+)", INDEX_CODE, layout.DATE) + r"/(?P<name>[^/]+)"
)


@dataclass(frozen=True)
class DatasetKey:
    """A key of one of the :data:`DATASETS`, parsed."""

    dataset: Dataset
    index: str
    dt: date
    name: str

    @property
    def is_data(self) -> bool:
        """The dataset's Parquet object (not an archived body or a marker)."""
        return self.name == self.dataset.object_name


def partition(dataset: Dataset, index: str, dt: date) -> str:
    """``<prefix>/index=<INDEX>/dt=<YYYY-MM-DD>``; the index must be a B3 index code."""
    return layout.partition(index, dt, prefix=dataset.prefix)


def object_key(dataset: Dataset, index: str, dt: date) -> str:
    """Key of the dataset's Parquet object for that index and session."""
    return f"{partition(dataset, index, dt)}/{dataset.object_name}"


def response_key(dataset: Dataset, index: str, dt: date, page: int) -> str:
    """Key of the archived body of ``page`` of the dataset's own answer."""
    return layout.page_key(partition(dataset, index, dt), page)


def session_key(dataset: Dataset, index: str, dt: date) -> str:
    """Key of the archived ``GetPortfolioDay`` body that stated the session."""
    return layout.archived_key(partition(dataset, index, dt), "session")


def configuration_key(index: str, dt: date) -> str:
    """Key of the archived ``GetConfigurations`` body (preview only)."""
    return layout.archived_key(partition(PREVIEW, index, dt), "configuration")


def no_preview_key(index: str, dt: date) -> str:
    """Key of the "no preview now" marker."""
    return f"{partition(PREVIEW, index, dt)}/{settings.NO_PREVIEW_MARKER}"


def parse_key(key: str) -> DatasetKey | None:
    """The dataset, index, session and file name of ``key``; ``None`` for any other key."""
    match = _KEY.fullmatch(key)
    dataset = next((d for d in DATASETS if match and d.prefix == match["prefix"]), None)
    if match is None or dataset is None:
        return None
    try:
        dt = date.fromisoformat(match["dt"])
    except ValueError:
        return None
    return DatasetKey(dataset, match["index"], dt, match["name"])

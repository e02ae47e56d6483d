"""One owner for each fact the Glue job shares with the raw layer (issue 14).

Each test would fail if the job's copy of a fact drifted from its owner's.
"""

from __future__ import annotations

import json
import re
from datetime import date
from pathlib import Path

import pyarrow as pa
import pytest

from glue import transforms
from glue.job import parse_ahead
from glue.lakeio import RAW_DT, NoRawData, Pin, RawPartition, discover
from glue.schema import AHEAD_RENAMES, AHEAD_TABLES, DAY_DATASET, RENAMES, TABLES, Column
from services.pipeline import settings
from services.pipeline.b3.numbers import (
    REDUCTOR_PRECISION,
    REDUCTOR_SCALE,
    REDUCTOR_TYPE,
    WEIGHT_PRECISION,
    WEIGHT_SCALE,
    WEIGHT_TYPE,
)
from services.pipeline.lake import datasets, layout
from services.pipeline.lake.ahead import PREVIEW_SCHEMA, THEORETICAL_SCHEMA
from services.pipeline.lake.layout import DATE
from services.pipeline.lake.raw import RAW_SCHEMA
from services.pipeline.lake.refined import DAY_COLUMNS, day_prefix
from services.pipeline.lake.storage import LocalLake

_DECIMAL = re.compile(r"decimal\((\d+),(\d+)\)")


def _decimal(type_: str) -> tuple[int, int] | None:
    match = _DECIMAL.fullmatch(type_)
    return (int(match[1]), int(match[2])) if match else None


@pytest.mark.parametrize(
    ("raw", "renames", "table"),
    [(RAW_SCHEMA, RENAMES, 0), (THEORETICAL_SCHEMA, AHEAD_RENAMES, 1),
     (PREVIEW_SCHEMA, AHEAD_RENAMES, 2)],
)  # fmt: skip
def test_a_refined_decimal_is_the_raw_decimal_it_comes_from(
    raw: pa.Schema, renames: dict[str, str], table: int
) -> None:
    columns = {c.name: c for c in TABLES[table].columns}
    compared = 0
    for field in raw:
        if pa.types.is_decimal(field.type) and field.name in renames:
            refined = columns[renames[field.name]]
            assert _decimal(refined.type) == (field.type.precision, field.type.scale), refined
            compared += 1
    assert compared >= 3  # part, header_part, header_reductor


def test_every_refined_decimal_is_a_weight_or_the_reductor() -> None:
    assert _decimal(WEIGHT_TYPE) == (WEIGHT_PRECISION, WEIGHT_SCALE) == (7, 3)
    assert _decimal(REDUCTOR_TYPE) == (REDUCTOR_PRECISION, REDUCTOR_SCALE) == (24, 8)
    decimals: list[Column] = [c for t in TABLES for c in t.columns if c.type.startswith("decimal")]
    assert {c.type for c in decimals if c.name.endswith("weight_pct")} == {WEIGHT_TYPE}
    assert {c.type for c in decimals if c.name == "index_reductor"} == {REDUCTOR_TYPE}
    assert {c.type for c in decimals} == {WEIGHT_TYPE, REDUCTOR_TYPE}


def test_the_aggregates_group_by_the_refined_days_partition_columns() -> None:
    assert DAY_COLUMNS == settings.REFINED_PARTITION_KEYS[:2] == ("dt", "index_code")
    assert list(DAY_COLUMNS) == transforms.DAY
    assert day_prefix(("2025-07-10", "IBOV")) == "refined/dt=2025-07-10/index_code=IBOV/"


def test_the_jobs_dt_is_the_layouts_date() -> None:
    assert RAW_DT.pattern == DATE
    assert RAW_DT.fullmatch("2025-07-10")
    for not_a_dt in ("2025-7-10", "20250710", "\u0662\u0660\u0662\u0665-07-10", "2025-07-10\n"):
        assert not RAW_DT.fullmatch(not_a_dt)
        assert not re.fullmatch(DATE, not_a_dt)


def test_no_raw_data_names_the_raw_prefix(tmp_path: Path) -> None:
    lake = LocalLake(tmp_path)
    with pytest.raises(NoRawData) as caught:
        discover(lake, date(2025, 7, 10), date(2025, 7, 10))
    assert str(caught.value).endswith(f"under {lake.uri_of(settings.RAW_PREFIX)}")


def test_every_archived_page_is_keyed_by_the_layout() -> None:
    day = date(2025, 7, 10)
    assert layout.response_key("IBOV", day, 1) == (
        "raw/index=IBOV/dt=2025-07-10/_b3-response-page-001.json"
    )
    in_partition = layout.partition("IBOV", day)
    assert layout.response_key("IBOV", day, 12) == layout.page_key(in_partition, 12)
    for dataset in datasets.DATASETS:
        assert datasets.response_key(dataset, "IBOV", day, 3) == layout.page_key(
            datasets.partition(dataset, "IBOV", day), 3
        )
        assert datasets.session_key(dataset, "IBOV", day) == layout.archived_key(
            datasets.partition(dataset, "IBOV", day), "session"
        )
    assert datasets.configuration_key("IBOV", day) == layout.archived_key(
        datasets.partition(datasets.PREVIEW, "IBOV", day), "configuration"
    )


def test_the_refined_tables_are_named_by_the_raw_datasets() -> None:
    assert set(AHEAD_TABLES) == {d.name for d in datasets.DATASETS} == {"theoretical", "preview"}
    assert [t.dataset for t in TABLES] == [DAY_DATASET, *(d.name for d in datasets.DATASETS)]
    assert DAY_DATASET not in AHEAD_TABLES
    day = date(2022, 12, 8)
    for dataset in datasets.DATASETS:
        summary = {"dataset": dataset.name, "index": "IBOV", "dt": day.isoformat(),
                   "status": "stored", "object_sha256": "a" * 64, "version": None}  # fmt: skip
        (ahead,) = parse_ahead(json.dumps([summary]))
        assert ahead.part is not None
        assert ahead.part.key == datasets.object_key(dataset, "IBOV", day)
    assert RawPartition("IBOV", day, Pin("a" * 64)).key == layout.raw_key("IBOV", day)

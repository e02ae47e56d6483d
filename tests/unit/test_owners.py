"""One owner for each fact the Glue job shares with the raw layer (issue 14).

Each test would fail if the job's copy of a fact drifted from its owner's.
"""

from __future__ import annotations

import re

import pyarrow as pa
import pytest

from glue.schema import AHEAD_RENAMES, RENAMES, TABLES, Column
from services.pipeline.b3.numbers import (
    REDUCTOR_PRECISION,
    REDUCTOR_SCALE,
    REDUCTOR_TYPE,
    WEIGHT_PRECISION,
    WEIGHT_SCALE,
    WEIGHT_TYPE,
)
from services.pipeline.lake.ahead import PREVIEW_SCHEMA, THEORETICAL_SCHEMA
from services.pipeline.lake.raw import RAW_SCHEMA

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

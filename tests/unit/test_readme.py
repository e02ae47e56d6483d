"""The README documents the refined schema exactly as glue/schema.py defines it."""

from __future__ import annotations

from glue.schema import COLUMNS, PARTITION_COLUMNS
from services import settings


def test_every_refined_column_is_documented_with_its_type_and_meaning() -> None:
    readme = (settings.REPO_ROOT / "README.md").read_text(encoding="utf-8")
    for column in (*COLUMNS, *PARTITION_COLUMNS):
        assert f"| `{column.name}` | {column.type} | {column.meaning} |" in readme, column.name

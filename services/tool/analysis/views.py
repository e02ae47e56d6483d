"""Views over the refined table (``views/*.sql``), so the common questions are one line::

    SELECT * FROM "default"."b3_company_weights"
    WHERE dt = '2025-07-10' AND index_code = 'IBOV' ORDER BY weight_pct DESC

On AWS the Pulumi program creates them as Athena (Presto) views in the Glue catalogue.
The local emulator's Athena has no views, so :func:`inline` turns a query's references
to them into common table expressions; the SQL is the same.
"""

from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass
from pathlib import Path

from services.pipeline import settings

VIEWS_DIR = Path(__file__).with_name("views")
COLUMNS = re.compile(r"^-- Columns: (.+)$", re.MULTILINE)
#: Athena (Trino) types to the Hive types the Glue catalogue lists for a view's columns.
HIVE_TYPES = {"varchar": "string"}


@dataclass(frozen=True)
class View:
    name: str
    description: str
    columns: tuple[tuple[str, str], ...]  # (name, Athena type)
    select: str

    @property
    def reference(self) -> str:
        return f'"{settings.GLUE_DATABASE}"."{self.name}"'

    def hive_columns(self) -> list[tuple[str, str]]:
        return [(name, HIVE_TYPES.get(kind, kind)) for name, kind in self.columns]

    def presto_view_text(self) -> str:
        """``ViewOriginalText`` of an Athena view: its definition, base64-encoded JSON."""
        definition = {
            "originalSql": self.select,
            "catalog": "awsdatacatalog",
            "schema": settings.GLUE_DATABASE,
            "columns": [{"name": name, "type": kind} for name, kind in self.columns],
        }
        encoded = base64.b64encode(json.dumps(definition).encode()).decode()
        return f"/* Presto View: {encoded} */"


def load(path: Path) -> View:
    text = path.read_text(encoding="utf-8")
    match = COLUMNS.search(text)
    if match is None:
        raise ValueError(f"{path.name} lacks its '-- Columns:' line")
    columns = tuple(
        (name, kind)
        for name, kind in (c.strip().split(" ", 1) for c in re.split(r",(?![^()]*\))", match[1]))
    )
    select = "\n".join(line for line in text.splitlines() if not line.startswith("--")).strip()
    description = " ".join(
        line[3:] for line in text.splitlines() if line.startswith("-- ") and "Columns:" not in line
    )
    return View(path.stem, description, columns, select)


def views() -> dict[str, View]:
    return {path.stem: load(path) for path in sorted(VIEWS_DIR.glob("*.sql"))}


def inline(sql: str) -> str:
    """``sql`` with every view it names defined in a ``WITH`` clause (for engines without views)."""
    used = [view for view in views().values() if view.reference in sql]
    if not used:
        return sql
    for view in used:
        sql = sql.replace(view.reference, f'"{view.name}"')
    ctes = ",\n".join(f'"{view.name}" AS (\n{view.select}\n)' for view in used)
    head = re.match(r"\s*WITH\s", sql, re.IGNORECASE)
    if head:
        return f"WITH {ctes},\n{sql[head.end() :]}"
    return f"WITH {ctes}\n{sql}"

"""Views over the refined tables (``views/*.sql``), so the common questions are one line.

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
from services.tool.analysis.queries import header

VIEWS_DIR = Path(__file__).with_name("views")
#: Athena (Trino) types to the Hive types the Glue catalogue lists for a view's columns.
HIVE_TYPES = {"varchar": "string"}


@dataclass(frozen=True)
class View:
    name: str
    description: str
    columns: tuple[tuple[str, str], ...]  # (name, Athena type)
    select: str

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


def views() -> dict[str, View]:
    """Every view, by name; ``-- Columns: name type, …`` declares its columns."""
    found = {}
    for path in sorted(VIEWS_DIR.glob("*.sql")):
        text = path.read_text(encoding="utf-8")
        description, columns = header(text, "Columns")
        pairs = (c.strip().split(" ", 1) for c in re.split(r",(?![^()]*\))", columns))
        select = "\n".join(line for line in text.splitlines() if not line.startswith("--"))
        found[path.stem] = View(
            path.stem, description, tuple((n, k) for n, k in pairs), select.strip()
        )
    return found


def inline(sql: str) -> str:
    """``sql`` with every view it names defined in a ``WITH`` clause (for engines without views)."""
    qualified = {f'"{settings.GLUE_DATABASE}"."{name}"': view for name, view in views().items()}
    used = [view for reference, view in qualified.items() if reference in sql]
    if not used:
        return sql
    for reference, view in qualified.items():
        sql = sql.replace(reference, f'"{view.name}"')
    ctes = ",\n".join(f'"{view.name}" AS (\n{view.select}\n)' for view in used)
    head = re.match(r"\s*WITH\s", sql, re.IGNORECASE)
    return f"WITH {ctes},\n{sql[head.end() :]}" if head else f"WITH {ctes}\n{sql}"

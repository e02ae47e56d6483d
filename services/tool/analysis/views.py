"""Views over the refined tables (``views/*.sql``), so the common questions are one line.

On AWS they are Athena views in the Glue catalogue (the Pulumi program); for the local
emulator's Athena, which has none, :func:`inline` turns them into common table expressions.
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
        select = "\n".join(line for line in text.splitlines() if not line.startswith("--")).strip()
        found[path.stem] = View(path.stem, description, tuple((n, k) for n, k in pairs), select)
    return found


def inline(sql: str) -> str:
    """``sql`` with each view it names (``v``, ``default.v``, ``"default"."v"``) as a CTE."""
    if re.match(r"\s*(SHOW|DESC)", sql, re.IGNORECASE):  # names a view: it must exist
        return sql
    used = []
    for name, view in views().items():
        database = settings.GLUE_DATABASE  # unquoted names fold case: IGNORECASE
        reference = rf"(?<![\w.\"'])(?:\"?{database}\"?\s*\.\s*)?\"?{name}\"?(?![\w\"'])"
        sql, count = re.subn(reference, f'"{name}"', sql, flags=re.IGNORECASE)
        used += [view] if count else []
    if not used:
        return sql
    ctes = ",\n".join(f'"{view.name}" AS (\n{view.select}\n)' for view in used)
    head = re.match(r"\s*WITH\s", sql, re.IGNORECASE)
    return f"WITH {ctes},\n{sql[head.end() :]}" if head else f"WITH {ctes}\n{sql}"

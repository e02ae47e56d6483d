"""The saved queries (``queries/*.sql``): Athena's dialect (Trino), ``?`` parameters.

Each file starts with comment lines: what the query answers, then
``-- Parameters: name, name, ...`` naming each ``?`` in order (a name may repeat).
The Pulumi program publishes them as Athena named queries; ``bovespa query`` binds the
parameters by name.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from services.pipeline.errors import BadArgument

QUERIES_DIR = Path(__file__).with_name("queries")
#: What a parameter value may be: dates, index codes, tickers. Nothing to escape.
SAFE_VALUE = re.compile(r"[A-Za-z0-9_.\-]{1,40}")


@dataclass(frozen=True)
class SavedQuery:
    name: str
    description: str
    parameters: tuple[str, ...]
    sql: str


def header(text: str, key: str) -> tuple[str, str]:
    """A SQL file's leading comments: the description, and the value of ``-- <key>: …``."""
    comments = [line[3:] for line in text.splitlines() if line.startswith("-- ")]
    value = [c[len(key) + 2 :] for c in comments if c.startswith(f"{key}: ")]
    return " ".join(c for c in comments if not c.startswith(f"{key}: ")), "".join(value)


def saved_queries() -> dict[str, SavedQuery]:
    """Every saved query, by name (the file name without ``.sql``)."""
    found = {}
    for path in sorted(QUERIES_DIR.glob("*.sql")):
        text = path.read_text(encoding="utf-8")
        description, names = header(text, "Parameters")
        parameters = tuple(p.strip() for p in names.split(",") if p.strip())
        if text.count("?") != len(parameters):
            raise ValueError(f"{path.name}: {text.count('?')} '?' but {len(parameters)} parameters")
        found[path.stem] = SavedQuery(path.stem, description, parameters, text)
    return found


def bind(query: SavedQuery, values: Mapping[str, str]) -> str:
    """The query's SQL with each ``?`` replaced by its value as a string literal."""
    missing = sorted(set(query.parameters) - values.keys())
    if missing:
        raise BadArgument(f"query {query.name} needs --param {', '.join(missing)}")
    for name in query.parameters:
        if not SAFE_VALUE.fullmatch(values[name]):
            raise BadArgument(f"parameter {name}={values[name]!r} is not a date, code or ticker")
    literals = iter(f"'{values[name]}'" for name in query.parameters)
    return re.sub(r"\?", lambda _: next(literals), query.sql)

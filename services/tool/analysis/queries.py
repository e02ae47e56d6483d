"""The saved queries (``queries/*.sql``): Athena's dialect (Trino), ``?`` parameters.

Each file starts with comment lines: what the query answers, then
``-- Parameters: name, name, ...`` naming each ``?`` in order (a name may repeat).
The Pulumi program publishes them as Athena named queries; ``bovespa query`` binds the
parameters by name and runs them on the local stack.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from services.pipeline.errors import BadArgument

QUERIES_DIR = Path(__file__).with_name("queries")
PARAMETERS = re.compile(r"^-- Parameters: (.+)$", re.MULTILINE)
#: What a parameter value may be: dates, index codes, tickers. Nothing to escape.
SAFE_VALUE = re.compile(r"[A-Za-z0-9_.\-]{1,40}")


@dataclass(frozen=True)
class SavedQuery:
    name: str
    description: str
    parameters: tuple[str, ...]
    sql: str

    @property
    def names(self) -> list[str]:
        """The distinct parameter names, in first-use order."""
        return list(dict.fromkeys(self.parameters))


def load(path: Path) -> SavedQuery:
    text = path.read_text(encoding="utf-8")
    comments = [line[3:] for line in text.splitlines() if line.startswith("-- ")]
    match = PARAMETERS.search(text)
    parameters = tuple(p.strip() for p in match[1].split(",")) if match else ()
    if text.count("?") != len(parameters):
        raise ValueError(f"{path.name}: {text.count('?')} '?' but {len(parameters)} parameters")
    description = " ".join(c for c in comments if not c.startswith("Parameters:"))
    return SavedQuery(path.stem, description, parameters, text)


def saved_queries() -> dict[str, SavedQuery]:
    """Every saved query, by name (the file name without ``.sql``)."""
    return {path.stem: load(path) for path in sorted(QUERIES_DIR.glob("*.sql"))}


def bind(query: SavedQuery, values: Mapping[str, str]) -> str:
    """The query's SQL with each ``?`` replaced by its value as a string literal."""
    missing = [name for name in query.names if name not in values]
    if missing:
        raise BadArgument(f"query {query.name} needs --param {', '.join(missing)}")
    for name in query.names:
        if not SAFE_VALUE.fullmatch(values[name]):
            raise BadArgument(f"parameter {name}={values[name]!r} is not a date, code or ticker")
    literals = iter(f"'{values[name]}'" for name in query.parameters)
    return re.sub(r"\?", lambda _: next(literals), query.sql)

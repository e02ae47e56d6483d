"""Which SQL ``bovespa query`` runs: one read-only statement that touches no file.

Parsed with sqlglot as Athena (Trino) and as DuckDB (the local emulator's Athena, which
can read and write host files): each reading must be one query (or ``EXPLAIN`` of one)
over plain table names calling no function that reads files, settings or SQL strings;
``SHOW``/``DESCRIBE`` may only name things (DuckDB's ``DESCRIBE 'x.csv'`` reads a file).
"""

from __future__ import annotations

import re
from typing import Final

import sqlglot
from sqlglot import exp
from sqlglot.errors import SqlglotError

#: Athena refuses a longer ``QueryString`` (StartQueryExecution; not adjustable).
MAX_SQL_BYTES: Final = 262_144
DIALECTS: Final = ("athena", "duckdb")
#: Comments and blank space before the first keyword.
_LEADING = re.compile(r"(?:\s+|--[^\n]*(?:\n|$)|/\*.*?\*/)*", re.DOTALL)
_SHOW = re.compile(r"(SHOW|DESCRIBE|DESC)\b", re.IGNORECASE)
_NAMES_ONLY = re.compile(r"(SHOW|DESCRIBE|DESC)\s+[A-Za-z0-9_\s.\"`]+?;?\s*", re.IGNORECASE)
_EXPLAIN = re.compile(
    r"EXPLAIN(?:\s+ANALYZE)?(?:\s+VERBOSE)?(?:\s*\(\s*[A-Za-z_\s,]*\))?\s+", re.IGNORECASE
)
_NOT_READ_ONLY = "only read-only statements run (SELECT, WITH, SHOW, DESCRIBE, EXPLAIN); not "
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
#: Functions that reach outside the tables: files, extensions, settings, the environment,
#: SQL in a string (by prefix, or whole name).
_FORBIDDEN = re.compile(
    r"(read_|parquet_|sniff_|duckdb_|pragma_|iceberg_|delta_|sqlite_|postgres_|mysql_|http)"
    r"|(getenv|glob|query|query_table|current_setting|load_extension|system)$"
)


class QueryRefused(Exception):
    """The SQL is not one read-only statement over the catalogue's tables."""


def check_read_only(sql: str) -> None:
    """Return if ``sql`` may run; else raise :class:`QueryRefused` saying why, in one line."""
    size = len(sql.encode("utf-8"))
    if size > MAX_SQL_BYTES:
        raise QueryRefused(f"the SQL is {size} bytes; Athena takes at most {MAX_SQL_BYTES}")
    sql = sql[_LEADING.match(sql).end() :]  # type: ignore[union-attr]  # always matches
    if _SHOW.match(sql):
        if not _NAMES_ONLY.fullmatch(sql):
            raise QueryRefused("SHOW and DESCRIBE may only name tables or databases")
        return
    explained = _EXPLAIN.match(sql)
    query = sql[explained.end() :] if explained else sql
    first = re.match(r"[A-Za-z_]+|\(|", query)[0].upper()  # type: ignore[index]  # always matches
    kind = f"EXPLAIN of {first}" if explained else first or "an empty statement"
    refused = QueryRefused(_NOT_READ_ONLY + kind)
    if first not in ("SELECT", "WITH", "("):
        raise refused
    for dialect in DIALECTS:
        try:
            statements = [s for s in sqlglot.parse(query, read=dialect) if s is not None]
        except SqlglotError as error:
            why = (str(error).strip().splitlines() or [""])[0][:200]
            raise QueryRefused(f"the SQL does not parse as {dialect} SQL: {why}") from None
        if len(statements) != 1:
            raise QueryRefused(f"one statement at a time; this SQL has {len(statements)}")
        if not isinstance(statements[0], exp.Query):
            raise refused
        for node in statements[0].walk():
            _check(node)


def _check(node: exp.Expr) -> None:
    if isinstance(node, exp.DDL | exp.DML | exp.Command | exp.Copy):
        raise QueryRefused(f"{_NOT_READ_ONLY}a statement holding {node.key.upper()}")
    if isinstance(node, exp.Table) and not all(
        isinstance(part, exp.Identifier) and _NAME.fullmatch(part.name)
        for part in (node.args.get(key) for key in ("catalog", "db", "this"))
        if part is not None
    ):
        raise QueryRefused(
            f"a table must be a plain name, not {node.sql()[:80]!r}: "
            "table functions and file paths are refused"
        )
    if isinstance(node, exp.Func):
        name = (node.name if isinstance(node, exp.Anonymous) else node.sql_name()).lower()
        if _FORBIDDEN.match(name):
            raise QueryRefused(f"the function {name}() reaches outside the tables: refused")

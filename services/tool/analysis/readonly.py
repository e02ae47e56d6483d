"""Which SQL ``bovespa query`` runs: one read-only statement that touches no file.

The statement is parsed, not pattern-matched, with sqlglot (a maintained SQL parser with
an Athena/Trino and a DuckDB dialect), in both dialects: Athena runs it on AWS, and the
local emulator's Athena runs it with DuckDB, which can also read and write host files
(``read_text``, ``read_csv('/etc/passwd')``, ``FROM 'file.csv'``, ``COPY … TO``,
``ATTACH``, ``INSTALL``/``LOAD``). Both readings must pass:

* exactly one statement;
* a query (``SELECT``, ``WITH … SELECT``, ``UNION``…), ``EXPLAIN`` of one, or a ``SHOW`` /
  ``DESCRIBE`` of names only (no literal, no parenthesis: DuckDB's ``DESCRIBE 'x.csv'``
  reads a file);
* every table is a plain name (letters, digits, ``_``), so no table function and no file
  path in ``FROM``, and no function that reads files, the environment or other SQL;
* at most :data:`MAX_SQL_BYTES`, Athena's own limit on a query string.
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
#: A table's, database's or catalogue's name part (Glue names are narrower still).
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
#: ``SHOW …`` / ``DESCRIBE …`` may only name things: words, dots and double quotes.
_NAMES_ONLY = re.compile(r"\s*(SHOW|DESCRIBE|DESC)\s+[A-Za-z0-9_\s.\"`]+?;?\s*", re.IGNORECASE)
#: ``EXPLAIN [ANALYZE] [(options)]`` before the statement it explains.
_EXPLAIN = re.compile(
    r"\s*EXPLAIN(?:\s+ANALYZE)?(?:\s+VERBOSE)?(?:\s*\(\s*[A-Za-z_ ,]*\))?\s+", re.IGNORECASE
)
#: Functions that reach outside the tables: files, extensions, settings, the environment,
#: SQL in a string. Names are compared in lower case; a prefix ends in ``_``.
_FORBIDDEN_FUNCTIONS: Final = frozenset(
    {"getenv", "glob", "query", "query_table", "current_setting", "load_extension", "system"}
)
_FORBIDDEN_PREFIXES: Final = (
    "read_",
    "parquet_",
    "sniff_",
    "duckdb_",
    "pragma_",
    "iceberg_",
    "delta_",
    "sqlite_",
    "postgres_",
    "mysql_",
    "http",
)
_QUERIES = (exp.Select, exp.SetOperation)
#: Comments and blank space before the first keyword.
_LEADING = re.compile(r"(?:\s+|--[^\n]*(?:\n|$)|/\*.*?\*/)*", re.DOTALL)
_READ_ONLY_KEYWORDS = frozenset({"SELECT", "WITH", "SHOW", "DESCRIBE", "DESC", "EXPLAIN", "VALUES"})


class QueryRefused(Exception):
    """The SQL is not one read-only statement over the catalogue's tables."""


def check_read_only(sql: str) -> None:
    """Return if ``sql`` may run; else raise :class:`QueryRefused` saying why, in one line."""
    size = len(sql.encode("utf-8"))
    if size > MAX_SQL_BYTES:
        raise QueryRefused(f"the SQL is {size} bytes; Athena takes at most {MAX_SQL_BYTES}")
    sql = sql[_LEADING.match(sql).end() :]  # type: ignore[union-attr]  # always matches
    first = _first_word(sql)
    if first not in _READ_ONLY_KEYWORDS and not sql.startswith("("):
        raise QueryRefused(_not_read_only(first or "an empty statement"))
    explained = _EXPLAIN.match(sql)
    if explained:
        _check_query(sql[explained.end() :], "EXPLAIN")
        return
    if re.match(r"\s*(SHOW|DESCRIBE|DESC)\b", sql, re.IGNORECASE):
        if not _NAMES_ONLY.fullmatch(sql):
            raise QueryRefused(
                "SHOW and DESCRIBE may only name tables or databases (no quotes, literals, "
                "parentheses or second statement)"
            )
        return
    _check_query(sql, "")


def _check_query(sql: str, context: str) -> None:
    for dialect in DIALECTS:
        statement = _one_statement(sql, dialect)
        if not isinstance(statement, _QUERIES):
            kind = _first_word(sql[_LEADING.match(sql).end() :])  # type: ignore[union-attr]
            raise QueryRefused(_not_read_only(f"{context} of {kind}" if context else kind))
        for node in statement.walk():
            _check_node(node)


def _first_word(sql: str) -> str:
    word = re.match(r"[A-Za-z_]+", sql)
    return word[0].upper() if word else ""


def _not_read_only(what: str) -> str:
    return f"only read-only statements run (SELECT, WITH, SHOW, DESCRIBE, EXPLAIN); not {what}"


def _one_statement(sql: str, dialect: str) -> exp.Expr:
    try:
        statements = [s for s in sqlglot.parse(sql, read=dialect) if s is not None]
    except SqlglotError as error:
        first = str(error).strip().splitlines()[0] if str(error).strip() else ""
        raise QueryRefused(f"the SQL does not parse as {dialect} SQL: {first[:200]}") from None
    if len(statements) != 1:
        raise QueryRefused(f"one statement at a time; this SQL has {len(statements)}")
    return statements[0]


def _check_node(node: exp.Expr) -> None:
    if isinstance(node, exp.DDL | exp.DML | exp.Command | exp.Copy):
        raise QueryRefused(_not_read_only(f"a statement holding {node.key.upper()}"))
    if isinstance(node, exp.Table):
        parts = [node.args.get(key) for key in ("catalog", "db", "this")]
        for part in parts:
            if part is not None and not (
                isinstance(part, exp.Identifier) and _NAME.fullmatch(part.name)
            ):
                raise QueryRefused(
                    f"a table must be a plain name, not {node.sql()[:80]!r}: "
                    "table functions and file paths are refused"
                )
    if isinstance(node, exp.Func):
        name = (node.name if isinstance(node, exp.Anonymous) else node.sql_name()).lower()
        if name in _FORBIDDEN_FUNCTIONS or name.startswith(_FORBIDDEN_PREFIXES):
            raise QueryRefused(f"the function {name}() reaches outside the tables: refused")

"""``bovespa query`` runs one read-only statement that touches no file, or refuses it."""

from __future__ import annotations

import re

import pytest

from services.tool.analysis.queries import bind, saved_queries
from services.tool.analysis.readonly import MAX_SQL_BYTES, QueryRefused, check_read_only
from services.tool.analysis.views import inline, views

TABLE = '"default"."b3_index_portfolio"'


@pytest.mark.parametrize(
    "sql",
    [
        f"SELECT dt, count(*) AS tickers FROM {TABLE} GROUP BY dt",
        f"WITH d AS (SELECT * FROM {TABLE}) SELECT ticker FROM d WHERE dt = '2025-07-10';",
        f"SELECT ticker FROM {TABLE} UNION ALL SELECT ticker FROM {TABLE}",
        f"-- a comment first\nSELECT * FROM {TABLE} CROSS JOIN UNNEST(ARRAY[1, 2]) AS u(x)",
        "SHOW TABLES",
        "SELECT\t1",
        "EXPLAIN\t(FORMAT\tJSON)\tSELECT\n1",
        "SHOW PARTITIONS default.b3_index_portfolio",
        "DESCRIBE default.b3_index_portfolio",
        f"EXPLAIN SELECT * FROM {TABLE}",
        f"EXPLAIN ANALYZE SELECT count(*) FROM {TABLE}",
        'SELECT * FROM "default"."b3_company_weights" WHERE dt = \'2025-07-10\'',
    ],
)
def test_read_only_statements_run(sql: str) -> None:
    check_read_only(sql)


def test_every_saved_query_and_view_is_read_only() -> None:
    values = {"index_code": "IBOV", "ticker": "PETR4"}
    for query in saved_queries().values():
        sql = bind(query, {name: values.get(name, "2025-07-10") for name in query.parameters})
        check_read_only(sql)
        check_read_only(inline(sql))
    for view in views().values():
        check_read_only(view.select)


@pytest.mark.parametrize(
    ("sql", "why"),
    [
        (f"DROP TABLE {TABLE}", "not DROP"),
        (f"DROP TABLE IF EXISTS {TABLE}", "not DROP"),
        ("CREATE TABLE x AS SELECT 1", "not CREATE"),
        (f"INSERT INTO {TABLE} SELECT * FROM {TABLE}", "not INSERT"),
        (f"DELETE FROM {TABLE}", "not DELETE"),
        ("ALTER TABLE x ADD COLUMNS (y int)", "not ALTER"),
        (f"SELECT 1; DROP TABLE {TABLE}", "one statement at a time; this SQL has 2"),
        ("SELECT 1; SELECT 2", "this SQL has 2"),
        ("COPY (SELECT 1) TO '/tmp/out.csv'", "not COPY"),
        ("ATTACH '/tmp/x.duckdb' AS x", "not ATTACH"),
        ("INSTALL httpfs", "not INSTALL"),
        ("LOAD httpfs", "not LOAD"),
        ("PRAGMA version", "not PRAGMA"),
        ("SET enable_external_access = true", "not SET"),
        ("CALL pragma_version()", "not CALL"),
        ("", "not an empty statement"),
        ("WITH a AS (SELECT 1) INSERT INTO t SELECT * FROM a", "not WITH"),
        ("SELECT 1 AS x" + " " * MAX_SQL_BYTES, f"Athena takes at most {MAX_SQL_BYTES}"),
        ("SELECT * FROM read_text('/etc/passwd')", "table must be a plain name"),
        ("SELECT * FROM read_csv('/etc/passwd')", "table must be a plain name"),
        ("SELECT * FROM read_parquet('/x/*.parquet')", "table must be a plain name"),
        ("SELECT * FROM '/etc/passwd'", "table must be a plain name"),
        ("FROM '/etc/passwd'", "not FROM"),
        ('SELECT * FROM "data.csv"', "table must be a plain name"),
        ("SELECT * FROM query('DROP TABLE x')", "table must be a plain name"),
        ("SELECT read_text('/etc/passwd')", "read_text() reaches outside"),
        ("SELECT getenv('HOME')", "getenv() reaches outside"),
        ("SELECT x FROM t WHERE y IN (SELECT read_blob('/etc/shadow'))", "read_blob()"),
        ("WITH a AS (SELECT * FROM read_text('/etc/passwd')) SELECT * FROM a", "plain name"),
        ("EXPLAIN DROP TABLE x", "not EXPLAIN of DROP"),
        ("EXPLAIN SELECT * FROM read_text('/etc/passwd')", "plain name"),
        ("DESCRIBE '/etc/passwd'", "may only name tables"),
        ("DESCRIBE SELECT * FROM read_csv('/x')", "may only name tables"),
        ("SHOW TABLES; DROP TABLE x", "may only name tables"),
        ("-- hidden\nDROP TABLE x", "not DROP"),
        ("/* hidden */ DROP TABLE x", "not DROP"),
    ],
)
def test_anything_else_is_refused_in_one_line(sql: str, why: str) -> None:
    with pytest.raises(QueryRefused, match=re.escape(why)) as err:
        check_read_only(sql)
    assert "\n" not in str(err.value)

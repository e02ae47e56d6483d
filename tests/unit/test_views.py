"""Views inlined for engines that have none (the local emulator's Athena)."""

from __future__ import annotations

import pytest

from services.tool.analysis.views import inline


@pytest.mark.parametrize(
    "name", ['"default"."b3_company_weights"', "default.B3_company_weights", "b3_company_weights"]
)
def test_a_query_naming_a_view_gets_it_as_a_cte(name: str) -> None:
    sql = inline(f"SELECT * FROM {name} WHERE dt = '2025-07-10'")
    assert sql.startswith('WITH "b3_company_weights" AS (\nSELECT dt, index_code, company')
    assert sql.endswith("SELECT * FROM \"b3_company_weights\" WHERE dt = '2025-07-10'")


def test_an_existing_with_clause_is_extended() -> None:
    sql = inline('WITH x AS (SELECT 1) SELECT * FROM x, "default"."b3_sector_weights"')
    assert sql.startswith('WITH "b3_sector_weights" AS (')
    assert sql.endswith(',\nx AS (SELECT 1) SELECT * FROM x, "b3_sector_weights"')


@pytest.mark.parametrize(
    "sql", ['SELECT count(*) FROM "default"."b3_index_portfolio"', "DESCRIBE b3_company_weights"]
)
def test_other_sql_is_untouched(sql: str) -> None:
    assert inline(sql) == sql

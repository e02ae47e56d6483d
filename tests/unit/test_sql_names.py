"""The saved queries, the views and the notebook name the catalogue's tables as the code
does: every ``"database"."table"`` in their SQL is :data:`settings.GLUE_DATABASE` and one
of the refined tables or the views, so renaming a table in ``settings`` cannot leave a
query reading a table that is no longer deployed."""

from __future__ import annotations

import json
import re

from services.pipeline import settings
from services.tool.analysis.queries import QUERIES_DIR
from services.tool.analysis.views import VIEWS_DIR

#: A qualified name as the SQL writes it: ``"default"."b3_index_portfolio"`` (or backticks,
#: as Spark SQL in the notebook writes it).
QUALIFIED = re.compile(r'(["`])(?P<database>[A-Za-z_][\w]*)\1\.(["`])(?P<table>[A-Za-z_][\w]*)\3')
NOTEBOOK = QUERIES_DIR.parent / "b3_index_portfolio.ipynb"
TABLES = {
    settings.REFINED_TABLE,
    settings.REFINED_THEORETICAL_TABLE,
    settings.REFINED_PREVIEW_TABLE,
}


def sql_texts() -> dict[str, str]:
    files = sorted([*QUERIES_DIR.glob("*.sql"), *VIEWS_DIR.glob("*.sql")])
    texts = {path.name: path.read_text(encoding="utf-8") for path in files}
    cells = json.loads(NOTEBOOK.read_text(encoding="utf-8"))["cells"]
    texts[NOTEBOOK.name] = "".join("".join(cell["source"]) for cell in cells)
    return texts


def names_in(text: str) -> set[tuple[str, str]]:
    return {(m["database"], m["table"]) for m in QUALIFIED.finditer(text)}


def test_every_qualified_name_is_the_catalogues() -> None:
    views = {path.stem for path in VIEWS_DIR.glob("*.sql")}
    texts = sql_texts()
    assert len(texts) > 10  # the queries, the views and the notebook
    named = {name: names_in(text) for name, text in texts.items()}
    unknown = {
        f"{file}: {database}.{table}"
        for file, pairs in named.items()
        for database, table in pairs
        if database != settings.GLUE_DATABASE or table not in TABLES | views
    }
    assert not unknown, sorted(unknown)

"""The local emulator's ASGI app: MiniStack, with its Athena corrected where it differs.

MiniStack answers Athena SQL with DuckDB (a fresh in-memory connection per query), which
could read or write any host file (``read_text('/etc/passwd')``, ``COPY … TO``,
``ATTACH``): every connection has external access off, files only under ``TMPDIR`` (where
MiniStack copies a table's objects), its configuration locked.
``StopQueryExecution`` interrupts the query; ``SHOW TABLES`` and ``DESCRIBE`` are answered
from the Glue catalogue; a missing qualified table is Athena's ``TABLE_NOT_FOUND``.

MiniStack's crawler (a timer: it infers nothing) takes 1 second here, not 5. ``bovespa
local up`` and the tests run this app; with ``BOVESPA_CALL_LOG`` set, it records the
components' calls (:mod:`services.tool.local.recorder`).
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
from contextvars import ContextVar
from pathlib import Path
from typing import Any
from weakref import WeakValueDictionary

import duckdb
import ministack.app
from ministack.app import app
from ministack.core import persistence
from ministack.services import athena, glue

from services.tool.local.recorder import CALL_LOG_ENV, recorder

__all__ = ["app", "confined_connect"]

_connect = duckdb.connect
_query: ContextVar[str] = ContextVar("query")
_running: WeakValueDictionary[str, Any] = WeakValueDictionary()  # query id -> its connection


def confined_connect(database: Any = ":memory:", *args: Any, **kwargs: Any) -> Any:
    """``duckdb.connect``, then: files only under ``TMPDIR``, no extensions, locked."""
    connection = _connect(database, *args, **kwargs)
    quoted = (tempfile.gettempdir().rstrip("/") + "/").replace("'", "''")
    for statement in (
        f"SET allowed_directories = ['{quoted}']",
        # MiniStack sets this per query; once locked it cannot, so it is set here.
        "SET disabled_optimizers = 'type_pushdown'",
        "SET enable_external_access = false",
        "SET autoinstall_known_extensions = false",
        "SET autoload_known_extensions = false",
        "SET lock_configuration = true",
    ):
        connection.execute(statement)
    _running[_query.get("")] = connection
    return connection


duckdb.connect = confined_connect
_execute, _stop, _run = athena._execute_query, athena._stop_query_execution, athena._run_duckdb


async def _execute_query(query_id: str, *args: Any) -> None:
    _query.set(query_id)  # asyncio.to_thread copies it to the thread that connects
    await _execute(query_id, *args)


def _stop_query_execution(data: dict[str, Any]) -> Any:
    query_id = data.get("QueryExecutionId", "")
    if (connection := _running.pop(query_id, None)) is not None:
        # The interrupted run marks FAILED the execution it holds; Athena's stays CANCELLED.
        stopped = athena._executions[query_id]
        athena._executions[query_id] = {**stopped, "Status": dict(stopped["Status"])}
        with contextlib.suppress(duckdb.Error):  # it may have just ended
            connection.interrupt()
    return _stop(data)


_SHOW = re.compile(r'(?i)\s*(SHOW\s+TABLES|(?:SHOW\s+COLUMNS\s+FROM|DESC(?:RIBE)?)\s+([\w."]+))\W*')


async def _run_duckdb(query: str, database: str, catalog: str | None = None) -> dict[str, Any]:
    shown = _SHOW.fullmatch(query)
    named = [shown[2].replace('"', "").lower()] if shown and shown[2] else []
    refs = athena._table_references(query)
    named += [f"{r.database}.{r.table}" for r in refs if r.database and not r.catalog]
    keys = [(name if "." in name else f"{database}.{name}").replace(".", "/", 1) for name in named]
    for key in (key for key in keys if key not in glue._tables):
        raise ValueError(f"TABLE_NOT_FOUND: Table '{key.replace('/', '.')}' does not exist")
    if shown is None:
        return await _run(query, database, catalog)  # type: ignore[no-any-return]
    if not keys:
        tables = sorted(key.split("/")[1] for key in glue._tables if key.startswith(f"{database}/"))
        return {"columns": ["tab_name"], "rows": [[table] for table in tables]}
    table = glue._tables[keys[0]]
    columns = table["StorageDescriptor"]["Columns"] + table.get("PartitionKeys", [])
    return {"columns": ["col_name", "data_type"], "rows": [[c["Name"], c["Type"]] for c in columns]}


athena._execute_query, athena._stop_query_execution = _execute_query, _stop_query_execution
athena._run_duckdb = _run_duckdb


#: Seconds a local crawl stays RUNNING (MiniStack's default: 5).
glue.CRAWLER_RUN_SECONDS = 1


def _saved(value: Any, default: Any = persistence._json_default) -> Any:
    """MiniStack cannot save a query's DECIMAL or DATE result, and with it loses every
    Athena workgroup on a restart: such a value is saved as its text."""
    try:
        return default(value)
    except TypeError:
        return str(value)


persistence._json_default = _saved

if CALL_LOG_ENV in os.environ:
    ministack.app._maybe_record_cloudtrail = recorder(Path(os.environ[CALL_LOG_ENV]))

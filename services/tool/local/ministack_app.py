"""The local emulator's ASGI app: MiniStack, with its Athena kept off the host's files.

MiniStack answers Athena SQL with DuckDB, on a fresh in-memory connection per query, and
offers no setting for it; unconfined, a query could read or write any file the emulator
can (``read_text('/etc/passwd')``, ``COPY … TO``, ``ATTACH``, ``INSTALL``), which
Athena cannot. Every DuckDB connection of this process is therefore opened with
``enable_external_access = false``, file access allowed only under the emulator's own
scratch directory (``TMPDIR``, where MiniStack copies a table's objects for the query),
and the configuration locked so a statement cannot undo it.

MiniStack's crawler is a timer (it infers nothing) of 5 seconds; here it is 1 second, so a
local execution does not wait on a timer (its 30-second polls take 0.15 s locally).

``bovespa local up`` and the tests run ``hypercorn services.tool.local.ministack_app:app``
instead of MiniStack's own app; with ``BOVESPA_CALL_LOG`` set, it records the components'
calls (:mod:`services.tool.local.recorder`).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import duckdb
import ministack.app
from ministack.app import app
from ministack.services import glue

from services.tool.local.recorder import CALL_LOG_ENV, recorder

__all__ = ["app", "confined_connect"]

_connect = duckdb.connect


def confined_connect(database: Any = ":memory:", *args: Any, **kwargs: Any) -> Any:
    """``duckdb.connect``, then: files only under ``TMPDIR``, no extensions, locked."""
    connection = _connect(database, *args, **kwargs)
    scratch = tempfile.gettempdir().rstrip("/") + "/"
    quoted = scratch.replace("'", "''")
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
    return connection


duckdb.connect = confined_connect


#: Seconds a local crawl stays RUNNING (MiniStack's default: 5).
glue.CRAWLER_RUN_SECONDS = 1

if CALL_LOG_ENV in os.environ:
    ministack.app._maybe_record_cloudtrail = recorder(Path(os.environ[CALL_LOG_ENV]))

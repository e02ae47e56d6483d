"""The local emulator's ASGI app: MiniStack, with its Athena kept off the host's files.

MiniStack answers Athena SQL with DuckDB (a fresh in-memory connection per query), which
could read or write any host file (``read_text('/etc/passwd')``, ``COPY … TO``,
``ATTACH``): every connection has external access off, files only under ``TMPDIR`` (where
MiniStack copies a table's objects), its configuration locked.

MiniStack's crawler (a timer: it infers nothing) takes 1 second here, not 5. ``bovespa
local up`` and the tests run this app; with ``BOVESPA_CALL_LOG`` set, it records the
components' calls (:mod:`services.tool.local.recorder`).
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

import duckdb
import ministack.app
from ministack.app import app as served
from ministack.core import persistence
from ministack.services import glue

from services.tool.local.recorder import CALL_LOG_ENV, recorder

__all__ = ["app", "confined_connect"]

#: The most a local Athena answer may hold: a query's result a client reads in one page.
MAX_ANSWER_BYTES = 64 * 1024 * 1024

_connect = duckdb.connect


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
    return connection


duckdb.connect = confined_connect


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


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """MiniStack, with each Athena answer bounded: DuckDB bounds no single expression
    (``repeat('x', 1500000000)``), and its 1.5 GB cell would reach the client in one page."""
    target = dict(scope.get("headers", [])).get(b"x-amz-target", b"")
    if not target.startswith(b"AmazonAthena."):
        await served(scope, receive, send)
        return
    held: list[dict[str, Any]] = []
    sizes = [0]  # what the held answer holds; -1 once refused

    async def bounded(message: dict[str, Any]) -> None:
        if sizes[0] < 0:
            return  # refused: the rest of the answer is dropped
        held.append(message)
        sizes[0] += len(message.get("body", b""))
        over, done = sizes[0] > MAX_ANSWER_BYTES, not message.get("more_body", False)
        if not over and not (done and message["type"] == "http.response.body"):
            return
        if over:
            error = {"__type": "InvalidRequestException", "Message": (
                f"the answer holds over {MAX_ANSWER_BYTES} bytes, the local bound: narrow "
                "the query (fewer rows or columns, shorter values)")}  # fmt: skip
            headers, body = [(b"content-type", b"application/x-amz-json-1.1")], json.dumps(error)
            held[:] = [{"type": "http.response.start", "status": 400, "headers": headers},
                       {"type": "http.response.body", "body": body.encode()}]  # fmt: skip
            sizes[0] = -1
        for kept in held:
            await send(kept)
        held.clear()

    await served(scope, receive, bounded)

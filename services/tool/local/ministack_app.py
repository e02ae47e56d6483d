"""The local emulator's ASGI app: MiniStack, with its Athena kept off the host's files and
its Map iterations in the execution's history.

MiniStack answers Athena SQL with DuckDB, on a fresh in-memory connection per query, and
offers no setting for it; unconfined, a query could read or write any file the emulator
can (``read_text('/etc/passwd')``, ``COPY … TO``, ``ATTACH``, ``INSTALL``), which
Athena cannot. Every DuckDB connection of this process is therefore opened with
``enable_external_access = false``, file access allowed only under the emulator's own
scratch directory (``TMPDIR``, where MiniStack copies a table's objects for the query),
and the configuration locked so a statement cannot undo it.

Step Functions records the states an inline Map's iterations run in the execution's own
history (``TaskStateEntered``/``TaskStateExited`` with the state's name, input and output,
as for any state); MiniStack 1.5.33 runs them without recording anything. The trigger
reads those events to tell a write the running execution already validated (the
scraper's own) from a new one, so this process records them as AWS does
(:func:`recorded_in_history`).

MiniStack's crawler is a timer (it infers nothing) of 5 seconds; here it is 1 second, the
state machine's local poll interval, so a local execution does not wait on a timer.

``bovespa local up`` and the tests run ``hypercorn services.tool.local.ministack_app:app``
instead of MiniStack's own app.
"""

from __future__ import annotations

import functools
import json
import tempfile
import threading
from collections.abc import Callable
from typing import Any

import duckdb
from ministack.app import app
from ministack.services import glue, stepfunctions

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


#: MiniStack's handlers of the state types that get the execution record (their events
#: can be added to it): Task, Parallel and Map. Pass, Choice and Wait states of an
#: iteration stay unrecorded.
_HANDLERS = {"Task": "_execute_task", "Parallel": "_execute_parallel", "Map": "_execute_map"}
_history_lock = threading.Lock()


def recorded_in_history(kind: str, handler: Callable[..., Any]) -> Callable[..., Any]:
    """``handler``, recording its state's Entered/Exited events when it runs in a Map's
    iteration (MiniStack's top-level loop records the others itself)."""

    @functools.wraps(handler)
    def wrapped(state_def: Any, state_input: Any, *rest: Any) -> Any:  # (…, execution, ctx)
        execution, ctx = rest
        if "Map" not in ctx:
            return handler(state_def, state_input, *rest)
        name = ctx["State"]["Name"]
        with _history_lock:
            stepfunctions._add_event(
                execution,
                f"{kind}StateEntered",
                {"stateEnteredEventDetails": {"name": name, "input": json.dumps(state_input)}},
            )
        output, next_name = handler(state_def, state_input, *rest)
        with _history_lock:
            stepfunctions._add_event(
                execution,
                f"{kind}StateExited",
                {"stateExitedEventDetails": {"name": name, "output": json.dumps(output)}},
            )
        return output, next_name

    return wrapped


for _kind, _name in _HANDLERS.items():
    setattr(stepfunctions, _name, recorded_in_history(_kind, getattr(stepfunctions, _name)))


#: Seconds a local crawl stays RUNNING (MiniStack's default: 5).
glue.CRAWLER_RUN_SECONDS = 1

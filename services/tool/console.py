"""What ``bovespa`` shows: tables and notes on stderr (:data:`err`), a command's result as
one JSON object on the last line of stdout, so scripts can ``| tail -1 | jq``."""

from __future__ import annotations

import csv
import json
import os
import sys
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from services.tool.local.emulator import Emulator

if TYPE_CHECKING:
    from services.tool.analysis.athena import Result
    from services.tool.local.run import Progress

#: Where every table, note and error line goes (120 columns when not a terminal).
err = Console(stderr=True, width=None if sys.stderr.isatty() else 120)


def note(text: str) -> None:
    err.print(f"[yellow]note[/] {escape(text)}", soft_wrap=True)


def write_json(result: Any) -> None:
    sys.stdout.write(json.dumps(result) + "\n")


def _table(title: str, columns: list[str], rows: list[list[str]], right: int = 0) -> Table:
    table = Table(title=title, title_justify="left")
    for n, column in enumerate(columns):
        table.add_column(column, justify="right" if n >= len(columns) - right else "left")
    for row in rows:
        table.add_row(*row)
    return table


COLOURS = {"succeeded": "green", "refined": "green", "failed": "red"}


def steps_table(progress: Progress) -> Table:
    rows = [
        [step.name, f"[{COLOURS.get(step.status, 'yellow')}]{step.status}[/]",
         "…" if step.seconds is None else f"{step.seconds:.1f}",
         str(step.polls or ""), str(step.retries or "")]
        for step in progress.steps
    ]  # fmt: skip
    columns = ["step", "status", "seconds", "status checks", "retries"]
    return _table("Pipeline execution", columns, rows)


def print_result(result: dict[str, Any], endpoint: str) -> None:
    """Each index of the execution (rows validated, refined, and counted by Athena), then
    the run's facts and the datasets ahead."""
    counts = ["raw_rows", "refined_rows", "refined_files", "athena_count"]
    rows = []
    for row in result.get("indices", []):
        status = f"[{COLOURS.get(row['status'], 'yellow')}]{escape(row['status'])}[/]"
        status += f" {escape(str(row['error']))}" if "error" in row else ""
        cells = [cell(row.get(key)) for key in ("index", "dt", "session")]
        rows.append([*cells, status, *(cell(row.get(key)) for key in counts)])
    err.print(_table("Indices", ["index", "dt", "session", "status", *counts], rows, len(counts)))
    facts = _facts(result, ("glue_runs", "crawls", "table", "seconds"))
    for ahead in result.get("ahead", []):
        text = f"{ahead['index']} {ahead['dt']}: {ahead['status']}, {ahead['rows']} rows"
        if "table" in ahead:
            text += f", refined {ahead['refined_rows']} rows in {ahead['table']}"
        facts.add_row(f"[bold]{escape(ahead['dataset'])}[/]", escape(text))
    err.print(facts)
    refined = [row["refined"] for row in result.get("indices", []) if "refined" in row]
    local = Emulator()
    if refined and endpoint == local.endpoint:
        err.print(
            f"Files: ls -R {os.path.relpath(local.path_of(refined[0]))}\n(the emulator keeps "
            "running, about 1.7 GB idle, most of it the warm Spark: `bovespa local down` stops it)"
        )


def cell(value: object) -> str:
    return "" if value is None else escape(str(value))


def _facts(summary: dict[str, Any], keys: tuple[str, ...]) -> Table:
    table = Table(show_header=False, box=None)
    for key in (key for key in keys if key in summary):
        table.add_row(f"[bold]{key}[/]", cell(summary[key]))
    return table


def print_summary(summary: dict[str, Any]) -> None:
    err.print(_facts(summary, ("dataset", "index", "dt", "session", "cycle", "target_cycle",
                               "status", "reason", "rows", "uri", "sha256")))  # fmt: skip
    write_json(summary)


def print_etl(summary: dict[str, Any]) -> None:
    err.print(_facts(summary, ("dt", "rows", "partitions", "files", "table", "seconds")))
    for skipped in summary["skipped"]:
        err.print(f"[yellow]{escape(skipped)}[/]", soft_wrap=True)
    write_json(summary)


def print_rows(result: Result, output: str) -> None:
    if output == "json":
        sys.stdout.write(json.dumps(result.as_dicts(), ensure_ascii=False) + "\n")
    elif output == "csv":
        writer = csv.writer(sys.stdout)
        writer.writerow(result.columns)
        writer.writerows(result.rows)
    else:
        table = Table(*result.columns)
        for row in result.rows:
            table.add_row(*map(cell, row))
        Console().print(table)

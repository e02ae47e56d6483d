"""``bovespa <command> --help``: every command's help prints, in plain words."""

from __future__ import annotations

import re

import pytest
from typer.testing import CliRunner

from services.tool.analysis.queries import saved_queries
from services.tool.cli import app

COMMANDS = ["", "scrape", "run", "demo", "finish", "ingest", "backfill", "etl", "query", "tables",
            "report", "cost", "local", "local up", "local down", "local status"]  # fmt: skip


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_prints_its_help_in_plain_words(command: str) -> None:
    """Docstrings showed Sphinx roles, options ``<str>`` and ``<bool>``."""
    done = CliRunner().invoke(app, [*command.split(), "--help"], terminal_width=100)
    assert done.exit_code == 0, f"{done.exception!r}\n{done.output[-2000:]}"
    assert done.output.lstrip().startswith("Usage: ")
    assert re.findall(r"``|:\w+:`", done.output) == []
    assert re.findall(r"<(?:str|bool|float|int|path)", done.output.partition("Options:")[2]) == []
    if command == "query":
        assert all(f"  {name} (" in done.output for name in saved_queries())

"""``bovespa <command> --help``: every command's help prints, with its options as written."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from services.tool.cli import app

COMMANDS = ["scrape", "run", "demo", "finish", "ingest", "etl", "query", "report", "cost",
            "local", "local up", "local down", "local status"]  # fmt: skip


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_prints_its_help(command: str) -> None:
    """Rich once read ``--lake``'s ``s3://bucket[/prefix]`` as a closing tag (MarkupError)."""
    done = CliRunner().invoke(app, [*command.split(), "--help"], terminal_width=100)
    assert done.exit_code == 0, f"{done.exception!r}\n{done.output[-2000:]}"
    assert done.output.lstrip().startswith("Usage: ")
    if command in ("scrape", "etl"):
        assert "s3://bucket[/prefix]" in " ".join(done.output.replace("│", " ").split())

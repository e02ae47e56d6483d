"""``bovespa <command> --help``: every command's help prints, with its options as written."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from services.tool.cli import app

COMMANDS = ["scrape", "run", "demo", "finish", "ingest", "etl", "query", "report", "cost",
            "local", "local up", "local down", "local status"]  # fmt: skip


def help_of(command: str) -> str:
    done = CliRunner().invoke(app, [*command.split(), "--help"], terminal_width=100)
    assert done.exit_code == 0, f"{done.exception!r}\n{done.output[-2000:]}"
    return done.output


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_prints_its_help(command: str) -> None:
    assert help_of(command).lstrip().startswith("Usage: ")


@pytest.mark.parametrize("command", ["scrape", "etl"])
def test_the_lake_option_shows_its_brackets_instead_of_breaking_the_help(command: str) -> None:
    """Rich read ``s3://bucket[/prefix]`` as a closing tag and the help died (MarkupError)."""
    assert "s3://bucket[/prefix]" in " ".join(help_of(command).replace("│", " ").split())

"""Size limits that keep the code readable as a list of named steps: no function in the
deployed code, the Glue job or the Pulumi program longer than 60 lines (a constructor is a
short list of named helpers), and the command-line module under 300 lines (parsing,
endpoint discovery, rendering and exit policy live in their own modules)."""

from __future__ import annotations

import ast
from pathlib import Path

from services.pipeline import settings

ROOT = settings.REPO_ROOT
#: The folders whose functions are held to :data:`MAX_FUNCTION_LINES`.
FOLDERS = ("services", "glue", "infra")
MAX_FUNCTION_LINES = 60
CLI = ROOT / "services" / "tool" / "cli.py"
MAX_CLI_LINES = 300


def function_lengths(path: Path) -> list[tuple[str, int]]:
    """Each function or method in ``path`` with its length in lines (decorators excluded)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    return [
        (node.name, (node.end_lineno or node.lineno) - node.lineno + 1)
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
    ]


def test_no_function_is_longer_than_sixty_lines() -> None:
    paths = [p for folder in FOLDERS for p in sorted((ROOT / folder).rglob("*.py"))]
    assert len(paths) > 50  # the walk found the code
    too_long = [
        f"{path.relative_to(ROOT)}:{name} has {lines} lines"
        for path in paths
        for name, lines in function_lengths(path)
        if lines > MAX_FUNCTION_LINES
    ]
    assert not too_long, too_long


def test_the_cli_module_is_under_three_hundred_lines() -> None:
    lines = len(CLI.read_text(encoding="utf-8").splitlines())
    assert lines < MAX_CLI_LINES, f"{CLI.relative_to(ROOT)} has {lines} lines"


def test_the_length_check_sees_a_long_function(tmp_path: Path) -> None:
    long = tmp_path / "long.py"
    long.write_text("def f() -> None:\n" + "    pass\n" * MAX_FUNCTION_LINES, encoding="utf-8")
    assert function_lengths(long) == [("f", MAX_FUNCTION_LINES + 1)]

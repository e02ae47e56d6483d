"""The developer tooling: `make help` lists every target, tests are marked by their kind,
and tests import their helpers from plain modules, never from a conftest."""

from __future__ import annotations

import ast
import os
import re
import subprocess

import pytest

from services.pipeline import settings

MAKEFILE = settings.REPO_ROOT / "Makefile"
TESTS = settings.REPO_ROOT / "tests"


def phony_targets() -> list[str]:
    text = MAKEFILE.read_text(encoding="utf-8").replace("\\\n", " ")
    (line,) = [line for line in text.splitlines() if line.startswith(".PHONY:")]
    return line.removeprefix(".PHONY:").split()


def test_make_help_lists_every_phony_target() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAKE")}
    result = subprocess.run(
        ["make", "--no-print-directory", "-s", "help"],
        cwd=settings.REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    listed = re.findall(r"^make (\S+) ", result.stdout, re.MULTILINE)
    targets = phony_targets()
    assert {"format", "lint", "test", "unit-test", "functional-test", "e2e"} <= set(targets)
    assert listed == targets  # each once, in the order of .PHONY


def test_a_test_is_marked_with_the_kind_its_directory_names(request: pytest.FixtureRequest) -> None:
    assert request.node.get_closest_marker("unit") is not None
    assert request.node.get_closest_marker("integration") is None


def test_no_test_imports_from_a_conftest() -> None:
    offenders = []
    for path in sorted(TESTS.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            names = (
                [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else [alias.name for alias in node.names]
                if isinstance(node, ast.Import)
                else []
            )
            if any(name.split(".")[-1] == "conftest" for name in names):
                offenders.append(f"{path.relative_to(settings.REPO_ROOT)}:{node.lineno}")
    assert not offenders, f"import helpers from a plain module, not a conftest: {offenders}"

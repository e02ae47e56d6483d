"""The "Failure modes" table (docs/failure-modes.md): every test it names exists."""

from __future__ import annotations

import re

from services.pipeline import settings

#: A reference in the table's third column: ``tests/…py::test_name``, ``tests/…py`` or a
#: continuation of the previous file (``…::test_name``, ``::test_name``).
REFERENCE = re.compile(r"`((?:tests/[\w/]+\.py)?|…|)(?:::(\w+))?(?:\[[^`]*\])?`")


def failure_mode_rows() -> list[list[str]]:
    page = (settings.DOCS_DIR / "failure-modes.md").read_text(encoding="utf-8")
    section = page.split("# Failure modes\n", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| ")][2:]
    return [[cell.strip() for cell in row.strip("|").split(" | ")] for row in rows]


def named_tests(cell: str) -> list[tuple[str, str | None]]:
    """(file, test or None) for each reference in ``cell``, continuations resolved."""
    found: list[tuple[str, str | None]] = []
    current = ""
    for match in REFERENCE.finditer(cell):
        path, test = match.group(1), match.group(2)
        if path.startswith("tests/"):
            current = path
        if current and (path.startswith("tests/") or test):
            found.append((current, test))
    return found


def test_the_table_has_rows_and_each_names_a_test() -> None:
    rows = failure_mode_rows()
    assert len(rows) > 50
    for row in rows:
        assert len(row) == 3, row
        assert named_tests(row[2]), f"no test named for: {row[0]}"


def test_every_test_the_table_names_exists() -> None:
    missing = []
    for row in failure_mode_rows():
        for path, test in named_tests(row[2]):
            file = settings.REPO_ROOT / path
            if not file.is_file():
                missing.append(path)
            elif test and not re.search(
                rf"^(?:async )?def {test}\(", file.read_text("utf-8"), re.M
            ):
                missing.append(f"{path}::{test}")
    assert not missing, "named in docs/failure-modes.md, not found:\n" + "\n".join(missing)

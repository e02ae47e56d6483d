"""The README and the docs/ pages: every relative link, and every test a page cites as
``tests/….py::test_name``, points at something that exists (a reader follows them)."""

from __future__ import annotations

import re
from pathlib import Path

from services.pipeline import settings

#: A markdown link or image: ``[text](target)`` / ``![alt](target)``.
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")
FENCE = re.compile(r"^```.*?^```", re.M | re.S)
#: A cited test: ``tests/…py::test_name``, ``tests/…py``, or ``…::test_name`` / ``::test_name``
#: for another test of the file cited before it on the line.
CITED = re.compile(r"`(tests/[\w/]+\.py|…|)(?:::(\w+))?(?:\[[^`]*\])?`")


def pages() -> list[Path]:
    return [settings.REPO_ROOT / "README.md", *sorted(settings.DOCS_DIR.glob("*.md"))]


def anchors(page: Path) -> set[str]:
    """GitHub's anchors for the headings of ``page``."""
    text = FENCE.sub("", page.read_text(encoding="utf-8"))
    found = set()
    for heading in re.findall(r"^#{1,6} (.+)$", text, re.M):
        slug = re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")
        found.add(slug)
    return found


def test_every_relative_link_points_at_an_existing_file_and_heading() -> None:
    broken = []
    for page in pages():
        text = FENCE.sub("", page.read_text(encoding="utf-8"))
        for target in LINK.findall(text):
            if re.match(r"[a-z]+:", target):  # https:, mailto:
                continue
            path, _, anchor = target.partition("#")
            file = (page.parent / path).resolve() if path else page
            if not file.is_file():
                broken.append(f"{page.name}: {target}")
            elif anchor and file.suffix == ".md" and anchor not in anchors(file):
                broken.append(f"{page.name}: {target} (no such heading)")
    assert not broken, "\n".join(broken)


def test_every_cited_test_exists() -> None:
    missing = []
    for page in pages():
        for line in page.read_text(encoding="utf-8").splitlines():
            current = ""
            for path, test in CITED.findall(line):
                current = path if path.startswith("tests/") else current
                file = settings.REPO_ROOT / current
                if not current or not (path or test):
                    continue
                if not file.is_file():
                    missing.append(f"{page.name}: {current}")
                elif test and not re.search(rf"^(?:async )?def {test}\(", file.read_text(), re.M):
                    missing.append(f"{page.name}: {current}::{test}")
    assert not missing, "cited, not found:\n" + "\n".join(missing)

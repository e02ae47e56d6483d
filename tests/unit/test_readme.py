"""The README and the docs/ pages: the refined schema as glue/schema.py defines it, and
every relative link pointing at a file (and heading) that exists."""

from __future__ import annotations

import re
from pathlib import Path

from glue.schema import COLUMNS, PARTITION_COLUMNS
from services.pipeline import settings

#: A markdown link or image: ``[text](target)`` / ``![alt](target)``.
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")
FENCE = re.compile(r"^```.*?^```", re.M | re.S)


def pages() -> list[Path]:
    """The README and every page under docs/."""
    return [settings.REPO_ROOT / "README.md", *sorted(settings.DOCS_DIR.glob("*.md"))]


def anchors(page: Path) -> set[str]:
    """GitHub's anchors for the headings of ``page``."""
    text = FENCE.sub("", page.read_text(encoding="utf-8"))
    found = set()
    for heading in re.findall(r"^#{1,6} (.+)$", text, re.M):
        slug = re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")
        found.add(slug)
    return found


def test_every_refined_column_is_documented_with_its_type_and_meaning() -> None:
    page = (settings.DOCS_DIR / "refined-layer.md").read_text(encoding="utf-8")
    for column in (*COLUMNS, *PARTITION_COLUMNS):
        assert f"| `{column.name}` | {column.type} | {column.meaning} |" in page, column.name


def test_the_readme_links_every_docs_page() -> None:
    readme = (settings.REPO_ROOT / "README.md").read_text(encoding="utf-8")
    linked = set(LINK.findall(readme))
    missing = [p.name for p in settings.DOCS_DIR.glob("*.md") if f"docs/{p.name}" not in linked]
    assert not missing, missing


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


def test_the_readme_is_for_users_short_with_the_layout_near_the_top() -> None:
    """Reference material lives in docs/ (issue 14): under 400 lines, layout first."""
    lines = (settings.REPO_ROOT / "README.md").read_text(encoding="utf-8").splitlines()
    assert len(lines) < 400
    headings = [line for line in lines if line.startswith("## ")]
    assert headings[0] == "## Repository layout"

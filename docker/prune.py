"""Remove what no handler loads from an installed Lambda task root: test suites, C/C++ and
Cython sources and headers, and Arrow Flight (loaded only by ``import pyarrow.flight``).

Run by each Dockerfile after pip, and by the local deployment on its zips
(``services/tool/local/packages.py``): without it the scraper's packages unzip to over
300 MB, past the 250 MB Lambda allows a zip. Standard library only (the image's Python).

Usage: ``python prune.py <directory>``
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

SOURCE_SUFFIXES = {".pyx", ".pxd", ".pxi", ".h", ".hpp", ".c", ".cc", ".cpp"}
TEST_DIRECTORIES = {"tests"}


def removable(relative: Path) -> bool:
    """Whether a file, given relative to the task root, is one that no handler loads."""
    parts = relative.parts
    if any(part.endswith(".dist-info") for part in parts):
        return False
    if TEST_DIRECTORIES & set(parts[:-1]) or relative.suffix in SOURCE_SUFFIXES:
        return True
    return parts[0] == "pyarrow" and len(parts) == 2 and "flight" in parts[1]


def prune(root: Path) -> list[str]:
    """Delete the removable files under ``root`` and the directories left empty."""
    removed = []
    for path in sorted(root.rglob("*")):
        if path.is_file() and removable(path.relative_to(root)):
            path.unlink()
            removed.append(path.relative_to(root).as_posix())
    for directory in sorted((p for p in root.rglob("*") if p.is_dir()), reverse=True):
        if not any(directory.iterdir()):
            shutil.rmtree(directory)
    return removed


if __name__ == "__main__":
    (target,) = sys.argv[1:]
    print(f"pruned {len(prune(Path(target)))} files from {target}")

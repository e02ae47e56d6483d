"""The ``bovespa`` command's shared options, and how its index arguments become B3's codes.

An index typed the way people write it is read as B3 writes it (``IBRX`` is ``IBXX``),
with a note on stderr; an unknown one exits 2 (``BadArgument``).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

import typer

from services.pipeline import settings
from services.pipeline.b3.indices import canonical
from services.pipeline.b3.indices import resolve as resolve_indices
from services.pipeline.lake.datasets import DAY, PREVIEW, THEORETICAL
from services.tool.console import note
from services.tool.exits import or_exit

IndexOption = Annotated[
    str,
    typer.Option(
        "--index", "-i", help="B3 index code: IBOV, IBXX, IBXL, SMLL, IDIV, IFIX... (IBRX works)"
    ),
]
IndicesOption = Annotated[
    str,
    typer.Option(
        "--index",
        "--indices",
        "-i",
        help="B3 index codes, comma-separated, or all: every one in one execution.",
    ),
]
LakeOption = Annotated[
    str,
    typer.Option(
        "--lake", envvar=settings.LAKE_URI_ENV, help="A directory or s3://bucket\\[/prefix]."
    ),
]
BaseUrlOption = Annotated[
    str | None,
    typer.Option(
        "--base-url", envvar=settings.B3_BASE_URL_ENV, help="B3 endpoint (default: B3's own)."
    ),
]


class ScrapedDataset(StrEnum):
    """What ``bovespa scrape`` fetches."""

    day = DAY
    theoretical = THEORETICAL.name
    preview = PREVIEW.name


def index_code(typed: str) -> str:
    """B3's code for an ``--index`` value (``IBRX`` -> ``IBXX``, said on stderr); exit 2 if none."""
    code, text = or_exit(lambda: canonical(typed))
    if text:
        note(text)
    return code


def index_codes(typed: str) -> tuple[str, ...]:
    """B3's codes for a comma-separated ``--index`` value, or ``all``; exit 2 if one is unknown."""
    selection = or_exit(lambda: resolve_indices(typed))
    for text in selection.notes:
        note(text)
    return selection.codes


def flags(**values: str | None) -> list[str]:
    """``--name value`` for each value given (``processing_date`` -> ``--processing-date``)."""
    argv: list[str] = []
    for name, value in values.items():
        if value:
            argv += [f"--{name.replace('_', '-')}", value]
    return argv

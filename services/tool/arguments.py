"""The ``bovespa`` command's shared options, and how its index arguments become B3's codes."""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Annotated, Any

import typer
from rich.markup import escape

from services.pipeline import settings
from services.pipeline.b3.indices import canonical
from services.pipeline.b3.indices import resolve as resolve_indices
from services.pipeline.errors import EXIT_CODES
from services.pipeline.lake.datasets import DAY, PREVIEW, THEORETICAL
from services.tool.console import note
from services.tool.exits import fail, or_exit


def day_option(param: typer.CallbackParam, value: str | None) -> str | None:
    """A ``--dt``, checked before anything runs as the Glue job checks it: else exit 2."""
    from glue.job import day_argument  # pyspark: load on use

    return None if value is None else str(or_exit(lambda: day_argument(value, param.opts[0])))


def option(metavar: str, text: str, *names: str, **options: Any) -> Any:
    """A ``typer.Option`` shown as ``metavar``, saying ``text``."""
    return typer.Option(*names, metavar=metavar, help=text, **options)


def day(text: str, *names: str, **options: Any) -> Any:
    return option("YYYY-MM-DD", text, *names, **options)


def http_url(param: typer.CallbackParam, value: str | None) -> str | None:
    """``--base-url``: http(s)://host only (requests would read file:// or ftp://), else exit 2."""
    if value is None or re.match(r"https?://[\w.-]+(:[0-9]+)?(/|$)", value):
        return value
    refused = f"BadArgument: {param.opts[0]} {value!r:.80} is not an http:// or https:// URL"
    fail(escape(refused), EXIT_CODES["BadArgument"].code)


IndexOption = Annotated[
    str, option("CODE", "B3 index code: IBOV, IBXX, IFIX... (IBRX works)", "--index", "-i")
]
IndicesOption = Annotated[
    str,
    typer.Option(
        "--index",
        "--indices",
        "-i",
        metavar="CODES",
        help="B3 index codes, comma-separated, or all: every one in one execution.",
    ),
]
LakeOption = Annotated[
    str, option("URI", "A directory or s3://…", "--lake", envvar=settings.LAKE_URI_ENV)
]
BaseUrlOption = Annotated[
    str | None,
    typer.Option("--base-url", envvar=settings.B3_BASE_URL_ENV, callback=http_url, metavar="URL"),
]


class ScrapedDataset(StrEnum):
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
    return [arg for k, v in values.items() if v for arg in (f"--{k.replace('_', '-')}", v)]

"""How a ``bovespa`` command ends when something fails: one line on stderr, then its code
(:data:`services.pipeline.errors.EXIT_CODES`, also in the README); ``--verbose``: the traceback."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import NoReturn, TypeVar

import typer
from rich.markup import escape

from services.pipeline.errors import UNEXPECTED, exit_code, one_line
from services.tool.console import err

T = TypeVar("T")


def or_exit(action: Callable[[], T]) -> T:
    """Run ``action``; on failure print one line to stderr and exit with the error's code."""
    try:
        return action()
    except Exception as error:
        if logging.getLogger().isEnabledFor(logging.DEBUG):
            err.print_exception()
        err.print(f"[red]error[/] {escape(one_line(error))}", soft_wrap=True)
        raise typer.Exit(exit_code(error)) from None


def fail(message: str, code: int = UNEXPECTED) -> NoReturn:
    """Print ``error <message>`` (rich markup) on one line of stderr and exit with ``code``."""
    err.print(f"[red]error[/] {message}", soft_wrap=True)
    raise typer.Exit(code)

"""``bovespa local up|down|status``: the local emulator (:mod:`services.tool.local.emulator`)."""

from __future__ import annotations

import json

import typer

from services.pipeline import settings
from services.tool.console import err
from services.tool.exits import or_exit
from services.tool.local.emulator import Emulator

local_app = typer.Typer(
    help=f"The local AWS emulator (MiniStack on {settings.EMULATOR_HOST}:{settings.EMULATOR_PORT})."
)


@local_app.command("up")
def local_up() -> None:
    """Start the emulator in the background (data under .state/ministack)."""
    emulator = Emulator()
    if emulator.is_up():
        err.print(f"already up at {emulator.endpoint}")
        return
    or_exit(emulator.start)
    err.print(f"[green]up[/] at {emulator.endpoint}; log: {emulator.log_file}")
    print(json.dumps({"endpoint": emulator.endpoint, "state_dir": str(emulator.state_dir)}))


@local_app.command("down")
def local_down() -> None:
    """Stop the emulator started by ``bovespa local up``."""
    stopped = Emulator().stop()
    err.print("stopped" if stopped else "nothing was running")


@local_app.command("status")
def local_status() -> None:
    """Say whether the emulator answers."""
    emulator = Emulator()
    up = emulator.is_up()
    err.print(f"{emulator.endpoint}: {'[green]up[/]' if up else '[red]down[/]'}")
    raise typer.Exit(0 if up else 1)

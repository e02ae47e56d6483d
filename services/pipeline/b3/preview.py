"""B3's preview of the next four-month portfolio (``GetQuartelyPreview``): when there is one.

**Unverified against a live answer**: no ``GetQuartelyPreview`` or ``GetConfigurations``
answer is public. Public callers read the theoretical portfolio's envelope (``cont``
optional) and note the endpoint keeps serving an OLD preview, so they first check
``GetConfigurations`` (``preview[i].has == 1``). A preview is current only if some ``has``
is 1 and the session B3 serves is in the last month of its cycle (when B3 publishes the
next cycle's previews); otherwise the outcome is :class:`NoPreview`, a normal one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from services.pipeline.b3.cycles import cycle_of
from services.pipeline.b3.errors import SchemaDrift
from services.pipeline.b3.portfolio import ROW, TOTALS, Contract, PageSource

CALL = "GetQuartelyPreview"
CONFIGURATION_CALL = "GetConfigurations"
CONTRACT = Contract(CALL, TOTALS, ROW, optional=("cont",))
#: Said wherever the preview is stored or described, until a live answer is recorded.
UNVERIFIED = "unverified against a live answer: no GetQuartelyPreview answer is recorded"


@dataclass(frozen=True)
class NoPreview:
    """B3 has no current preview for the session it serves; ``reason`` says how we know."""

    index: str
    trading_date: date
    reason: str
    #: The answers that said so, archived: ``configuration`` and ``session``.
    answers: Mapping[str, PageSource]
    fetched_at: datetime


def parse_configuration(document: Any) -> tuple[int, ...]:
    """Each ``preview[i].has`` of a ``GetConfigurations`` body, strictly."""
    flags = document.get("preview") if isinstance(document, Mapping) else None
    if not isinstance(flags, list) or not flags:
        raise SchemaDrift(
            f"{CONFIGURATION_CALL}: {str(document)[:80]} has no non-empty 'preview' list"
        )
    has = [item.get("has") if isinstance(item, Mapping) else None for item in flags]
    for position, value in enumerate(has):
        if type(value) is not int or value not in (0, 1):
            raise SchemaDrift(
                f"{CONFIGURATION_CALL}: 'preview[{position}]' is {flags[position]!r}; "
                "expected an object whose 'has' is 0 or 1"
            )
    return tuple(has)  # type: ignore[arg-type]


def why_not_current(configuration: Any, session: date) -> str | None:
    """Why B3 has no current preview for ``session``, by its ``GetConfigurations`` body
    and B3's calendar; ``None`` if it has one."""
    has = parse_configuration(configuration)
    if 1 not in has:
        return f"{CONFIGURATION_CALL} flags no preview (preview[].has is {list(has)})"
    cycle = cycle_of(session)
    if session.month != cycle.last_month:
        return (
            f"{CONFIGURATION_CALL} flags a preview, but session {session} is not in the "
            f"preview weeks (the last month of {cycle}): an old preview is not stored as new"
        )
    return None

"""B3's preview of the next four-month portfolio (``GetQuartelyPreview``): when there is one.

**Unverified against a live answer.** No recording of a ``GetQuartelyPreview`` answer, or
of ``GetConfigurations``, is public. What is known comes from public callers: they send
``{"language":"pt-br","pageNumber":1,"pageSize":120,"index":"IBOV"}`` and read the usual
``page``/``header``/``results`` envelope with ``cod``, ``asset``, ``type``,
``theoricalQty`` and ``part`` per row; one notes that the endpoint keeps serving an OLD
preview outside the preview weeks and first checks ``GetConfigurations``
(``preview[i].has == 1``). So:

* the preview must have the theoretical portfolio's shape (:data:`CONTRACT`: rows with or
  without its ``cont``) and reconcile like it; anything else is
  :class:`~services.pipeline.b3.errors.SchemaDrift` and nothing is written;
* ``GetConfigurations`` must hold a non-empty ``preview`` list of objects whose ``has``
  is 0 or 1 (its other fields are kept in the archived body, not read);
* a preview is current only if some ``has`` is 1 **and** the session B3 serves is in the
  last month of its cycle (B3 publishes the three previews of the next portfolio in that
  month). Otherwise the answer is :class:`NoPreview`: a normal, recorded outcome, and
  ``GetQuartelyPreview`` is not even asked.
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
    """B3 has no current preview for ``session``; ``reason`` says how we know."""

    index: str
    session: date
    reason: str
    #: The answers that said so, archived: ``configuration`` and ``session``.
    answers: Mapping[str, PageSource]
    fetched_at: datetime


def parse_configuration(document: Any) -> tuple[int, ...]:
    """Each ``preview[i].has`` of a ``GetConfigurations`` body, strictly."""
    if not isinstance(document, Mapping):
        raise SchemaDrift(
            f"{CONFIGURATION_CALL}: the body is a JSON {type(document).__name__}, not an object"
        )
    flags = document.get("preview")
    if not isinstance(flags, list) or not flags:
        raise SchemaDrift(
            f"{CONFIGURATION_CALL}: 'preview' is {flags!r}, not a non-empty list "
            f"(the body has {', '.join(map(repr, sorted(document))) or 'no fields'})"
        )
    has: list[int] = []
    for position, item in enumerate(flags):
        value = item.get("has") if isinstance(item, Mapping) else None
        if isinstance(value, bool) or not isinstance(value, int) or value not in (0, 1):
            raise SchemaDrift(
                f"{CONFIGURATION_CALL}: 'preview[{position}]' is {item!r}; "
                "expected an object whose 'has' is 0 or 1"
            )
        has.append(value)
    return tuple(has)


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

"""B3's preview of the next four-month portfolio (``GetQuartelyPreview``), behind a strict contract.

**Unverified against a live answer.** No recording of a ``GetQuartelyPreview`` answer, or
of ``GetConfigurations``, is public. What is known comes from public callers: they send
``{"language":"pt-br","pageNumber":1,"pageSize":120,"index":"IBOV"}`` and read the usual
``page``/``header``/``results`` envelope with ``cod``, ``asset``, ``type``,
``theoricalQty`` and ``part`` per row; one notes that the endpoint keeps serving an OLD
preview outside the preview weeks and first checks ``GetConfigurations``
(``preview[i].has == 1``). So:

* the preview must have the theoretical portfolio's shape (rows with or without its
  ``cont``; the header with ``part``, ``theoricalQty``, ``reductor`` and nothing else) and
  reconcile like it; anything else is :class:`~services.pipeline.b3.errors.SchemaDrift` and nothing
  is written;
* ``GetConfigurations`` must hold a non-empty ``preview`` list of objects whose ``has``
  is 0 or 1 (its other fields are kept in the archived body, not read);
* a preview is current only if some ``has`` is 1 **and** the session B3 serves is in the
  last month of its cycle (B3 publishes the three previews of the next portfolio in that
  month). Otherwise the answer is :class:`NoPreview`: a normal, recorded outcome, and
  ``GetQuartelyPreview`` is not even asked.

A current preview is the portfolio proposed for the cycle after the session's.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from services.pipeline import settings
from services.pipeline.b3.client import B3Client, check_index
from services.pipeline.b3.cycles import Cycle, cycle_of, in_preview_weeks
from services.pipeline.b3.errors import SchemaDrift
from services.pipeline.b3.portfolio import PageSource, bodies_sha256
from services.pipeline.b3.theoretical import (
    ROW_FIELDS,
    THEORETICAL_ROW_FIELDS,
    QuarterBody,
    QuarterPage,
    assemble_quarter,
    page_params,
    parse_quarter_page,
)

CALL = "GetQuartelyPreview"
CONFIGURATION_CALL = "GetConfigurations"
#: Said wherever the preview is stored or described, until a live answer is recorded.
UNVERIFIED = "unverified against a live answer: no GetQuartelyPreview answer is recorded"


@dataclass(frozen=True)
class Configuration:
    """What ``GetConfigurations`` says about the preview: each ``preview[i].has``."""

    has: tuple[int, ...]

    @property
    def preview_published(self) -> bool:
        """B3 flags a preview as published (some ``has`` is 1)."""
        return 1 in self.has


@dataclass(frozen=True)
class Preview:
    """A current preview of ``index``'s next portfolio, every check passed."""

    index: str
    #: The session B3 served when this was fetched (``GetPortfolioDay``'s ``header.date``).
    session: date
    #: The cycle the previewed portfolio is for: the one after the session's.
    target_cycle: Cycle
    body: QuarterBody
    sources: tuple[PageSource, ...]
    configuration_source: PageSource
    session_source: PageSource
    fetched_at: datetime

    @property
    def sha256(self) -> str:
        """SHA-256 of the preview's response bodies in page order."""
        return bodies_sha256(self.sources)


@dataclass(frozen=True)
class NoPreview:
    """B3 has no current preview for ``session``; ``reason`` says how we know."""

    index: str
    session: date
    reason: str
    configuration_source: PageSource
    session_source: PageSource
    fetched_at: datetime


def parse_configuration(document: Any) -> Configuration:
    """Read ``preview[i].has`` from a ``GetConfigurations`` body, strictly."""
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
    return Configuration(tuple(has))


def why_not_current(configuration: Configuration, session: date) -> str | None:
    """Why B3 has no current preview for ``session``, or ``None`` if it has one."""
    if not configuration.preview_published:
        return f"{CONFIGURATION_CALL} flags no preview (preview[].has is {list(configuration.has)})"
    if not in_preview_weeks(session):
        cycle = cycle_of(session)
        return (
            f"{CONFIGURATION_CALL} flags a preview, but session {session} is not in the "
            f"preview weeks (the last month of {cycle}): an old preview is not stored as new"
        )
    return None


def parse_preview_page(document: Any) -> QuarterPage:
    """Parse one ``GetQuartelyPreview`` body: the theoretical portfolio's shape."""
    return parse_quarter_page(document, call=CALL, row_shapes=(ROW_FIELDS, THEORETICAL_ROW_FIELDS))


def fetch_preview(
    client: B3Client, index: str, *, page_size: int = settings.B3_PAGE_SIZE
) -> Preview | NoPreview:
    """Ask B3 which session it serves and whether a preview is current; if so, fetch it."""
    index = check_index(index)
    fetched_at = datetime.now(UTC)
    session, session_source = client.serving_session(index)
    configuration_source, document = client.fetch_one(
        client.call_url(CONFIGURATION_CALL, page_params(index, 1, page_size))
    )
    reason = why_not_current(parse_configuration(document), session)
    if reason is not None:
        return NoPreview(index, session, reason, configuration_source, session_source, fetched_at)
    pages, sources = client.fetch_pages(
        lambda number: client.call_url(CALL, page_params(index, number, page_size)),
        parse_preview_page,
    )
    return Preview(
        index=index,
        session=session,
        target_cycle=cycle_of(session).next(),
        body=assemble_quarter(pages, call=CALL),
        sources=tuple(sources),
        configuration_source=configuration_source,
        session_source=session_source,
        fetched_at=fetched_at,
    )

"""B3's four-month theoretical portfolio (``GetTheoricalPortfolio``): its contract and fetch.

The theoretical portfolio is the one an index was set to at its last rebalance; it holds
for a whole cycle (Jan.-Apr., May-Aug., Sep.-Dec.). Its body has the day's envelope
(``page``, ``header``, ``results``), but:

* ``header`` holds ``part``, ``theoricalQty`` and ``reductor`` and **no date**;
* each row holds ``cod``, ``asset``, ``type``, ``theoricalQty``, ``part`` and ``cont`` (the
  row's rank by company name, an integer) and **no sector** (no ``segment``/``partAcum``).

The contract is strict: a field it does not know, in the header or a row, is
:class:`~services.pipeline.b3.errors.SchemaDrift` -- a new header field might state the period or
a date, which must be checked, not ignored. The totals reconcile as the day's do
(:func:`services.pipeline.b3.portfolio.check_totals`). The period is the cycle containing the
session B3 serves when the portfolio is fetched (``GetPortfolioDay``'s ``header.date``,
see :meth:`B3Client.serving_session`); a period stated by B3 (a download's title line)
must be that cycle.

The parsing functions are pure; :func:`fetch_theoretical` is the thin HTTP side.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, TypeVar

from services.pipeline import settings
from services.pipeline.b3.client import B3Client, check_index
from services.pipeline.b3.codes import check_row_ticker
from services.pipeline.b3.cycles import Cycle, check_cycle, cycle_of
from services.pipeline.b3.errors import EmptyPortfolio, SchemaDrift
from services.pipeline.b3.numbers import parse_quantity, parse_reductor, parse_weight
from services.pipeline.b3.portfolio import PAGE_FIELDS, PageSource, bodies_sha256, check_totals

CALL = "GetTheoricalPortfolio"
#: The body's top-level fields, its header's and its rows' (all required, nothing else).
BODY_FIELDS = frozenset({"page", "header", "results"})
HEADER_FIELDS = frozenset({"part", "theoricalQty", "reductor"})
ROW_FIELDS = frozenset({"cod", "asset", "type", "theoricalQty", "part"})
THEORETICAL_ROW_FIELDS = ROW_FIELDS | {"cont"}


@dataclass(frozen=True)
class QuarterHeader:
    """``header`` of a four-month portfolio: B3's totals (no date)."""

    part: Decimal
    theoretical_qty: int
    reductor: Decimal


@dataclass(frozen=True)
class QuarterRow:
    """One row of a four-month portfolio (the theoretical one, or a preview)."""

    cod: str
    asset: str
    type_raw: str
    type_normalized: str
    part: Decimal
    theoretical_qty: int
    cont: int | None
    page_number: int


@dataclass(frozen=True)
class QuarterPage:
    """One parsed page of a four-month portfolio."""

    number: int
    size: int
    total_records: int
    total_pages: int
    header: QuarterHeader
    rows: tuple[QuarterRow, ...]


@dataclass(frozen=True)
class QuarterBody:
    """Every page of one answer, assembled and reconciled."""

    header: QuarterHeader
    total_records: int
    rows: tuple[QuarterRow, ...]


@dataclass(frozen=True)
class TheoreticalPortfolio:
    """An index's theoretical portfolio, every check passed, with the cycle it belongs to."""

    index: str
    #: The session B3 served when this was fetched (``GetPortfolioDay``'s ``header.date``).
    session: date
    cycle: Cycle
    body: QuarterBody
    sources: tuple[PageSource, ...]
    #: The ``GetPortfolioDay`` body that stated the session.
    session_source: PageSource
    fetched_at: datetime

    @property
    def sha256(self) -> str:
        """SHA-256 of the response bodies in page order."""
        return bodies_sha256(self.sources)


def parse_quarter_page(
    document: Any, *, call: str, row_shapes: Collection[frozenset[str]]
) -> QuarterPage:
    """Parse one body of ``call`` whose rows must have exactly one of ``row_shapes``' fields.

    Raises :class:`SchemaDrift` for any other shape and :class:`EmptyPortfolio` for a
    portfolio without rows.
    """
    body = _exact(document, BODY_FIELDS, f"{call} body")
    page = _exact(body["page"], frozenset(PAGE_FIELDS), "page")
    results = body["results"]
    if not isinstance(results, list):
        raise SchemaDrift(f"{call}: 'results' is a {type(results).__name__}, not a list")
    total_records = _int(page["totalRecords"], "page.totalRecords")
    if not results or total_records == 0:
        raise EmptyPortfolio(
            f"{call}: B3 published no assets (page.totalRecords={total_records}, "
            f"{len(results)} rows)"
        )
    number = _int(page["pageNumber"], "page.pageNumber")
    return QuarterPage(
        number=number,
        size=_int(page["pageSize"], "page.pageSize"),
        total_records=total_records,
        total_pages=_int(page["totalPages"], "page.totalPages"),
        header=parse_quarter_header(body["header"], call=call),
        rows=tuple(parse_quarter_row(row, number, i, row_shapes) for i, row in enumerate(results)),
    )


def parse_quarter_header(raw: Any, *, call: str) -> QuarterHeader:
    """Parse ``header``: exactly ``part``, ``theoricalQty`` and ``reductor``."""
    header = _exact(
        raw,
        HEADER_FIELDS,
        "header",
        hint=f"{call} states no date or period we know of; one must be checked, not ignored",
    )
    return QuarterHeader(
        part=_non_negative(parse_weight(header["part"], field="header.part"), "header.part"),
        theoretical_qty=_non_negative(
            parse_quantity(header["theoricalQty"], field="header.theoricalQty"),
            "header.theoricalQty",
        ),
        reductor=parse_reductor(header["reductor"], field="header.reductor"),
    )


def parse_quarter_row(
    raw: Any, page_number: int, position: int, shapes: Collection[frozenset[str]]
) -> QuarterRow:
    """Parse one ``results`` row, whose fields must be exactly one of ``shapes``."""
    where = f"results[{position}]"
    if not isinstance(raw, Mapping):
        raise SchemaDrift(f"'{where}' is a {type(raw).__name__}, not an object")
    if frozenset(raw) not in shapes:
        known = " or ".join(", ".join(sorted(shape)) for shape in shapes)
        raise SchemaDrift(f"'{where}' has fields {', '.join(sorted(raw))}; expected {known}")
    cod = check_row_ticker(raw["cod"], f"field '{where}.cod'")
    where = f"results[{cod}]"
    for key in ("asset", "type"):
        if not isinstance(raw[key], str) or not raw[key].strip():
            raise SchemaDrift(f"field '{where}.{key}': {raw[key]!r} is not a non-empty string")
    cont = raw.get("cont")
    if "cont" in raw and (_int(cont, f"{where}.cont") < 1):
        raise SchemaDrift(f"field '{where}.cont': {cont!r} is not a positive rank")
    return QuarterRow(
        cod=cod,
        asset=raw["asset"].strip(),
        type_raw=raw["type"],
        type_normalized=" ".join(raw["type"].split()),
        part=_non_negative(parse_weight(raw["part"], field=f"{where}.part"), f"{where}.part"),
        theoretical_qty=_non_negative(
            parse_quantity(raw["theoricalQty"], field=f"{where}.theoricalQty"),
            f"{where}.theoricalQty",
        ),
        cont=cont,
        page_number=page_number,
    )


def assemble_quarter(pages: Sequence[QuarterPage], *, call: str) -> QuarterBody:
    """Join the pages of one answer and reconcile them with B3's totals.

    Every page repeats the header and ``totalRecords``; the rows together must match
    ``totalRecords``, have unique tickers, sum to ``header.theoricalQty`` exactly and to
    ``header.part`` within the rounding tolerance; ``cont``, when sent, is unique and
    sent on every row or none.
    """
    first = pages[0]
    for page in pages[1:]:
        if (page.header, page.total_records) != (first.header, first.total_records):
            raise SchemaDrift(
                f"{call}: page {page.number} disagrees with page 1 on the header or totalRecords"
            )
    rows = tuple(row for page in pages for row in page.rows)
    check_totals(first.header, first.total_records, rows)
    ranked = [row.cont for row in rows if row.cont is not None]
    if ranked and len(ranked) != len(rows):
        raise SchemaDrift(f"{call}: {len(rows) - len(ranked)} of {len(rows)} rows lack 'cont'")
    repeated = sorted(str(cont) for cont, n in Counter(ranked).items() if n > 1)
    if repeated:
        raise SchemaDrift(f"{call}: 'cont' {', '.join(repeated)} appear(s) on several rows")
    return QuarterBody(header=first.header, total_records=first.total_records, rows=rows)


def parse_theoretical_page(document: Any) -> QuarterPage:
    """Parse one ``GetTheoricalPortfolio`` body (rows with ``cont``, nothing else)."""
    return parse_quarter_page(document, call=CALL, row_shapes=(THEORETICAL_ROW_FIELDS,))


def assemble_theoretical(
    index: str,
    session: date,
    pages: Sequence[QuarterPage],
    sources: Sequence[PageSource],
    session_source: PageSource,
    fetched_at: datetime,
    *,
    stated: Cycle | None = None,
) -> TheoreticalPortfolio:
    """The checked theoretical portfolio of ``index`` fetched for ``session``.

    Its cycle is the one containing ``session``; ``stated`` is the period B3 states for
    it, if it states one (the JSON body does not; a download's title line does), and must
    be that cycle (:class:`~services.pipeline.b3.errors.PeriodMismatch` otherwise).
    """
    cycle = cycle_of(session)
    if stated is not None:
        check_cycle(cycle, stated, what=f"{index} theoretical portfolio")
    return TheoreticalPortfolio(
        index=index,
        session=session,
        cycle=cycle,
        body=assemble_quarter(pages, call=CALL),
        sources=tuple(sources),
        session_source=session_source,
        fetched_at=fetched_at,
    )


def page_params(index: str, number: int, page_size: int) -> dict[str, object]:
    """The parameters B3's site sends to the four-month endpoints (no ``segment``)."""
    return {"language": "pt-br", "pageNumber": number, "pageSize": page_size, "index": index}


def fetch_theoretical(
    client: B3Client, index: str, *, page_size: int = settings.B3_PAGE_SIZE
) -> TheoreticalPortfolio:
    """Ask B3 which session it serves, then fetch every page of the theoretical portfolio."""
    index = check_index(index)
    fetched_at = datetime.now(UTC)
    session, session_source = client.serving_session(index)
    pages, sources = client.fetch_pages(
        lambda number: client.call_url(CALL, page_params(index, number, page_size)),
        parse_theoretical_page,
    )
    return assemble_theoretical(index, session, pages, sources, session_source, fetched_at)


def _exact(raw: Any, names: frozenset[str], where: str, hint: str = "") -> Mapping[str, Any]:
    if not isinstance(raw, Mapping):
        raise SchemaDrift(f"'{where}' is a {type(raw).__name__}, not an object")
    missing, unknown = sorted(names - set(raw)), sorted(set(raw) - names)
    if missing or unknown:
        problems = [f"lacks {', '.join(map(repr, missing))}"] if missing else []
        problems += [f"has unknown {', '.join(map(repr, unknown))}"] if unknown else []
        raise SchemaDrift(
            f"'{where}' {' and '.join(problems)}: not the shape this contract knows"
            + (f" ({hint})" if hint else "")
        )
    return raw


def _int(value: Any, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise SchemaDrift(f"field {field!r}: {value!r} is not an integer")
    return value


N = TypeVar("N", int, Decimal)


def _non_negative(value: N, field: str) -> N:
    if value < 0:
        raise SchemaDrift(f"field {field!r}: {value} is negative")
    return value

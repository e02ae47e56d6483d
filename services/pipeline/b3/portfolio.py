"""The day's portfolio as B3 publishes it, parsed exactly, and the checks it must pass.

Everything here is pure: bytes in, dataclasses out, or one of the errors in
:mod:`services.pipeline.b3.errors`. The HTTP side lives in :mod:`services.pipeline.b3.client`.
"""

from __future__ import annotations

import codecs
import hashlib
import json
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Protocol

from services.pipeline.b3.codes import check_row_ticker
from services.pipeline.b3.errors import (
    DuplicateTickers,
    EmptyPortfolio,
    QuantityTotalMismatch,
    RowCountMismatch,
    SchemaDrift,
    WeightTotalMismatch,
)
from services.pipeline.b3.numbers import parse_quantity, parse_reductor, parse_weight

PAGE_FIELDS = ("pageNumber", "pageSize", "totalRecords", "totalPages")
HEADER_FIELDS = ("date", "part", "reductor", "theoricalQty")
ROW_FIELDS = ("segment", "cod", "asset", "type", "part", "partAcum", "theoricalQty")

#: Each published weight is rounded to 3 decimals, so it is off by at most half a unit
#: in the last place; the sum of ``n`` weights may differ from ``header.part`` by at most
#: ``n`` times that.
WEIGHT_ROUNDING_PER_ROW = Decimal("0.0005")


@dataclass(frozen=True)
class Header:
    """``header`` of a GetPortfolioDay body: the index-level totals of the day."""

    trading_date: date
    date_raw: str
    part: Decimal
    theoretical_qty: int
    reductor: Decimal


@dataclass(frozen=True)
class Asset:
    """One row of ``results``: an asset (ticker) of the index on that day."""

    segment: str | None
    cod: str
    asset: str
    type_raw: str
    type_normalized: str
    part: Decimal
    part_acum: Decimal | None
    theoretical_qty: int
    page_number: int


@dataclass(frozen=True)
class PageSource:
    """One HTTP response as received: kept for lineage and archived untouched."""

    number: int
    url: str
    body: bytes

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.body).hexdigest()


def bodies_sha256(sources: Iterable[PageSource]) -> str:
    """SHA-256 of the response bodies in page order (the body itself for one page): the
    fingerprint of a whole answer of several pages."""
    digest = hashlib.sha256()
    for source in sources:
        digest.update(source.body)
    return digest.hexdigest()


@dataclass(frozen=True)
class Page:
    """One parsed page of a GetPortfolioDay answer."""

    number: int
    size: int
    total_records: int
    total_pages: int
    header: Header
    assets: tuple[Asset, ...]


@dataclass(frozen=True)
class Portfolio:
    """A whole day's portfolio of one index, every check passed."""

    index: str
    header: Header
    total_records: int
    assets: tuple[Asset, ...]
    sources: tuple[PageSource, ...]
    fetched_at: datetime

    @property
    def trading_date(self) -> date:
        return self.header.trading_date

    @property
    def sha256(self) -> str:
        """SHA-256 of the response bodies in page order (the body itself for one page)."""
        return bodies_sha256(self.sources)


#: Byte-order marks: JSON on the wire must not start with one (RFC 8259, section 8.1).
_BOMS = {
    codecs.BOM_UTF8: "UTF-8",
    codecs.BOM_UTF16_LE: "UTF-16",
    codecs.BOM_UTF16_BE: "UTF-16",
}


def decode_body(body: bytes) -> Any:
    """Decode a response body as UTF-8 JSON.

    A body that is not UTF-8 (Latin-1, a byte-order mark) is :class:`SchemaDrift`: B3
    answered, in an encoding we do not read, and asking again would not change it. A body
    that is not JSON (an HTML page, a cut-off body) is :class:`ValueError`, which the
    client treats as transient.
    """
    for bom, name in _BOMS.items():
        if body.startswith(bom):
            raise SchemaDrift(f"the body starts with a {name} byte-order mark; B3 sends none")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as error:
        if error.reason == "unexpected end of data":
            raise ValueError("the body ends inside a UTF-8 character") from None
        raise SchemaDrift(
            f"the body is not UTF-8: byte {body[error.start]:#04x} at offset {error.start} "
            f"(Latin-1?) in {body[max(0, error.start - 20) : error.start + 5]!r}"
        ) from None
    try:
        return json.loads(text)
    except RecursionError:
        raise SchemaDrift("the body is JSON nested too deeply to be a portfolio") from None


def parse_page(document: Any) -> Page:
    """Parse one decoded GetPortfolioDay body.

    Raises :class:`SchemaDrift` for a body of another shape and :class:`EmptyPortfolio`
    for a portfolio without assets.
    """
    if not isinstance(document, Mapping):
        raise SchemaDrift(f"response is a JSON {type(document).__name__}, not a portfolio object")
    missing = [key for key in ("page", "header", "results") if key not in document]
    if missing:
        raise SchemaDrift(
            "response is not a GetPortfolioDay portfolio: missing "
            f"{', '.join(map(repr, missing))} (it has {', '.join(map(repr, sorted(document)))})"
        )
    page = _fields(document["page"], PAGE_FIELDS, "page")
    results = document["results"]
    if not isinstance(results, list):
        raise SchemaDrift(f"'results' is a {type(results).__name__}, not a list")
    if not results or page["totalRecords"] == 0:
        raise EmptyPortfolio(
            f"B3 published no assets (page.totalRecords={page['totalRecords']}, "
            f"{len(results)} rows): a holiday, or the day's portfolio is not out yet"
        )
    number = _int(page["pageNumber"], "page.pageNumber")
    return Page(
        number=number,
        size=_int(page["pageSize"], "page.pageSize"),
        total_records=_int(page["totalRecords"], "page.totalRecords"),
        total_pages=_int(page["totalPages"], "page.totalPages"),
        header=parse_header(document["header"]),
        assets=tuple(parse_row(row, number, i) for i, row in enumerate(results)),
    )


def parse_header(raw: Any) -> Header:
    """Parse ``header``; the trading date is ``header.date`` (``dd/mm/yy``), never the clock."""
    header = _fields(raw, HEADER_FIELDS, "header")
    date_raw = header["date"]
    try:
        trading_date = datetime.strptime(str(date_raw), "%d/%m/%y").date()
    except ValueError:
        raise SchemaDrift(f"field 'header.date': {date_raw!r} is not a dd/mm/yy date") from None
    return Header(
        trading_date=trading_date,
        date_raw=str(date_raw),
        part=parse_weight(header["part"], field="header.part"),
        theoretical_qty=parse_quantity(header["theoricalQty"], field="header.theoricalQty"),
        reductor=parse_reductor(header["reductor"], field="header.reductor"),
    )


def parse_row(raw: Any, page_number: int, position: int) -> Asset:
    """Parse one ``results`` row."""
    row = _fields(raw, ROW_FIELDS, f"results[{position}]")
    cod = check_row_ticker(row["cod"], f"field 'results[{position}].cod'")
    where = f"results[{cod}]"
    for key in ("asset", "type"):
        if not isinstance(row[key], str):
            raise SchemaDrift(f"field '{where}.{key}': {row[key]!r} is not a string")
    segment = row["segment"]
    if segment is not None and not isinstance(segment, str):
        raise SchemaDrift(f"field '{where}.segment': {segment!r} is not a string")
    part_acum = row["partAcum"]
    return Asset(
        segment=(segment.strip() or None) if isinstance(segment, str) else None,
        cod=cod,
        asset=row["asset"].strip(),
        type_raw=row["type"],
        type_normalized=" ".join(row["type"].split()),
        part=parse_weight(row["part"], field=f"{where}.part"),
        part_acum=None if part_acum is None else parse_weight(part_acum, field=f"{where}.partAcum"),
        theoretical_qty=parse_quantity(row["theoricalQty"], field=f"{where}.theoricalQty"),
        page_number=page_number,
    )


def assemble(
    index: str,
    pages: Sequence[Page],
    sources: Sequence[PageSource],
    fetched_at: datetime,
    *,
    require_sector: bool,
) -> Portfolio:
    """Join the pages of one answer and run every check; nothing is written before this passes.

    Checks: the pages agree with each other; the rows number ``page.totalRecords``; the
    tickers are unique; the quantities sum exactly to ``header.theoricalQty``; the weights
    sum to ``header.part`` within the rounding tolerance; every asset has its sector when
    segment 2 was asked for.
    """
    first = pages[0]
    for page in pages[1:]:
        if page.header != first.header or page.total_records != first.total_records:
            raise SchemaDrift(
                f"page {page.number} disagrees with page 1 on the header or totalRecords"
            )
    assets = tuple(asset for page in pages for asset in page.assets)
    check_totals(first.header, first.total_records, assets)
    if require_sector:
        unsectored = [asset.cod for asset in assets if asset.segment is None]
        if unsectored:
            raise SchemaDrift(
                f"{len(unsectored)} of {len(assets)} assets have no sector (segment), "
                f"e.g. {', '.join(unsectored[:5])}: was segment 2 honoured?"
            )
    return Portfolio(
        index=index,
        header=first.header,
        total_records=first.total_records,
        assets=assets,
        sources=tuple(sources),
        fetched_at=fetched_at,
    )


class Totals(Protocol):
    """B3's stated totals: what :func:`check_totals` reconciles rows with."""

    @property
    def part(self) -> Decimal: ...

    @property
    def theoretical_qty(self) -> int: ...


class Row(Protocol):
    """One row as :func:`check_totals` reads it."""

    @property
    def cod(self) -> str: ...

    @property
    def part(self) -> Decimal: ...

    @property
    def theoretical_qty(self) -> int: ...


@dataclass(frozen=True)
class RowTotals:
    """What the reconciliation checks need of the rows, however they were counted."""

    rows: int
    duplicated: tuple[str, ...]
    quantity: int
    weight: Decimal


def totals_of(assets: Sequence[Row]) -> RowTotals:
    """The :class:`RowTotals` of parsed rows."""
    return RowTotals(
        rows=len(assets),
        duplicated=tuple(sorted(cod for cod, n in Counter(a.cod for a in assets).items() if n > 1)),
        quantity=sum(asset.theoretical_qty for asset in assets),
        weight=sum((asset.part for asset in assets), Decimal(0)),
    )


def check_totals(header: Totals, total_records: int, assets: Sequence[Row] | RowTotals) -> None:
    """Raise the :class:`TotalsMismatch` of the first check that fails, with its numbers.

    Used for every portfolio B3 publishes with a header of totals: the day's, the
    theoretical portfolio and the preview. ``assets`` may be the parsed rows or their
    :class:`RowTotals` counted elsewhere (Validate counts with Arrow): the checks and
    their messages are these.
    """
    totals = assets if isinstance(assets, RowTotals) else totals_of(assets)
    if totals.rows != total_records:
        raise RowCountMismatch(
            f"check 'row_count' failed: got {totals.rows} rows, "
            f"page.totalRecords is {total_records}"
        )
    if totals.duplicated:
        shown = ", ".join(totals.duplicated[:10])
        more = len(totals.duplicated) - 10
        raise DuplicateTickers(
            f"check 'unique_tickers' failed: {shown}{f' and {more} more' if more > 0 else ''} "
            "appear more than once"
        )
    qty = totals.quantity
    if qty != header.theoretical_qty:
        raise QuantityTotalMismatch(
            f"check 'theoretical_qty_total' failed: rows sum to {qty}, "
            f"header.theoricalQty is {header.theoretical_qty} "
            f"(off by {qty - header.theoretical_qty})"
        )
    tolerance = WEIGHT_ROUNDING_PER_ROW * totals.rows
    if abs(totals.weight - header.part) > tolerance:
        raise WeightTotalMismatch(
            f"check 'weight_total' failed: weights sum to {totals.weight}, header.part is "
            f"{header.part} (tolerance {tolerance} for {totals.rows} rounded weights)"
        )


def _fields(raw: Any, names: Sequence[str], where: str) -> Mapping[str, Any]:
    if not isinstance(raw, Mapping):
        raise SchemaDrift(f"'{where}' is a {type(raw).__name__}, not an object")
    missing = [name for name in names if name not in raw]
    if missing:
        raise SchemaDrift(f"'{where}' lacks field(s) {', '.join(map(repr, missing))}")
    return raw


def _int(value: Any, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise SchemaDrift(f"field {field!r}: {value!r} is not an integer")
    return value

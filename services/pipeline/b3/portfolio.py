"""B3's portfolios as it publishes them, parsed exactly, and the checks they must pass.

Every answer (the day's ``GetPortfolioDay``, the theoretical portfolio, the preview) has the
same envelope (``page``, ``header``, ``results``), pt-BR numbers and totals; one
:class:`Contract` per call names its fields. Pure: bytes in, dataclasses out, or an error.
"""

from __future__ import annotations

import codecs
import hashlib
import json
import re
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Generic, TypeVar

from services.pipeline.b3.codes import check_ticker, shown
from services.pipeline.b3.cycles import Cycle
from services.pipeline.b3.errors import (
    DuplicateTickers,
    EmptyPortfolio,
    QuantityTotalMismatch,
    RowCountMismatch,
    SchemaDrift,
    WeightTotalMismatch,
)
from services.pipeline.b3.numbers import parse_quantity, parse_reductor, parse_weight
from services.pipeline.lake.datasets import DAILY, Dataset

#: Weights are rounded to 3 decimals: ``n`` of them sum to 100 give or take ``n`` half units
#: in the last place, at most 0.1 (B3's broadest index has ~200; recorded sums miss by 0.001).
WEIGHT_ROUNDING_PER_ROW, WEIGHT_TOLERANCE_MAX = Decimal("0.0005"), Decimal("0.1")
#: Company (``asset``), share type and sector: their longest, and B3's characters (accents too).
TEXT_MAX, _TEXT = {"asset": 40, "type": 20, "segment": 100}, re.compile(r"[\w .,/&()'+\-]+")
TEXT_RULE = "a non-empty string of letters, digits, spaces or . , / & - ( ) ' +"
#: What is left of a character lost before the body reached us: refused, or one name would
#: take two spellings (and a grouping by it would split).
LOST, LOST_RULE = "\ufffd", "U+FFFD, a character lost before the body reached us"


@dataclass(frozen=True)
class Contract:
    """The fields of one B3 call's ``header`` and ``results`` rows. A strict contract (the
    four-month ones, written before any live answer was seen) refuses unknown fields; the
    day's tolerates what B3 adds (``text``, ``textReductor``...)."""

    call: str
    header: tuple[str, ...]
    row: tuple[str, ...]
    #: Row fields that may be sent or not.
    optional: tuple[str, ...] = ()
    strict: bool = True


TOTALS = ("part", "theoricalQty", "reductor")
ROW = ("cod", "asset", "type", "part", "theoricalQty")
PAGE = ("pageNumber", "pageSize", "totalRecords", "totalPages")
#: The day's portfolio: the totals with the session's date, rows with their sector.
CONTRACT = Contract(
    "GetPortfolioDay", ("date", *TOTALS), (*ROW, "segment", "partAcum"), strict=False
)


@dataclass(frozen=True)
class Totals:
    """B3's totals (its ``header``), which the rows must reconcile with."""

    part: Decimal
    theoretical_qty: int
    reductor: Decimal


@dataclass(frozen=True)
class Header(Totals):
    """``header`` of a GetPortfolioDay body: the totals and the session they are of."""

    trading_date: date
    date_raw: str


H = TypeVar("H", bound=Totals)


@dataclass(frozen=True)
class Asset:
    segment: str | None
    cod: str
    asset: str
    type_raw: str
    type_normalized: str
    part: Decimal
    part_acum: Decimal | None
    theoretical_qty: int
    page_number: int
    #: B3's rank of the row by company (the four-month portfolios; ``None`` elsewhere).
    cont: int | None = None


@dataclass(frozen=True)
class PageSource:
    """One HTTP response as received, archived untouched."""

    number: int
    url: str
    body: bytes

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.body).hexdigest()


@dataclass(frozen=True)
class Page(Generic[H]):
    number: int
    total_records: int
    total_pages: int
    header: H
    assets: tuple[Asset, ...]


@dataclass(frozen=True)
class Portfolio:
    """One index's answer of ``dataset``, every check passed: the day's portfolio, or a
    dataset ahead dated by the session B3 served, with the ``cycle`` its rows are for."""

    index: str
    header: Header
    total_records: int
    assets: tuple[Asset, ...]
    #: The dataset's own pages.
    sources: tuple[PageSource, ...]
    fetched_at: datetime
    dataset: Dataset = DAILY
    cycle: Cycle | None = None
    #: The other answers it was decided by, archived beside it: ``session``
    #: (``GetPortfolioDay``) and, for a preview, ``configuration`` (``GetConfigurations``).
    answers: Mapping[str, PageSource] = field(default_factory=dict)

    @property
    def trading_date(self) -> date:
        return self.header.trading_date

    @property
    def sha256(self) -> str:
        """SHA-256 of the pages' bodies in order (the body itself for one page)."""
        return hashlib.sha256(b"".join(source.body for source in self.sources)).hexdigest()


def decode_body(body: bytes) -> Any:
    """A body as UTF-8 JSON: another encoding or a key twice in an object is :class:`SchemaDrift`
    (asking again changes nothing); not JSON (HTML, a cut body): a transient :class:`ValueError`."""
    if body.startswith((codecs.BOM_UTF8, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):  # RFC 8259
        name = "UTF-8" if body.startswith(codecs.BOM_UTF8) else "UTF-16"
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
        return json.loads(text, object_pairs_hook=_unique)
    except RecursionError:
        raise SchemaDrift("the body is JSON nested too deeply to be a portfolio") from None


def _unique(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    if len(obj := dict(pairs)) < len(pairs):  # json would keep the last of a key twice
        twice = next(key for key, n in Counter(key for key, _ in pairs).items() if n > 1)
        row = f" (cod {shown(obj['cod'])})" if "cod" in obj else ""
        raise SchemaDrift(f'the body has "{twice}" twice in one object{row}: ambiguous')
    return obj


def parse_page(document: Any) -> Page[Header]:
    """Parse one decoded GetPortfolioDay body; its session is ``header.date``, never the clock."""
    return _parse(document, CONTRACT, _dated)


def parse_totals_page(document: Any, contract: Contract) -> Page[Totals]:
    """Parse one decoded body of ``contract``'s call whose header holds the totals only."""
    return _parse(document, contract, lambda _, totals: totals)


def _parse(
    document: Any, contract: Contract, header_of: Callable[[Mapping[str, Any], Totals], H]
) -> Page[H]:
    body = _fields(document, "body", ("page", "header", "results"), contract)
    page = _fields(body["page"], "page", PAGE, contract)
    results = body["results"]
    if not isinstance(results, list):
        raise SchemaDrift(f"'results' is a {type(results).__name__}, not a list")
    total_records = _int(page["totalRecords"], "page.totalRecords")
    if not results or total_records == 0:
        raise EmptyPortfolio(
            f"{contract.call}: B3 published no assets (page.totalRecords={total_records}, "
            f"{len(results)} rows): a holiday, or not published yet"
        )
    number, _, _, total_pages = (_int(page[name], f"page.{name}") for name in PAGE)
    header = _fields(body["header"], "header", contract.header, contract)
    totals = Totals(
        part=parse_weight(header["part"], field="header.part"),
        theoretical_qty=parse_quantity(header["theoricalQty"], field="header.theoricalQty"),
        reductor=parse_reductor(header["reductor"], field="header.reductor"),
    )
    return Page(
        number=number,
        total_records=total_records,
        total_pages=total_pages,
        header=header_of(header, totals),
        assets=tuple(parse_asset(row, number, i, contract) for i, row in enumerate(results)),
    )


def _dated(header: Mapping[str, Any], totals: Totals) -> Header:
    date_raw = header["date"]
    text = str(date_raw) if str(date_raw).isascii() else ""  # strptime takes any Unicode digit
    try:
        trading_date = datetime.strptime(text, "%d/%m/%y").date()
    except ValueError:
        raise SchemaDrift(f"field 'header.date': {date_raw!r} is not a dd/mm/yy date") from None
    return Header(**asdict(totals), trading_date=trading_date, date_raw=str(date_raw))


def parse_asset(raw: Any, page_number: int, position: int, contract: Contract) -> Asset:
    row = _fields(raw, f"results[{position}]", contract.row, contract, contract.optional)
    cod = row["cod"].strip() if isinstance(row["cod"], str) else row["cod"]  # B3 pads some
    cod = check_ticker(cod, f"field 'results[{position}].cod'")
    where = f"results[{cod}]"
    for key, most in TEXT_MAX.items():  # a day's segment is None in segment 1
        text = row.get(key)
        ok = isinstance(text, str) and text.strip() and len(text) <= most and _TEXT.fullmatch(text)
        if not ok and (text is not None or key != "segment"):
            rule = (
                f"holds {LOST_RULE}" if LOST in str(text) else f"is not {TEXT_RULE}, {most} at most"
            )
            raise SchemaDrift(f"field '{where}.{key}': {shown(text)} {rule}")
    segment, part_acum, cont = row.get("segment"), row.get("partAcum"), row.get("cont")
    if "cont" in row and _int(cont, f"{where}.cont") < 1:
        raise SchemaDrift(f"field '{where}.cont': {cont!r} is not a positive rank")
    return Asset(
        segment=segment and segment.strip(),
        cod=cod,
        asset=row["asset"].strip(),
        type_raw=row["type"],
        type_normalized=" ".join(row["type"].split()),
        part=parse_weight(row["part"], field=f"{where}.part"),
        part_acum=None if part_acum is None else parse_weight(part_acum, field=f"{where}.partAcum"),
        theoretical_qty=parse_quantity(row["theoricalQty"], field=f"{where}.theoricalQty"),
        page_number=page_number,
        cont=cont,
    )


def join(pages: Sequence[Page[H]]) -> tuple[H, int, tuple[Asset, ...]]:
    """The header, ``totalRecords`` and rows of one answer's pages, every check passed:
    pages agree, totals reconcile, ``cont`` (where sent) is on every row and unique."""
    first = pages[0]
    for page in pages[1:]:
        if (page.header, page.total_records) != (first.header, first.total_records):
            raise SchemaDrift(
                f"page {page.number} disagrees with page 1 on the header or totalRecords"
            )
    assets = tuple(asset for page in pages for asset in page.assets)
    check_totals(first.header, first.total_records, totals_of(assets))
    ranked = [asset.cont for asset in assets if asset.cont is not None]
    if ranked and len(ranked) != len(assets):
        raise SchemaDrift(f"{len(assets) - len(ranked)} of {len(assets)} rows lack 'cont'")
    if repeated := sorted(str(cont) for cont, n in Counter(ranked).items() if n > 1):
        raise SchemaDrift(f"'cont' {', '.join(repeated)} appear(s) on several rows")
    return first.header, first.total_records, assets


def assemble(
    index: str, pages: Sequence[Page[Header]], sources: Sequence[PageSource], fetched_at: datetime
) -> Portfolio:
    """The day's pages joined (:func:`join`), every asset with its sector (segment 2)."""
    header, total_records, assets = join(pages)
    if unsectored := [asset.cod for asset in assets if asset.segment is None]:
        raise SchemaDrift(
            f"{len(unsectored)} of {len(assets)} assets have no sector (segment), "
            f"e.g. {', '.join(unsectored[:5])}: was segment 2 honoured?"
        )
    return Portfolio(index, header, total_records, assets, tuple(sources), fetched_at)


@dataclass(frozen=True)
class RowTotals:
    rows: int
    duplicated: tuple[str, ...]
    quantity: int
    weight: Decimal


def totals_of(assets: Sequence[Asset]) -> RowTotals:
    return RowTotals(
        rows=len(assets),
        duplicated=tuple(sorted(cod for cod, n in Counter(a.cod for a in assets).items() if n > 1)),
        quantity=sum(asset.theoretical_qty for asset in assets),
        weight=sum((asset.part for asset in assets), Decimal(0)),
    )


def check_totals(header: Totals, total_records: int, totals: RowTotals) -> None:
    """Raise the :class:`TotalsMismatch` of the first check that fails, with its numbers
    (the rows' totals may be counted elsewhere: Validate counts with Arrow)."""
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
    tolerance = min(WEIGHT_ROUNDING_PER_ROW * totals.rows, WEIGHT_TOLERANCE_MAX)
    if header.part != 100 or abs(totals.weight - 100) > tolerance:
        raise WeightTotalMismatch(
            f"check 'weight_total' failed: weights sum to {totals.weight}, header.part is "
            f"{header.part}: both must be 100 (tolerance {tolerance} for {totals.rows} rows)"
        )


def _fields(
    raw: Any, where: str, names: Sequence[str], contract: Contract, optional: Sequence[str] = ()
) -> dict[str, Any]:
    """``raw``'s fields that ``contract`` knows; :class:`SchemaDrift` unless it has ``names``
    (and, for a strict contract, nothing it does not know)."""
    if not isinstance(raw, Mapping):
        raise SchemaDrift(f"'{where}' is a {type(raw).__name__}, not a {contract.call} object")
    known = (*names, *optional)
    missing = [name for name in names if name not in raw]
    unknown = sorted(str(key) for key in raw if key not in known) if contract.strict else []
    if missing or unknown:
        has = f" (it has {_listed(sorted(raw))})" if missing and not contract.strict else ""
        problems = [f"lacks {_listed(missing)}{has}"] if missing else []
        problems += [f"has unknown {_listed(unknown)}"] if unknown else []
        raise SchemaDrift(f"'{where}' {' and '.join(problems)}: not a {contract.call} portfolio")
    return {name: raw[name] for name in known if name in raw}


def _listed(names: Iterable[str]) -> str:
    return ", ".join(map(repr, names)) or "nothing"


def _int(value: Any, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise SchemaDrift(f"field {field!r}: {value!r} is not an integer")
    return value

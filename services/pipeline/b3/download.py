"""B3's CSV downloads of a portfolio, read with the API's checks: the day's
(``IBOVDia_10-07-25.csv``) and the four-month theoretical one (``IBOVQuad_1-2025.csv``).

A title line (the index and its date or period), a header line, a row per asset, then the
total and reductor lines. The title decides the index and session; a file name of B3's
pattern must agree. The by-asset file has no sector: ``segment`` is None.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime

from services.pipeline import settings
from services.pipeline.b3 import calendar
from services.pipeline.b3.codes import INDEX_CODE, shown
from services.pipeline.b3.cycles import _ABBREVIATIONS, FIRST_MONTHS, LENGTH, Cycle
from services.pipeline.b3.errors import B3Error, EmptyPortfolio, SchemaDrift
from services.pipeline.b3.numbers import parse_quantity, parse_reductor, parse_weight
from services.pipeline.b3.portfolio import (
    LOST,
    LOST_RULE,
    ROW,
    Asset,
    Contract,
    Header,
    PageSource,
    Portfolio,
    check_totals,
    parse_asset,
    totals_of,
)
from services.pipeline.lake.datasets import DAILY, THEORETICAL
from services.pipeline.validate.errors import TooManyRows

#: The raw object's ``source_url`` of a download (its ``body_sha256`` is the file's).
PROVENANCE = "B3 CSV download"
CONTRACT = Contract(PROVENANCE, (), ROW)
#: The header line's columns and the API's name of each.
COLUMNS = {
    "Código": "cod", "Ação": "asset", "Tipo": "type", "Qtde. Teórica": "theoricalQty",
    "Part. (%)": "part",
}  # fmt: skip
TOTAL, REDUCTOR = "Quantidade Teórica Total", "Redutor"
_DAY = re.compile(rf"({INDEX_CODE}) - Carteira do Dia (\d\d/\d\d/\d\d)", re.ASCII)
_PERIOD = re.compile(rf"({INDEX_CODE}) - Carteira (\w+)\. a (\w+)\. (\d{{4}})", re.ASCII)
_NAME = re.compile(rf"{INDEX_CODE}(Dia_\d\d-\d\d-\d\d|Quad_\d-\d{{4}})\.csv", re.ASCII)
_MONTHS = {abbreviation.title(): n for n, abbreviation in enumerate(_ABBREVIATIONS, 1)}


def read_download(data: bytes, name: str, fetched_at: datetime | None = None) -> Portfolio:
    """The download ``data`` of the file ``name``; a refusal is one line naming the file,
    then the line and field."""
    with _at(name):
        lines = _lines(data)
        if not lines:
            raise EmptyPortfolio("the file is empty")
        with _at("line 1 (title)"):
            index, day, cycle = _title(lines[0])
        _check_name(name, index, day, cycle)
        if len(lines) < 4:
            raise SchemaDrift(
                f"the file ends at line {len(lines)}, before '{TOTAL}' and '{REDUCTOR}'"
            )
        with _at("line 2 (header)"):
            if tuple(_values(lines[1])) != tuple(COLUMNS):
                raise SchemaDrift(f"{shown(lines[1], 80)} is not {';'.join(COLUMNS)}")
        rows = lines[2:-2]
        if not rows:
            raise EmptyPortfolio("no asset between the header and the footer")
        if len(rows) > settings.MAX_RAW_ROWS:
            raise TooManyRows(
                f"{name}: {len(rows)} rows, over MAX_RAW_ROWS ({settings.MAX_RAW_ROWS})"
            )
        assets = tuple(_asset(line, number) for number, line in enumerate(rows, 3))
        header = _footer(lines[-2:], len(lines) - 1, day)
        with _at("footer"):
            check_totals(header, len(assets), totals_of(assets))
    dataset = DAILY if cycle is None else THEORETICAL
    source = PageSource(1, f"{PROVENANCE}: {name}", data)
    when = fetched_at or datetime.now(UTC)
    return Portfolio(index, header, len(assets), assets, (source,), when, dataset, cycle)


@contextmanager
def _at(where: str) -> Iterator[None]:
    """Say where a refusal is; a bad date or one outside the calendar is :class:`SchemaDrift`."""
    try:
        yield
    except B3Error as error:
        raise type(error)(f"{where}: {error}") from None
    except ValueError as error:
        raise SchemaDrift(f"{where}: {error}") from None


def _lines(data: bytes) -> list[str]:
    """Latin-1 as B3 sends it, or UTF-8 (with a BOM or not) as a re-saved copy; CRLF or LF."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("latin-1")
    lines = text.replace("\r\n", "\n").split("\n")  # not splitlines: Latin-1 0x85 is a break
    while lines and not lines[-1].strip():
        lines.pop()
    for number, line in enumerate(lines, 1):
        if LOST in line:
            raise SchemaDrift(f"line {number} holds {LOST_RULE}")
    return lines


def _values(line: str) -> list[str]:
    """A line's fields, without the empty one after a row's final ``;``."""
    values = line.split(";")
    return values[:-1] if len(values) > 1 and values[-1] == "" else values


def _title(line: str) -> tuple[str, date, Cycle | None]:
    """Index and session of the day's title; the period's cycle and its first session."""
    if match := _DAY.fullmatch(line):
        day = datetime.strptime(match[2], "%d/%m/%y").date()
        if not calendar.is_session(day):
            why = calendar.holiday_name(day) or calendar.WEEKDAYS[day.weekday()]
            raise SchemaDrift(f"{day} is not a B3 session ({why})")
        return match[1], day, None
    if match := _PERIOD.fullmatch(line):
        first, year = _MONTHS.get(match[2], 0), int(match[4])
        if first not in FIRST_MONTHS or _MONTHS.get(match[3]) != first + LENGTH - 1:
            raise SchemaDrift(f"{match[2]}. a {match[3]}. is not a four-month cycle of B3's")
        return match[1], calendar.first_session_of_month(year, first), Cycle(year, first)
    raise SchemaDrift(
        f"{shown(line)} is not 'IBOV - Carteira do Dia 10/07/25' or "
        "'IBOV - Carteira Jan. a Abr. 2025' of another index, date or period"
    )


def _check_name(name: str, index: str, day: date, cycle: Cycle | None) -> None:
    """A name of B3's pattern must say what the title says (a browser's ``(1)`` is not one)."""
    given = name.rsplit("/", 1)[-1]
    if cycle is None:
        own = f"{index}Dia_{day:%d-%m-%y}.csv"
    else:
        own = f"{index}Quad_{FIRST_MONTHS.index(cycle.first_month) + 1}-{cycle.year}.csv"
    if _NAME.fullmatch(given) and given != own:
        raise SchemaDrift(f"the file name disagrees with its title line, which makes it {own}")


def _asset(line: str, number: int) -> Asset:
    with _at(f"line {number}"):
        values = _values(line)
        if len(values) != len(COLUMNS):
            raise SchemaDrift(f"{len(values)} fields, not the {len(COLUMNS)} of the header")
        return parse_asset(
            dict(zip(COLUMNS.values(), values, strict=True)), 1, number - 3, CONTRACT
        )


def _footer(lines: list[str], number: int, day: date) -> Header:
    """The total and reductor lines (``Label;;;n``), as the API's header of ``day``."""
    footer: list[str] = []
    for offset, label, count in ((1, REDUCTOR, 1), (0, TOTAL, 2)):  # the last line first
        with _at(f"line {number + offset} ({label})"):
            values = _values(lines[offset])
            if values[:3] != [label, "", ""] or len(values) != 3 + count:
                raise SchemaDrift(
                    f"{shown(lines[offset], 60)} is not {label};;; and {count} number(s)"
                )
            footer = values[3:] + footer
    quantity, part, reductor = footer
    return Header(
        part=parse_weight(part, field=f"{TOTAL} Part. (%)"),
        theoretical_qty=parse_quantity(quantity, field=f"{TOTAL} Qtde. Teórica"),
        reductor=parse_reductor(reductor, field=REDUCTOR),
        trading_date=day,
        date_raw=f"{day:%d/%m/%y}",
    )

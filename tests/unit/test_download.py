"""B3's CSV downloads: every recorded one read exactly, every broken one refused in one line."""

from __future__ import annotations

import codecs
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from services.pipeline.b3.download import read_download
from services.pipeline.b3.errors import B3Error
from services.pipeline.lake.storage import open_lake
from services.pipeline.validate.errors import ContractViolation, NotATradingDay
from services.pipeline.validate.ingest import land_download
from tests.recordings import FIXTURES, pt_br

AT = datetime(2026, 12, 7, tzinfo=UTC)
IBRA_NAME = "IBRADia_22-06-21.csv"
IBRA = (FIXTURES / IBRA_NAME).read_bytes()  # Latin-1, CRLF
UTF8 = IBRA.decode("latin-1").encode()
QUAD = (FIXTURES / "IBOVQuad_1-2025.csv").read_bytes()
WEGE = b"WEGE3;WEG;ON      NM;1.482.296.002;1,761;"


@pytest.mark.parametrize(
    ("name", "index", "day", "cycle"),
    [
        ("IBOVDia_10-07-25.csv", "IBOV", date(2025, 7, 10), None),
        ("IBOVQuad_1-2025.csv", "IBOV", date(2025, 1, 2), "2025-01"),  # its first session
        ("IBRADia_22-06-21.csv", "IBRA", date(2021, 6, 22), None),
        ("IBRADia_24-06-21.csv", "IBRA", date(2021, 6, 24), None),
        ("IBXXDia_12-11-24.csv", "IBXX", date(2024, 11, 12), None),  # LF
    ],
)
def test_every_recorded_download_is_read_exactly(
    name: str, index: str, day: date, cycle: str | None
) -> None:
    data = (FIXTURES / name).read_bytes()
    portfolio = read_download(data, name, AT)
    lines = data.decode("latin-1").splitlines()
    rows = [line.split(";") for line in lines[2:-2]]
    assert [
        (a.cod, a.asset, a.type_raw, a.theoretical_qty, a.part, a.segment) for a in portfolio.assets
    ] == [
        (cod, company, kind, int(pt_br(qty)), pt_br(part), None)
        for cod, company, kind, qty, part, _ in rows
    ]
    *_, total_qty, total_part = lines[-2].split(";")
    header = portfolio.header
    assert (header.theoretical_qty, header.part, header.reductor) == (
        int(pt_br(total_qty)), pt_br(total_part), pt_br(lines[-1].split(";")[-1])
    )  # fmt: skip
    assert (portfolio.index, portfolio.trading_date, portfolio.dataset.period) == (
        index, day, "cycle" if cycle else ""
    )  # fmt: skip
    assert (portfolio.cycle.label if portfolio.cycle else None) == cycle
    (source,) = portfolio.sources
    assert (source.url, source.body) == (f"B3 CSV download: {name}", data)


# fmt: off
#: A recording broken as a copy or a download can be: id -> (file name, bytes, what its one
#: line says; None: read as the recording is).
BROKEN = {
    "LF": (IBRA_NAME, IBRA.replace(b"\r\n", b"\n"), None),
    "UTF-8 re-save": (IBRA_NAME, UTF8, None),
    "BOM, another name": ("carteira (1).csv", codecs.BOM_UTF8 + UTF8, None),
    "malformed footer": (
        IBRA_NAME, IBRA.replace(b"Total;;;", b"Total;;"), "line 182 (Quantidade Teórica Total): "
    ),
    "no reductor": (IBRA_NAME, IBRA.rsplit(b"Redutor", 1)[0], "line 182 (Redutor): "),
    "extra field": (IBRA_NAME, IBRA.replace(WEGE, WEGE + b"0;"), "line 179: 6 fields"),
    "bad number": (
        IBRA_NAME, IBRA.replace(b"1.482.296.002", b"1.482.296,002"),
        "line 179: field 'results[WEGE3].theoricalQty'",
    ),
    "quantities off by one": (
        IBRA_NAME, IBRA.replace(b"1.482.296.002", b"1.482.296.003"),
        "footer: check 'theoretical_qty_total' failed",
    ),
    "U+FFFD": (IBRA_NAME, UTF8.replace("ó".encode(), "\ufffd".encode(), 1), "line 2 holds U+FFFD"),
    "holiday": (
        IBRA_NAME, IBRA.replace(b"22/06/21", b"21/04/21"),
        "line 1 (title): 2021-04-21 is not a B3 session (Tiradentes)",
    ),
    "no title": (IBRA_NAME, IBRA.split(b"\r\n", 1)[1], "line 1 (title): "),
    "name disagrees": ("IBRADia_23-06-21.csv", IBRA, "title line, which makes it " + IBRA_NAME),
    "empty": (IBRA_NAME, b"", "the file is empty"),
    "period's name": ("IBOVQuad_2-2025.csv", QUAD, "title line, which makes it IBOVQuad_1-2025"),
    "not a cycle": (
        "IBOVQuad_1-2025.csv", QUAD.replace(b"Jan. a Abr.", b"Fev. a Mai."),
        "line 1 (title): Fev. a Mai. is not a four-month cycle",
    ),
    "row cap": (
        IBRA_NAME, IBRA.replace(WEGE + b"\r\n", (WEGE + b"\r\n") * 100_000),
        "100178 rows, over MAX_RAW_ROWS",
    ),
}
# fmt: on


@pytest.mark.parametrize(("name", "data", "refusal"), BROKEN.values(), ids=BROKEN)
def test_a_broken_download_is_refused_in_one_line_naming_the_file_and_field(
    name: str, data: bytes, refusal: str | None
) -> None:
    if refusal is None:
        read, recorded = read_download(data, name, AT), read_download(IBRA, IBRA_NAME, AT)
        assert (read.index, read.header) == (recorded.index, recorded.header)
        assert read.assets == recorded.assets
        return
    with pytest.raises((B3Error, ContractViolation)) as refused:
        read_download(data, name, AT)
    message = str(refused.value)
    assert message.startswith(f"{name}: ")
    assert refusal in message
    assert "\n" not in message


def test_a_four_month_download_of_a_cycle_not_begun_is_refused_and_writes_nothing(
    tmp_path: Path,
) -> None:
    lake, before = open_lake(str(tmp_path)), datetime(2024, 12, 20, 15, tzinfo=UTC)
    with pytest.raises(NotATradingDay, match="dt=2025-01-02 is after Mon 2024-12-23"):
        land_download(lake, QUAD, "IBOVQuad_1-2025.csv", before, "cli")
    assert lake.list("") == []

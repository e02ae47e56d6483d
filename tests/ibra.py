"""IBRA of 2021-06-22: an index of more than one B3 page (179 assets at pageSize 120).

The expected values are read here straight from B3's CSV download, independently of the
script that derived the JSON bodies from it.
"""

from __future__ import annotations

from decimal import Decimal

from services.pipeline import settings
from tests.recordings import pt_br

CSV = settings.FIXTURES_DIR / "IBRADia_22-06-21.csv"
SEGMENT1 = settings.FIXTURES_DIR / "GetPortfolioDay_IBRA_segment1_2021-06-22_derived-from-csv.json"
SEGMENT2 = settings.FIXTURES_DIR / "GetPortfolioDay_IBRA_segment2_2021-06-22_derived.json"
#: The replay server's cases for it (the scraper asks for segment 2).
CASES = {("IBRA", "1"): SEGMENT1, ("IBRA", "2"): SEGMENT2}


#: A CSV row: company, share type (spaces normalised), weight, quantity.
Row = tuple[str, str, Decimal, int]


def from_csv() -> tuple[dict[str, Row], tuple[int, Decimal, Decimal]]:
    """B3's CSV of the day, exactly: ticker -> row, and the footer's quantity, weight, reductor."""
    lines = CSV.read_bytes().decode("latin-1").splitlines()
    assert lines[0] == "IBRA - Carteira do Dia 22/06/21"
    rows = {}
    for line in lines[2:-2]:
        cod, company, kind, qty, part, _ = line.split(";")
        rows[cod] = (company, " ".join(kind.split()), pt_br(part), int(pt_br(qty)))
    _, _, _, total_qty, total_part = lines[-2].split(";")
    reductor = lines[-1].split(";")[-1]
    return rows, (int(pt_br(total_qty)), pt_br(total_part), pt_br(reductor))

"""Build the two IBXX GetPortfolioDay bodies of 2024-11-12 (new, named cases) from B3's CSV.

IBXX (IBrX 100) had 100 assets that day: one page at the scraper's pageSize of 120. No
GetPortfolioDay JSON of IBXX was found recorded; B3's CSV download of the same portfolio
was (IBXXDia_12-11-24.csv, LF line ends as its repository kept it), and it carries the
same pt-BR strings as the JSON endpoint. As derive_IBRA_2021-06-22.py does for IBRA, this
script derives:

* ``GetPortfolioDay_IBXX_segment1_2024-11-12_derived-from-csv.json``: segment 1. Every row
  value, the date and the totals are the CSV's own strings, in the CSV's order;
  ``segment`` and ``partAcum`` are null, as B3 sends them in segment 1.
* ``GetPortfolioDay_IBXX_segment2_2024-11-12_derived.json``: segment 2, the one the
  scraper asks for: the same rows with each asset's sector, ordered by sector then ticker,
  ``partAcum`` the sector's subtotal.

The CSV has no sectors. 99 of the 100 come from the sources derive_IBRA_2021-06-22.py
already uses (the real IBOV segment-2 recording of 2022-12-08, accents restored, and the
hand assignments of the two earlier scripts); GGPS3 (GPS, facility services) was assigned
by hand here (HAND_ASSIGNED). Rows, quantities, weights and totals are B3's; those
sectors are not.

Run from the repository root: ``python services/tool/recordings/b3/derive_IBXX_2024-11-12.py``.
"""

import runpy
from pathlib import Path

HERE = Path(__file__).parent
CSV = HERE / "IBXXDia_12-11-24.csv"
IBRA_SCRIPT = HERE / "derive_IBRA_2021-06-22.py"
SEGMENT1 = HERE / "GetPortfolioDay_IBXX_segment1_2024-11-12_derived-from-csv.json"
SEGMENT2 = HERE / "GetPortfolioDay_IBXX_segment2_2024-11-12_derived.json"

IBRA = runpy.run_path(str(IBRA_SCRIPT), run_name="derive_IBRA_2021_06_22")
HAND_ASSIGNED = {"GGPS3": IBRA["SERVICES"]}


def main() -> None:
    known = IBRA["sectors"]()
    overlap = set(known) & set(HAND_ASSIGNED)
    assert not overlap, f"assigned twice: {overlap}"
    body = IBRA["read_csv"](CSV, "IBXX")
    rows, sector_count = IBRA["derive"](body, {**known, **HAND_ASSIGNED}, SEGMENT1, SEGMENT2)
    print(f"wrote {SEGMENT1.name} and {SEGMENT2.name}: {rows} rows, "
          f"{sector_count} sectors, {len(HAND_ASSIGNED)} by hand here")  # fmt: skip


if __name__ == "__main__":
    main()

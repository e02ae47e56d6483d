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

import json
import runpy
from decimal import Decimal
from pathlib import Path

HERE = Path(__file__).parent
CSV = HERE / "IBXXDia_12-11-24.csv"
IBRA_SCRIPT = HERE / "derive_IBRA_2021-06-22.py"
SEGMENT1 = HERE / "GetPortfolioDay_IBXX_segment1_2024-11-12_derived-from-csv.json"
SEGMENT2 = HERE / "GetPortfolioDay_IBXX_segment2_2024-11-12_derived.json"

IBRA = runpy.run_path(str(IBRA_SCRIPT), run_name="derive_IBRA_2021_06_22")
HAND_ASSIGNED = {"GGPS3": IBRA["SERVICES"]}


def read_csv() -> dict[str, object]:
    """The CSV as a segment-1 body: B3's strings, B3's envelope."""
    lines = CSV.read_bytes().decode("latin-1").splitlines()
    title, _columns, *rows, total, reductor = lines
    index, _, day = title.rpartition(" ")
    assert index == "IBXX - Carteira do Dia", title
    total_text, _, _, total_qty, total_part = total.split(";")
    reductor_text, _, _, reductor_value = reductor.split(";")
    results = []
    for row in rows:
        cod, asset, kind, qty, part, trailing = row.split(";")
        assert trailing == "", row
        results.append({"segment": None, "cod": cod, "asset": asset, "type": kind,
                        "part": part, "partAcum": None, "theoricalQty": qty})  # fmt: skip
    return {
        "page": {"pageNumber": 1, "pageSize": 9999, "totalRecords": len(results), "totalPages": 1},
        "header": {
            "date": day,
            "text": total_text,
            "part": total_part,
            "partAcum": None,
            "textReductor": reductor_text,
            "reductor": reductor_value,
            "theoricalQty": total_qty,
        },
        "results": results,
    }


def main() -> None:
    body = read_csv()
    SEGMENT1.write_text(json.dumps(body, ensure_ascii=False) + "\n", encoding="utf-8")
    known = IBRA["sectors"]()
    overlap = set(known) & set(HAND_ASSIGNED)
    assert not overlap, f"assigned twice: {overlap}"
    sector_of = {**known, **HAND_ASSIGNED}
    results: list[dict[str, object]] = body["results"]  # type: ignore[assignment]
    missing = [row["cod"] for row in results if row["cod"] not in sector_of]
    assert not missing, f"no sector for {missing}"
    rows = [dict(row, segment=sector_of[str(row["cod"])]) for row in results]
    rows.sort(key=lambda row: (str(row["segment"]), str(row["cod"])))
    subtotal: dict[str, Decimal] = {}
    for row in rows:
        weight = Decimal(str(row["part"]).replace(",", "."))
        subtotal[str(row["segment"])] = subtotal.get(str(row["segment"]), Decimal(0)) + weight
    for row in rows:
        row["partAcum"] = IBRA["pt_br"](subtotal[str(row["segment"])])
    segment2 = {**body, "header": {**body["header"], "partAcum": "100,000"}, "results": rows}  # type: ignore[dict-item]
    SEGMENT2.write_text(json.dumps(segment2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {SEGMENT1.name} and {SEGMENT2.name}: {len(rows)} rows, "
          f"{len(subtotal)} sectors, {len(HAND_ASSIGNED)} by hand here")  # fmt: skip


if __name__ == "__main__":
    main()

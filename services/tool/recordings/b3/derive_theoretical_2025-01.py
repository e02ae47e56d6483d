"""Build GetTheoricalPortfolio_IBOV_2025-01_derived-from-csv.json (a new, named case).

The only real ``GetTheoricalPortfolio`` body recorded is of Sep.-Dec. 2022. B3's CSV
download of the theoretical portfolio for Jan.-Apr. 2025 (IBOVQuad_1-2025.csv, recorded)
carries the same numbers as the JSON endpoint, as the same pt-BR strings, so this script
puts them in the JSON envelope of the real 2022 recording:

* ``results``: one object per CSV row, in the CSV's order (by ticker, as in the real
  body), with the real body's keys in its order: ``cod``, ``asset``, ``type``,
  ``theoricalQty``, ``part`` -- each the CSV's own string, untouched (the share type keeps
  its padding) -- and ``cont``;
* ``cont`` is the one derived value (the CSV has no such column): the row's 1-based rank
  when the rows are ordered by company name (``asset``) and then ticker. That is what
  ``cont`` is in the real 2022 body, for all of its 92 rows;
* ``header``: ``part`` and ``theoricalQty`` from the CSV's "Quantidade Teórica Total"
  line, ``reductor`` from its "Redutor" line (the real header has these three fields and
  no date);
* ``page``: one page holding every row (the replay server re-pages on request).

The CSV's title line ("IBOV - Carteira Jan. a Abr. 2025") states the period; the JSON
header states none, so the period is not carried over (the tests read it from the CSV).

Run from the repository root: ``python services/tool/recordings/b3/derive_theoretical_2025-01.py``.
"""

import csv
import io
import json
from pathlib import Path

HERE = Path(__file__).parent
CSV = HERE / "IBOVQuad_1-2025.csv"
OUT = HERE / "GetTheoricalPortfolio_IBOV_2025-01_derived-from-csv.json"

TOTAL_LINE = "Quantidade Teórica Total"
REDUCTOR_LINE = "Redutor"
HEADER_LINE = ["Código", "Ação", "Tipo", "Qtde. Teórica", "Part. (%)"]


def main() -> None:
    text = CSV.read_bytes().decode("latin-1")
    lines = list(csv.reader(io.StringIO(text, newline=""), delimiter=";"))
    title, header, *body = lines
    assert title[0].startswith("IBOV - Carteira "), title
    assert header == HEADER_LINE, header
    rows = [line for line in body if line and line[0] not in (TOTAL_LINE, REDUCTOR_LINE)]
    (total,) = [line for line in body if line and line[0] == TOTAL_LINE]
    (reductor,) = [line for line in body if line and line[0] == REDUCTOR_LINE]
    # Every asset row ends in ';', so it has an empty sixth field.
    assert all(len(row) == 6 and row[5] == "" for row in rows)
    results = [
        {"cod": cod, "asset": asset, "type": kind, "theoricalQty": qty, "part": part}
        for cod, asset, kind, qty, part, _ in rows
    ]
    ranked = sorted(results, key=lambda row: (row["asset"], row["cod"]))
    rank = {row["cod"]: position for position, row in enumerate(ranked, start=1)}
    for row in results:
        row["cont"] = rank[row["cod"]]
    document = {
        "page": {"pageNumber": 1, "pageSize": 120, "totalRecords": len(results), "totalPages": 1},
        "header": {"part": total[4], "theoricalQty": total[3], "reductor": reductor[3]},
        "results": results,
    }
    OUT.write_text(
        json.dumps(document, ensure_ascii=False, separators=(",", ":")), encoding="utf-8"
    )
    print(f"wrote {OUT.name}: {len(results)} rows")


if __name__ == "__main__":
    main()

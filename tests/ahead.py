"""Recordings and test-made bodies for the four-month datasets (theoretical, preview).

The theoretical bodies are recordings (or derived from one by a script next to them); no
``GetQuartelyPreview`` or ``GetConfigurations`` answer is recorded: those are test-made.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

from tests.recordings import FIXTURES, load
from tests.recordings import SEGMENT2_2022_12_08 as SEGMENT2_2022_12_08

#: Real ``GetTheoricalPortfolio`` body (Sep.-Dec. 2022), recorded on 2022-12-10.
THEORETICAL_2022 = FIXTURES / "GetTheoricalPortfolio_IBOV_2022-12-10.json"
#: B3's CSV download of the Jan.-Apr. 2025 theoretical portfolio (recorded).
QUAD_CSV_2025_01 = FIXTURES / "IBOVQuad_1-2025.csv"
#: The same as a JSON body, by ``derive_theoretical_2025-01.py``.
THEORETICAL_2025_01 = FIXTURES / "GetTheoricalPortfolio_IBOV_2025-01_derived-from-csv.json"


def preview_body(theoretical: Path, *, cont: bool = False) -> bytes:
    """A preview body built from a theoretical portfolio's recording (test-made)."""
    document = load(theoretical)
    if not cont:
        for row in document["results"]:
            del row["cont"]
    return json.dumps(document, ensure_ascii=False).encode("utf-8")


def configuration(*has: int) -> bytes:
    """A ``GetConfigurations`` body with these ``preview[i].has`` flags (test-made)."""
    return json.dumps({"preview": [{"has": flag} for flag in has]}).encode()


def quad_csv(path: Path = QUAD_CSV_2025_01) -> dict[str, Any]:
    """An independent reading of B3's theoretical-portfolio CSV: title, rows, totals."""
    lines = list(csv.reader(io.StringIO(path.read_bytes().decode("latin-1")), delimiter=";"))
    title, _, *body = lines
    rows = [line[:5] for line in body if len(line) == 6]
    (total,) = [line for line in body if line[0].startswith("Quantidade")]
    (reductor,) = [line for line in body if line[0] == "Redutor"]
    return {
        "title": title[0],
        "rows": [
            dict(zip(("cod", "asset", "type", "qty", "part"), row, strict=True)) for row in rows
        ],
        "total_qty": total[3],
        "total_part": total[4],
        "reductor": reductor[3],
    }

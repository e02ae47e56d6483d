"""Build GetPortfolioDay_IBOV_segment2_2022-12-08_repaired.json (a new, named case).

The recorder of GetPortfolioDay_IBOV_segment2_2022-12-08.json lost every accented letter:
123 U+FFFD (122 in sector names, one in ``header.text``). A damaged string is replaced by
a known name only when exactly one fits: the same length, equal everywhere but where the
damaged one has U+FFFD, and a non-ASCII letter there. The known names are the sector
names and ``header.text`` of the other GetPortfolioDay recordings here (their sectors
follow B3's classification; see this folder's README). Otherwise the script stops and
writes nothing: that recording is then not used.

Run from the repository root: ``python services/tool/recordings/b3/repair_IBOV_2022-12-08.py``.
"""

import json
from pathlib import Path

HERE = Path(__file__).parent
DAMAGED = HERE / "GetPortfolioDay_IBOV_segment2_2022-12-08.json"
OUT = HERE / "GetPortfolioDay_IBOV_segment2_2022-12-08_repaired.json"
LOST = "\ufffd"


def known_names() -> set[str]:
    names = set()
    for path in HERE.glob("GetPortfolioDay_*_derived*.json"):
        body = json.loads(path.read_text(encoding="utf-8"))
        names |= {row["segment"] for row in body["results"] if row["segment"]}
        names.add(body["header"]["text"])
    return names


def fits(damaged: str, name: str) -> bool:
    if len(name) != len(damaged):
        return False
    pairs = zip(damaged, name, strict=True)
    return all(a == b or (a == LOST and b.isalpha() and not b.isascii()) for a, b in pairs)


def repaired(value: object, known: set[str]) -> object:
    if not isinstance(value, str) or LOST not in value:
        return value
    fitting = [name for name in known if fits(value, name)]
    if len(fitting) != 1:
        raise SystemExit(f"{value!r}: {len(fitting)} known names fit, not 1: nothing written")
    return fitting[0]


def main() -> None:
    body = json.loads(DAMAGED.read_text(encoding="utf-8"))
    known = known_names()
    body["header"] = {key: repaired(value, known) for key, value in body["header"].items()}
    body["results"] = [
        {key: repaired(value, known) for key, value in row.items()} for row in body["results"]
    ]
    OUT.write_text(json.dumps(body, ensure_ascii=False, separators=(",", ":")), encoding="utf-8")
    print(f"wrote {OUT.name}: {DAMAGED.read_text(encoding='utf-8').count(LOST)} U+FFFD repaired")


if __name__ == "__main__":
    main()

"""The index registry: every code B3 publishes, the spellings users type, refusals."""

from __future__ import annotations

import pytest

from services.pipeline.b3.indices import (
    ALIASES,
    INDICES,
    SOURCES,
    UnknownIndex,
    canonical,
    parse_setting,
    resolve,
)

#: The index codes in B3's GetStockIndex answer of 2025-04-07 (ropensci/rb3 fixture).
GET_STOCK_INDEX_2025_04_07 = {
    "AGFS", "BDRX", "GPTW", "IBBR", "IBEE", "IBEP", "IBEW", "IBHB", "IBLV", "IBOV", "IBRA", "IBSD",
    "IBXL", "IBXX", "ICO2", "ICON", "IDIV", "IDVR", "IEEX", "IFIL", "IFIX", "IFNC", "IGCT", "IGCX",
    "IGNM", "IMAT", "IMOB", "INDX", "ISEE", "ITAG", "IVBX", "MLCX", "SMLL", "UTIL",
}  # fmt: skip
#: The indices the issue names; every one must be in the registry.
NAMED_IN_THE_ISSUE = (
    "IBOV", "IBXX", "IBXL", "IBRA", "SMLL", "MLCX", "IDIV", "IFIX", "IFIL", "BDRX", "ICO2",
    "ISEE", "IGCX", "IGCT", "ITAG", "IGNM", "UTIL", "IFNC", "IMOB", "INDX", "ICON", "IEEX",
    "IMAT", "IVBX", "GPTW", "AGFS",
)  # fmt: skip


def test_the_registry_is_the_codes_b3_names() -> None:
    assert set(INDICES) == GET_STOCK_INDEX_2025_04_07
    assert set(NAMED_IN_THE_ISSUE) <= set(INDICES)
    for index in INDICES.values():
        assert all((index.name, index.pt, index.en, index.members > 0))
        assert {"stock-index"} <= set(index.confirmed) <= set(SOURCES)
    assert INDICES["IBRA"].members == 175
    assert "day-csv" in INDICES["IBRA"].confirmed
    assert "day-csv" not in INDICES["ITAG"].confirmed


def test_every_alias_points_at_a_registered_code() -> None:
    assert set(ALIASES.values()) <= set(INDICES)
    assert not set(ALIASES) & set(INDICES)


@pytest.mark.parametrize(
    ("typed", "code"),
    [
        ("IBRX", "IBXX"), ("IBrX 100", "IBXX"), ("ibrx-100", "IBXX"), ("IBRX50", "IBXL"),
        ("ISE", "ISEE"), ("ibov", "IBOV"), (" smll ", "SMLL"), ("IFIX L", "IFIL"),
        ("IGC-NM", "IGNM"), ("IBOVESPA", "IBOV"),
    ],
)  # fmt: skip
def test_what_users_type_is_resolved_with_a_message(typed: str, code: str) -> None:
    found, note = canonical(typed)
    assert found == code
    assert note is not None
    assert note.startswith(f"index {typed.strip()!r} is B3's {code} (")


def test_a_code_as_b3_writes_it_needs_no_message() -> None:
    assert canonical("IBOV") == ("IBOV", None)


def test_all_is_every_index_in_registry_order() -> None:
    assert resolve("all").codes == resolve(["ALL"]).codes == tuple(INDICES)
    assert resolve("all").codes[:3] == ("IBOV", "IBXX", "IBXL")
    with pytest.raises(UnknownIndex, match="cannot be combined"):
        resolve(["all", "IBOV"])


def test_a_list_keeps_its_order_and_drops_the_same_index_twice() -> None:
    selection = resolve(["SMLL", "IBRX", "ibov", "IBXX"])
    assert selection.codes == ("SMLL", "IBXX", "IBOV")
    assert selection.notes == (
        "index 'IBRX' is B3's IBXX (Índice Brasil 100 (IBrX 100 B3))",
        "index 'ibov' is B3's IBOV (Índice Bovespa (Ibovespa B3))",
        "index 'IBXX' is listed twice (as IBXX): kept once",
    )
    assert resolve("IBOV, smll").codes == ("IBOV", "SMLL")


def test_unknown_codes_are_all_named_in_one_line_with_a_hint() -> None:
    with pytest.raises(UnknownIndex) as raised:
        resolve(["IBOV", "IBOVV", "XPTO"])
    message = str(raised.value)
    assert "\n" not in message
    assert message.startswith("unknown B3 index codes 'IBOVV', 'XPTO': not among the 34 indices")
    assert "IBOVV: did you mean IBOV?" in message


@pytest.mark.parametrize("bad", [[], [""], [42], ["IBOV", None], "  "])
def test_empty_or_non_text_entries_are_refused(bad: object) -> None:
    with pytest.raises(UnknownIndex):
        resolve(bad)  # type: ignore[arg-type]


def test_a_setting_is_a_json_list_a_word_or_codes() -> None:
    assert parse_setting('["IBOV", "IBRX50"]').codes == ("IBOV", "IBXL")
    assert parse_setting("all").codes == tuple(INDICES)
    assert parse_setting("IBOV,SMLL").codes == ("IBOV", "SMLL")
    with pytest.raises(UnknownIndex, match="not a JSON list"):
        parse_setting('["IBOV",')
    with pytest.raises(UnknownIndex, match="unknown B3 index code 'IBRA2'"):
        parse_setting('["IBRA2"]')

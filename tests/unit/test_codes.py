"""Tickers and index codes: what B3 uses passes, anything that could bend a path does not
(checked against pyarrow's own Hive partitioning and Arrow's RE2)."""

from __future__ import annotations

from datetime import date
from urllib.parse import quote

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from services.pipeline.b3.codes import (
    TICKER,
    TICKER_FULL,
    check_ticker,
    index_argument,
    is_index_code,
    is_ticker,
)
from services.pipeline.b3.errors import SchemaDrift
from services.pipeline.errors import BadArgument
from services.pipeline.lake.raw import partition
from services.pipeline.lake.refined import refined_key
from tests.recordings import SEGMENT2_2022_12_08, SEGMENT2_2025_07_10, load

HIVE = ds.partitioning(pa.schema([("ticker", pa.string())]), flavor="hive")

#: Values that must never become a path segment.
HOSTILE = [
    "", "PETR4/", "../x", "PE/TR4", "PETR4=1", "PETR%34", "PETR 4", " PETR4", "PETR4\n",
    "PETR4\t", "PETRÃ4", "\uff30\uff25\uff34\uff32\uff14", "petr4", "__HIVE_DEFAULT_PARTITION__",
    "PETR4" * 60, "PETR4'", 'PETR4"', "PETR4;DROP", "PETR4\x00",
]  # fmt: skip


def test_every_recorded_b3_ticker_is_a_ticker() -> None:
    tickers = {r["cod"] for path in (SEGMENT2_2022_12_08, SEGMENT2_2025_07_10)
               for r in load(path)["results"]}  # fmt: skip
    assert {"PETR4", "B3SA3", "WEGE3", "TAEE11"} <= tickers
    assert [t for t in tickers if not is_ticker(t)] == []


@pytest.mark.parametrize(
    ("code", "ticker"),
    [("PETR4", True), ("TAEE11", True), ("A1MD34", True), ("ABEV3F", True), ("PETR", False),
     ("4PET4", False), ("PETR123", False), ("PETR4FF", False), ("IBOV", False)],
)  # fmt: skip
def test_real_shapes_of_b3_tickers(code: str, ticker: bool) -> None:
    assert is_ticker(code) is ticker


@pytest.mark.parametrize("code", ["IBOV", "IBXX", "SMLL", "ICO2", "IGPTW"])
def test_real_b3_index_codes_are_index_codes(code: str) -> None:
    assert partition(code, date(2025, 7, 10)) == f"raw/index={code}/dt=2025-07-10"


@pytest.mark.parametrize("value", HOSTILE)
def test_hostile_values_are_refused_in_one_short_line(value: str) -> None:
    assert not is_index_code(value)
    with pytest.raises(SchemaDrift, match="is not a B3 ticker") as caught:
        check_ticker(value, "cod")
    assert len(str(caught.value).splitlines()[0]) == len(str(caught.value)) < 200
    if not is_index_code(value.strip().upper()):  # an argument may be " ibov"
        with pytest.raises(BadArgument, match="index code"):
            index_argument(value)
    with pytest.raises(BadArgument):
        partition(value, date(2025, 7, 10))


@given(st.from_regex(TICKER, fullmatch=True))
def test_any_ticker_round_trips_through_a_hive_partition_path(ticker: str) -> None:
    assert f"/ticker={ticker}/" in refined_key(("2025-07-10", "IBOV", ticker))
    directory, _ = HIVE.format(ds.field("ticker") == ticker)
    assert directory == f"ticker={ticker}"  # pyarrow needs no escaping for it


@given(st.text())
@example("__HIVE_DEFAULT_PARTITION__")
@example("PETR4\n")
def test_anything_accepted_is_path_safe(value: str) -> None:
    for accepted, longest in ((is_ticker(value), 7), (is_index_code(value), 8)):
        if accepted:
            assert (value.isascii(), value.isalnum(), value.upper()) == (True, True, value)
            assert quote(value, safe="") == value
            assert 1 <= len(value) <= longest


@given(st.lists(st.text(max_size=12), max_size=20))
def test_arrow_and_python_agree_on_every_value(values: list[str]) -> None:
    """Validate checks with Arrow's RE2, the scraper with Python's re: the same verdicts."""
    array = pa.array([*values, *HOSTILE, "PETR4", "IBOV"], pa.string())
    python = array.to_pylist()
    assert pc.match_substring_regex(array, TICKER_FULL).to_pylist() == list(map(is_ticker, python))

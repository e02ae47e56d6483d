"""Tickers and index codes: what B3 uses passes, anything that could bend a path does not.

Properties are checked against pyarrow's own Hive partitioning (an implementation that is
not ours) and against the refined layout's parser.
"""

from __future__ import annotations

import copy
import csv
import io
import json
from datetime import date
from urllib.parse import quote

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from services.pipeline.b3.codes import (
    INDEX_CODE,
    INDEX_CODE_FULL,
    INDEX_CODE_MAX_LENGTH,
    TICKER,
    TICKER_FULL,
    TICKER_MAX_LENGTH,
    check_ticker,
    index_argument,
    is_index_code,
    is_ticker,
)
from services.pipeline.b3.errors import SchemaDrift
from services.pipeline.b3.portfolio import parse_page
from services.pipeline.errors import BadArgument
from services.pipeline.lake.raw import partition
from services.pipeline.lake.refined import partition_of, refined_key
from tests.recordings import FIXTURES, SEGMENT2_2022_12_08, SEGMENT2_2025_07_10, load

HIVE = ds.partitioning(pa.schema([("ticker", pa.string())]), flavor="hive")

#: Values that must never become a path segment.
HOSTILE = [
    "",
    "PETR4/",
    "../x",
    "PE/TR4",
    "PETR4=1",
    "PETR%34",
    "PETR 4",
    " PETR4",
    "PETR4\n",
    "PETR4\t",
    "PETRÃ4",
    "\uff30\uff25\uff34\uff32\uff14",  # full-width capitals
    "petr4",
    "__HIVE_DEFAULT_PARTITION__",
    "PETR4" * 60,  # 300 characters
    "PETR4'",
    'PETR4"',
    "PETR4;DROP",
    "PETR4\x00",
]
#: Characters that change or escape a path, or that Spark, S3 and Athena encode differently.
UNSAFE = st.sampled_from([*list("/=%\\ \t\n\r'\"#?*:{}[]^\x00\x7fÃé_.-"), "\xa0", "\u2028"])


def recorded_tickers() -> set[str]:
    """Every ticker in B3's recorded portfolios (JSON bodies and CSV downloads)."""
    tickers = {r["cod"] for r in load(SEGMENT2_2022_12_08)["results"]}
    tickers |= {r["cod"] for r in load(SEGMENT2_2025_07_10)["results"]}
    for name in ("IBOVDia_10-07-25.csv",):
        text = (FIXTURES / name).read_text(encoding="latin-1")
        rows = list(csv.reader(io.StringIO(text), delimiter=";"))[2:]
        tickers |= {row[0] for row in rows if row and row[1:] and row[1].strip()}
    return tickers - {"Quantidade Teórica Total", "Redutor"}


def test_every_recorded_b3_ticker_is_a_ticker() -> None:
    tickers = recorded_tickers()
    assert {"PETR4", "B3SA3", "WEGE3", "TAEE11"} <= tickers
    assert [t for t in tickers if not is_ticker(t)] == []


@pytest.mark.parametrize(
    "code", ["PETR4", "B3SA3", "TAEE11", "BPAC11", "AAPL34", "A1MD34", "ABEV3F", "HGLG11"]
)
def test_real_shapes_of_b3_codes_are_tickers(code: str) -> None:
    assert is_ticker(code)


@pytest.mark.parametrize("code", ["IBOV", "IBXX", "IBXL", "SMLL", "ICO2", "IFIX", "IGPTW", "IDIV"])
def test_real_b3_index_codes_are_index_codes(code: str) -> None:
    assert is_index_code(code)
    assert partition(code, date(2025, 7, 10)) == f"raw/index={code}/dt=2025-07-10"


@pytest.mark.parametrize("value", ["PETR", "4PET4", "PETR123", "PETR4FF", "PET4", "IBOV"])
def test_other_shapes_are_not_tickers(value: str) -> None:
    assert not is_ticker(value)


@pytest.mark.parametrize("value", HOSTILE)
def test_hostile_values_are_neither_tickers_nor_index_codes(value: str) -> None:
    assert not is_ticker(value)
    assert not is_index_code(value)
    with pytest.raises(SchemaDrift, match="is not a B3 ticker"):
        check_ticker(value, "cod")
    if not is_index_code(value.strip().upper()):  # an argument may be " ibov"
        with pytest.raises(BadArgument, match="index code"):
            index_argument(value)
    with pytest.raises(BadArgument):
        partition(value, date(2025, 7, 10))


def test_a_hostile_ticker_from_b3_is_schema_drift_naming_the_row() -> None:
    document = copy.deepcopy(load(SEGMENT2_2025_07_10))
    document["results"][3]["cod"] = "PE/TR4"
    with pytest.raises(SchemaDrift, match=r"results\[3\].cod': 'PE/TR4' is not a B3 ticker"):
        parse_page(document)


def test_a_300_character_ticker_is_refused_in_one_short_line() -> None:
    document = copy.deepcopy(load(SEGMENT2_2025_07_10))
    document["results"][0]["cod"] = "A" * 300
    with pytest.raises(SchemaDrift) as caught:
        parse_page(document)
    assert "(302 chars)" not in str(caught.value)
    assert "(300 chars)" in str(caught.value)
    assert len(str(caught.value)) < 200


@given(st.from_regex(TICKER, fullmatch=True))
def test_any_ticker_round_trips_through_a_hive_partition_path(ticker: str) -> None:
    values = ("2025-07-10", "IBOV", ticker)
    key = refined_key(values)
    assert partition_of(key.removeprefix("refined/")) == values
    directory, _ = HIVE.format(ds.field("ticker") == ticker)
    assert directory == f"ticker={ticker}"  # pyarrow needs no escaping for it
    assert quote(ticker, safe="") == ticker
    assert len(ticker) <= TICKER_MAX_LENGTH


@given(st.from_regex(INDEX_CODE, fullmatch=True))
def test_any_index_code_round_trips_through_the_raw_partition(code: str) -> None:
    assert partition(code, date(2025, 7, 10)) == f"raw/index={code}/dt=2025-07-10"
    assert quote(code, safe="") == code
    assert len(code) <= INDEX_CODE_MAX_LENGTH


@given(st.text())
@example("__HIVE_DEFAULT_PARTITION__")
@example("PETR4\n")
def test_anything_accepted_is_path_safe(value: str) -> None:
    for accepted, longest in ((is_ticker(value), 7), (is_index_code(value), 8)):
        if accepted:
            assert value.isascii()
            assert value.isalnum()
            assert value.upper() == value
            assert quote(value, safe="") == value
            assert 1 <= len(value) <= longest


@given(st.from_regex(TICKER, fullmatch=True), st.integers(0, 6), UNSAFE)
def test_an_unsafe_character_anywhere_is_refused(ticker: str, at: int, bad: str) -> None:
    spoiled = ticker[:at] + bad + ticker[at:]
    assert not is_ticker(spoiled)
    assert not is_index_code(spoiled)


@given(st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", min_size=13, max_size=400))
def test_over_length_values_are_refused(value: str) -> None:
    assert not is_ticker(value)
    assert not is_index_code(value)


@given(st.lists(st.text(max_size=12), max_size=20))
def test_arrow_and_python_agree_on_every_value(values: list[str]) -> None:
    """Validate checks with Arrow's RE2, the scraper with Python's re: the same verdicts."""
    array = pa.array([*values, *HOSTILE, "PETR4", "IBOV"], pa.string())
    arrow_tickers = pc.match_substring_regex(array, TICKER_FULL).to_pylist()
    arrow_indices = pc.match_substring_regex(array, INDEX_CODE_FULL).to_pylist()
    python = array.to_pylist()
    assert arrow_tickers == [is_ticker(v) for v in python]
    assert arrow_indices == [is_index_code(v) for v in python]


def test_json_escapes_cannot_smuggle_a_value_past_the_check() -> None:
    document = copy.deepcopy(load(SEGMENT2_2025_07_10))
    body = json.dumps(document).replace('"PETR4"', '"PETR\\u002f4"')
    with pytest.raises(SchemaDrift, match="is not a B3 ticker"):
        parse_page(json.loads(body))

"""pt-BR number parsing: exact, strict, and the inverse of B3's formatting."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.pipeline.b3.errors import SchemaDrift
from services.pipeline.b3.numbers import (
    format_pt_br,
    parse_decimal,
    parse_quantity,
    parse_reductor,
    parse_weight,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2,728", Decimal("2.728")),
        ("100,000", Decimal("100.000")),
        ("0,030", Decimal("0.030")),
        ("1.481.593.024", Decimal("1481593024")),
        ("18.553.794,87445950", Decimal("18553794.87445950")),
        ("7", Decimal("7")),
        ("1234", Decimal("1234")),
        ("-1.000,5", Decimal("-1000.5")),
    ],
)
def test_parses_b3_strings_exactly(text: str, expected: Decimal) -> None:
    assert parse_decimal(text, field="x", max_scale=8) == expected


def test_quantities_are_integers_and_weights_keep_three_decimals() -> None:
    assert parse_quantity("91.922.324.640", field="q") == 91_922_324_640
    weight = parse_weight("2,7", field="w")
    assert weight == Decimal("2.700")
    assert weight.as_tuple().exponent == -3
    assert parse_reductor("15.438.607,05630450", field="r").as_tuple().exponent == -8


@pytest.mark.parametrize(
    "text",
    ["2.72", "1,481,593", "1.48.593", "", " 1,0", "1,0 ", "1e5", "NaN", "1.000.", None, 12, "R$ 1"],
)
def test_rejects_anything_else_with_the_field_name(text: object) -> None:
    with pytest.raises(SchemaDrift, match="field 'x'"):
        parse_decimal(text, field="x", max_scale=3)


def test_refuses_to_drop_digits() -> None:
    with pytest.raises(SchemaDrift, match="4 decimals, at most 3"):
        parse_weight("2,7281", field="x")
    with pytest.raises(SchemaDrift, match="1 decimals, at most 0"):
        parse_quantity("12,5", field="x")


@given(st.decimals(min_value=-(10**15), max_value=10**15, places=3, allow_nan=False))
def test_round_trips_any_three_decimal_number(value: Decimal) -> None:
    assert parse_decimal(format_pt_br(value, scale=3), field="x", max_scale=3) == value


@given(st.integers(min_value=0, max_value=10**18))
def test_round_trips_any_quantity(value: int) -> None:
    text = format_pt_br(Decimal(value), scale=0)
    assert parse_quantity(text, field="x") == value
    assert "," not in text


@given(st.decimals(min_value=0, max_value=10**12, places=8, allow_nan=False))
def test_round_trips_any_reductor(value: Decimal) -> None:
    assert parse_reductor(format_pt_br(value, scale=8), field="x") == value


@pytest.mark.parametrize("parse", [parse_weight, parse_quantity, parse_reductor])
def test_no_b3_number_is_negative(parse: Any) -> None:
    with pytest.raises(SchemaDrift, match="'-1' is negative"):
        parse("-1", field="x")
    assert parse("0", field="x") == 0
    assert parse("-0", field="x") == 0


def test_weights_are_bounded_by_decimal_7_3() -> None:
    assert parse_weight("9.999,999", field="w") == Decimal("9999.999")
    with pytest.raises(SchemaDrift, match=r"larger than decimal\(7,3\) holds \(9999.999\)"):
        parse_weight("10.000", field="w")

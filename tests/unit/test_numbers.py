"""pt-BR number parsing: exact, strict, bounded by the stored type, never negative."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.pipeline.b3.errors import SchemaDrift
from services.pipeline.b3.numbers import parse_decimal, parse_quantity, parse_reductor, parse_weight


def pt_br(value: Decimal, scale: int) -> str:
    """``value`` written the way B3 writes it ("1.481.593,024")."""
    integral, _, decimals = f"{value:.{scale}f}".partition(".")
    groups = f"{int(integral):,}".replace(",", ".")
    return f"{groups},{decimals}" if scale else groups


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2,728", Decimal("2.728")),
        ("0,030", Decimal("0.030")),
        ("1.481.593.024", Decimal("1481593024")),
        ("18.553.794,87445950", Decimal("18553794.87445950")),
        ("1234", Decimal("1234")),
    ],
)
def test_parses_b3_strings_exactly(text: str, expected: Decimal) -> None:
    assert parse_decimal(text, field="x", max_scale=8) == expected


def test_quantities_are_integers_and_weights_keep_three_decimals() -> None:
    assert parse_quantity("91.922.324.640", field="q") == 91_922_324_640
    weight = parse_weight("2,7", field="w")
    assert (weight, weight.as_tuple().exponent) == (Decimal("2.700"), -3)
    assert parse_reductor("15.438.607,05630450", field="r").as_tuple().exponent == -8


@pytest.mark.parametrize(
    "text",
    ["2.72", "1,481,593", "1.48.593", "", " 1,0", "1e5", "NaN", "1.000.", None, 12, "R$ 1",
     "\u0662,\u0667\u0662\u0668", "\uff12,728", "1.\u0660\u0660\u0660"],  # Arabic-Indic, fullwidth
)  # fmt: skip
def test_rejects_anything_else_with_the_field_name(text: object) -> None:
    with pytest.raises(SchemaDrift, match="field 'x'"):
        parse_decimal(text, field="x", max_scale=3)


@pytest.mark.parametrize(
    ("parse", "text", "message"),
    [
        (parse_weight, "2,7281", "4 decimals, at most 3"),
        (parse_quantity, "12,5", "1 decimals, at most 0"),
        (parse_weight, "-1", "'-1' is negative"),
        (parse_quantity, "-1", "'-1' is negative"),
        (parse_reductor, "-1", "'-1' is negative"),
        (parse_weight, "10.000", r"larger than decimal\(7,3\) holds \(9999.999\)"),
        (parse_quantity, "9.223.372.036.854.775.808", "larger than int64"),
        (parse_reductor, "1" + "0" * 16, r"larger than decimal\(24,8\)"),
    ],
)
def test_refuses_what_its_column_cannot_hold(parse: Any, text: str, message: str) -> None:
    with pytest.raises(SchemaDrift, match=message):
        parse(text, field="x")


@given(
    st.decimals(min_value=0, max_value=100, places=3, allow_nan=False),
    st.integers(min_value=1, max_value=2**63 - 1),
    st.decimals(min_value=Decimal("1e-8"), max_value=10**12, places=8, allow_nan=False),
)
def test_round_trips_any_value(weight: Decimal, quantity: int, reductor: Decimal) -> None:
    assert parse_weight(pt_br(weight, 3), field="x") == weight
    assert parse_quantity(pt_br(Decimal(quantity), 0), field="x") == quantity
    assert parse_reductor(pt_br(reductor, 8), field="x") == reductor

"""Exact parsing of B3's pt-BR number strings ("1.481.593.024", "2,728", "18.553.794,87445950").

Never floats. Each kind is bounded by its raw type (weights ``decimal(7,3)``, the reductor
``decimal(24,8)``, quantities ``int64``) and by what it can be (a weight 0 to 100 percent, a
reductor or quantity positive), in ASCII digits: else :class:`SchemaDrift`, naming the field.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Final

from services.pipeline.b3.errors import SchemaDrift

#: Weights (``part``, ``partAcum``, ``header.part``), in percent: ``decimal(7,3)``.
WEIGHT_PRECISION, WEIGHT_SCALE = 7, 3
#: The index reductor (``header.reductor``): ``decimal(24,8)``.
REDUCTOR_PRECISION, REDUCTOR_SCALE = 24, 8
#: Theoretical quantities are stored as ``int64``.
QUANTITY_MAX = 2**63 - 1

#: The weights' and the reductor's types as Hive, Athena and Spark spell them.
WEIGHT_TYPE: Final = f"decimal({WEIGHT_PRECISION},{WEIGHT_SCALE})"
REDUCTOR_TYPE: Final = f"decimal({REDUCTOR_PRECISION},{REDUCTOR_SCALE})"

_PT_BR_NUMBER = re.compile(r"-?(?:\d{1,3}(?:\.\d{3})+|\d+)(?:,(\d+))?", re.ASCII)


def parse_decimal(text: object, *, field: str, max_scale: int) -> Decimal:
    """A pt-BR number ("." thousands, "," decimals) as an exact :class:`Decimal`, with at
    most ``max_scale`` decimals (storing more would lose digits)."""
    match = _PT_BR_NUMBER.fullmatch(text) if isinstance(text, str) else None
    if match is None:
        raise SchemaDrift(f"field {field!r}: {text!r} is not a pt-BR number")
    decimals = match.group(1) or ""
    if len(decimals) > max_scale:
        raise SchemaDrift(
            f"field {field!r}: {text!r} has {len(decimals)} decimals, at most {max_scale} expected"
        )
    return Decimal(match.group(0).replace(".", "").replace(",", "."))


def parse_quantity(text: object, *, field: str) -> int:
    value = int(parse_decimal(text, field=field, max_scale=0))
    _check_range(value, QUANTITY_MAX, text, field, "int64", zero=False)
    return value


def parse_weight(text: object, *, field: str) -> Decimal:
    value = _fixed(text, field, WEIGHT_PRECISION, WEIGHT_SCALE, zero=True)
    if value > 100:
        raise SchemaDrift(f"field {field!r}: {text!r} is more than 100 (a weight in percent)")
    return value


def parse_reductor(text: object, *, field: str) -> Decimal:
    return _fixed(text, field, REDUCTOR_PRECISION, REDUCTOR_SCALE, zero=False)


def _fixed(text: object, field: str, precision: int, scale: int, *, zero: bool) -> Decimal:
    value = parse_decimal(text, field=field, max_scale=scale).quantize(Decimal(1).scaleb(-scale))
    largest = Decimal(10) ** (precision - scale) - Decimal(1).scaleb(-scale)
    _check_range(value, largest, text, field, f"decimal({precision},{scale})", zero=zero)
    return value


def _check_range(
    value: Decimal | int, largest: Decimal | int, text: object, field: str, kind: str, *, zero: bool
) -> None:
    if value < 0:
        raise SchemaDrift(f"field {field!r}: {text!r} is negative; B3 publishes none")
    if value == 0 and not zero:
        raise SchemaDrift(f"field {field!r}: {text!r} is not positive, as it must be")
    if value > largest:
        raise SchemaDrift(f"field {field!r}: {text!r} is larger than {kind} holds ({largest})")

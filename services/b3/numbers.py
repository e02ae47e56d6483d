"""Exact parsing of B3's pt-BR number strings ("1.481.593.024", "2,728", "18.553.794,87445950").

Floats are never involved: a weight keeps its 3 decimals and a quantity stays an integer.
"""

from __future__ import annotations

import re
from decimal import Decimal

from services.b3.errors import SchemaDrift

_PT_BR_NUMBER = re.compile(r"-?(?:\d{1,3}(?:\.\d{3})+|\d+)(?:,(\d+))?")


def parse_decimal(text: object, *, field: str, max_scale: int) -> Decimal:
    """Parse a pt-BR number ("." thousands, "," decimals) into an exact :class:`Decimal`.

    Raises :class:`SchemaDrift` when ``text`` is not such a number or has more than
    ``max_scale`` decimal places (storing it would lose digits).
    """
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
    """Parse a pt-BR integer quantity ("91.922.324.640")."""
    return int(parse_decimal(text, field=field, max_scale=0))


def parse_weight(text: object, *, field: str) -> Decimal:
    """Parse a weight in percent with up to 3 decimals ("2,728"), scaled to exactly 3."""
    return parse_decimal(text, field=field, max_scale=3).quantize(Decimal("0.001"))


def parse_reductor(text: object, *, field: str) -> Decimal:
    """Parse the index reductor with up to 8 decimals, scaled to exactly 8."""
    return parse_decimal(text, field=field, max_scale=8).quantize(Decimal("0.00000001"))


def format_pt_br(value: Decimal, *, scale: int) -> str:
    """Format ``value`` the way B3 does (inverse of :func:`parse_decimal`); used by tests."""
    sign = "-" if value < 0 else ""
    integral, _, decimals = f"{abs(value):.{scale}f}".partition(".")
    groups = f"{int(integral):,}".replace(",", ".")
    return f"{sign}{groups},{decimals}" if scale else f"{sign}{groups}"

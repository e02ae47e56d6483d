"""What B3's codes look like: tickers and index codes, the values that become lake paths.

Anything else is refused before it is written: ``/`` or ``=`` would change the path, ``%``
or non-ASCII escape differently in Spark, Athena and S3, and Spark reads
``__HIVE_DEFAULT_PARTITION__`` back as NULL. The shapes come from B3's own data.
"""

from __future__ import annotations

import re
from typing import Final

from services.pipeline.b3.errors import SchemaDrift
from services.pipeline.errors import BadArgument

#: A B3 trading code: ``PETR4``, ``B3SA3``, ``TAEE11``, ``AAPL34``, ``ABEV3F``.
TICKER: Final = "[A-Z][A-Z0-9]{3}[0-9]{1,2}[A-Z]?"
#: A B3 index code: ``IBOV``, ``IBXX``, ``IBXL``, ``SMLL``, ``ICO2``, ``IFIX``, ``IGPTW``.
INDEX_CODE: Final = "[A-Z][A-Z0-9]{2,7}"
#: :data:`TICKER` anchored for Arrow's RE2 (``\z``: the end of the text, not of a line).
TICKER_FULL: Final = rf"^{TICKER}\z"

_TICKER = re.compile(TICKER)
_INDEX_CODE = re.compile(INDEX_CODE)


def is_ticker(value: object) -> bool:
    return isinstance(value, str) and _TICKER.fullmatch(value) is not None


def is_index_code(value: object) -> bool:
    return isinstance(value, str) and _INDEX_CODE.fullmatch(value) is not None


def check_ticker(value: object, where: str) -> str:
    """``value`` if it is a ticker, else :class:`SchemaDrift` naming ``where`` and the value."""
    return _checked(value, where, is_ticker(value), f"a B3 ticker ({_TICKER_RULE})")


def check_index_data(value: object, where: str) -> str:
    """``value`` if it is an index code; in data (a path, a file) anything else is drift."""
    return _checked(value, where, is_index_code(value), f"a B3 index code ({_INDEX_RULE})")


def _checked(value: object, where: str, ok: bool, kind: str) -> str:
    if not ok:
        raise SchemaDrift(f"{where}: {shown(value)} is not {kind}")
    return str(value)


def index_argument(value: str) -> str:
    """An index code a person gave, upper-cased; :class:`BadArgument` if it is not one."""
    code = value.strip().upper()
    if not is_index_code(code):
        raise BadArgument(f"index code {shown(value)} is not {_INDEX_RULE}")
    return code


_TICKER_RULE = "4 capitals or digits starting with a letter, 1-2 digits, an optional letter"
_INDEX_RULE = "3-8 capitals or digits starting with a letter, e.g. IBOV"


def shown(value: object, limit: int = 40) -> str:
    """``repr`` of ``value``, cut to ``limit`` characters (a hostile value may be huge)."""
    text = repr(value)
    return text if len(text) <= limit else f"{text[:limit]}… ({len(str(value))} chars)"

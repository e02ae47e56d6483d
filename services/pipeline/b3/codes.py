"""What B3's codes look like: tickers and index codes, the values that become lake paths.

A ticker becomes a refined partition (``ticker=PETR4/``) and an index code a raw and a
refined one (``index=IBOV/``, ``index_code=IBOV/``), so a value that is not a code as B3
writes it is refused before anything is written: a ``/`` or ``=`` would change the path,
``%`` or non-ASCII would be escaped differently by Spark, Athena and S3, and Spark reads
the string ``__HIVE_DEFAULT_PARTITION__`` back as NULL.

The shapes come from B3's own data (the recorded portfolios and the COTAHIST quote file
in ``services/tool/recordings/b3``): a trading code is a four-character root — letters, or a letter
and digits for BDRs and B3 itself (``PETR``, ``B3SA``, ``A1MD``) — then the one- or
two-digit share type (``3`` ON, ``4`` PN, ``11`` units, ``34`` BDRs), and sometimes one
letter (``F`` for the odd-lot market). Index codes are three to eight capitals and digits,
starting with a letter (``IBOV``, ``IBXX``, ``SMLL``, ``ICO2``, ``IGPTW``).

The patterns use only ``[A-Z0-9]`` classes and are written so that Python's ``re``,
Arrow's RE2 and Java's regex (Spark) read them alike; :data:`TICKER_FULL` and
:data:`INDEX_CODE_FULL` are the anchored forms for RE2 and Java (``\\z`` is the end of the
text in both, where ``$`` in Java would also accept a trailing newline).
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
#: The same, anchored at both ends, for RE2 (pyarrow.compute) and Java (Spark ``rlike``).
TICKER_FULL: Final = rf"^{TICKER}\z"
INDEX_CODE_FULL: Final = rf"^{INDEX_CODE}\z"
#: The longest value either pattern accepts (what a path segment may hold).
TICKER_MAX_LENGTH: Final = 7
INDEX_CODE_MAX_LENGTH: Final = 8

_TICKER = re.compile(TICKER)
_INDEX_CODE = re.compile(INDEX_CODE)


def is_ticker(value: object) -> bool:
    """True when ``value`` is a string shaped like a B3 trading code."""
    return isinstance(value, str) and _TICKER.fullmatch(value) is not None


def is_index_code(value: object) -> bool:
    """True when ``value`` is a string shaped like a B3 index code."""
    return isinstance(value, str) and _INDEX_CODE.fullmatch(value) is not None


def check_ticker(value: object, where: str) -> str:
    """``value`` if it is a ticker, else :class:`SchemaDrift` naming ``where`` and the value."""
    if not is_ticker(value):
        raise SchemaDrift(f"{where}: {_shown(value)} is not a B3 ticker ({_TICKER_RULE})")
    assert isinstance(value, str)
    return value


def check_row_ticker(value: object, where: str) -> str:
    """A row's ``cod`` as B3 sends it (at times padded with spaces), stripped, if it is a
    ticker; else :class:`SchemaDrift` (:func:`check_ticker`). Every B3 answer's rows (the
    day's portfolio, the theoretical one, the preview) are read by this one rule."""
    return check_ticker(value.strip() if isinstance(value, str) else value, where)


def check_index_data(value: object, where: str) -> str:
    """``value`` if it is an index code; in data (a path, a file) anything else is drift."""
    if not is_index_code(value):
        raise SchemaDrift(f"{where}: {_shown(value)} is not a B3 index code ({_INDEX_RULE})")
    assert isinstance(value, str)
    return value


def index_argument(value: str) -> str:
    """An index code given as an argument, upper-cased; :class:`BadArgument` if it is not one.

    Used wherever a person names an index (``--index``): refused at once, before any
    request or write, with the bad-arguments exit code.
    """
    code = value.strip().upper()
    if not is_index_code(code):
        raise BadArgument(f"index code {_shown(value)} is not {_INDEX_RULE}")
    return code


_TICKER_RULE = "4 capitals or digits starting with a letter, 1-2 digits, an optional letter"
_INDEX_RULE = "3-8 capitals or digits starting with a letter, e.g. IBOV"


def _shown(value: object, limit: int = 40) -> str:
    """``repr`` of ``value``, cut to ``limit`` characters (a hostile value may be huge)."""
    text = repr(value)
    return text if len(text) <= limit else f"{text[:limit]}… ({len(str(value))} chars)"

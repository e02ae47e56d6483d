"""The index codes B3 publishes through ``GetPortfolioDay``: one registry, with its sources.

The registry is the table ``data/indices.json``, one index a line, in the order ``all``
lists them, with where each code was confirmed in B3's own answers (``sources``: B3's
``GetStockIndex`` answer of 2025-04-07 recorded by ropensci/rb3 names all 34; "Carteira do
Dia" downloads and a ``GetPortfolioDay`` answer confirm some again).

Users type other spellings for some indices ("IBRX" for IBrX 100, "ISE" for ISE B3...):
:data:`ALIASES` maps them to B3's code, and :func:`resolve` says so in a message. This
module is the *semantic* check (is it an index B3 publishes?); whether a string is
shaped like a code at all is checked where it is read.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from importlib.resources import files
from typing import Final

from services.pipeline.errors import BadArgument

#: The word that selects every index of the registry.
ALL: Final = "all"


@dataclass(frozen=True)
class B3Index:
    """One index B3 publishes a daily portfolio of."""

    code: str
    #: B3's name for it.
    name: str
    #: Assets GetStockIndex listed for it on 2025-04-07 (the portfolio's size, roughly).
    members: int
    #: Keys of :data:`SOURCES` that confirm the code.
    confirmed: tuple[str, ...]
    #: What it holds, in Portuguese and in English (short).
    pt: str
    en: str


_TABLE = json.loads(
    (files("services.pipeline.b3") / "data" / "indices.json").read_text(encoding="utf-8")
)
#: Where the codes were confirmed, by the key an index's ``confirmed`` names.
SOURCES: Final[Mapping[str, str]] = _TABLE["sources"]
#: Every index, in the order ``all`` lists them.
REGISTRY: Final = tuple(
    B3Index(**{**row, "confirmed": tuple(row["confirmed"])}) for row in _TABLE["indices"]
)
#: The registry by code.
INDICES: Final[Mapping[str, B3Index]] = {index.code: index for index in REGISTRY}
#: What users type for an index, mapped to B3's code (compared without case, spaces, ``-``).
ALIASES: Final[Mapping[str, str]] = _TABLE["aliases"]

_SEPARATORS = re.compile(r"[\s\-_.]+")


class UnknownIndex(BadArgument):
    """A code that names no index B3 publishes through ``GetPortfolioDay``."""


@dataclass(frozen=True)
class Selection:
    """The B3 codes a setting or an option stands for, and what was resolved on the way."""

    codes: tuple[str, ...]
    #: One line per alias resolved or duplicate dropped, for the user to see.
    notes: tuple[str, ...] = ()


def canonical(code: str) -> tuple[str, str | None]:
    """B3's code for what a user typed, and a note if it was spelled otherwise.

    Raises :class:`UnknownIndex` (one line, with the closest codes) for anything else.
    """
    if not isinstance(code, str) or not code.strip():
        raise UnknownIndex(f"index code {code!r} is empty or not text")
    typed = code.strip()
    key = _SEPARATORS.sub("", typed).upper()
    if key in INDICES:
        found = key
    elif key in ALIASES:
        found = ALIASES[key]
    else:
        raise UnknownIndex(_unknown_message([typed]))
    if typed == found:
        return found, None
    return found, f"index {typed!r} is B3's {found} ({INDICES[found].name})"


def resolve(spec: str | Sequence[object]) -> Selection:
    """The codes of ``all``, of a list, or of a comma-separated string, in order, once each.

    Aliases and lower case are resolved (with a note); every unknown code is named in one
    :class:`UnknownIndex`; ``all`` stands alone.
    """
    items = _items(spec)
    if not items:
        raise UnknownIndex("no index given: name B3 index codes (e.g. IBOV) or 'all'")
    if any(isinstance(item, str) and item.strip().lower() == ALL for item in items):
        if len(items) > 1:
            raise UnknownIndex(f"'{ALL}' cannot be combined with other index codes: {items}")
        return Selection(tuple(INDICES))
    unknown = [item for item in items if not _is_known(item)]
    if unknown:
        raise UnknownIndex(_unknown_message(unknown))
    codes: list[str] = []
    notes: list[str] = []
    for item in items:
        assert isinstance(item, str)
        code, note = canonical(item)
        if note:
            notes.append(note)
        if code in codes:
            notes.append(f"index {item.strip()!r} is listed twice (as {code}): kept once")
        else:
            codes.append(code)
    return Selection(tuple(codes), tuple(notes))


def parse_setting(raw: str) -> Selection:
    """:func:`resolve` a setting's text: a JSON list (``["IBOV", "SMLL"]``), ``all``, or codes.

    This is how a ``Pulumi.<stack>.yaml`` list or word arrives through Pulumi's config.
    """
    text = raw.strip()
    if text.startswith("["):
        try:
            value = json.loads(text)
        except ValueError:
            raise UnknownIndex(f"indices {text!r} is not a JSON list of index codes") from None
        if not isinstance(value, list):
            raise UnknownIndex(f"indices {text!r} is not a list of index codes")
        return resolve(value)
    return resolve(text)


def _items(spec: str | Sequence[object]) -> list[object]:
    if isinstance(spec, str):
        return [part for part in re.split(r"[,\s]+", spec) if part]
    return list(spec)


def _is_known(item: object) -> bool:
    try:
        canonical(item)  # type: ignore[arg-type]
    except UnknownIndex:
        return False
    return True


def _unknown_message(unknown: Iterable[object]) -> str:
    names = [str(item).strip() if isinstance(item, str) else repr(item) for item in unknown]
    hints = []
    for name in names:
        close = difflib.get_close_matches(
            _SEPARATORS.sub("", name).upper(), [*INDICES, *ALIASES], n=1, cutoff=0.6
        )
        if close:
            hints.append(f"{name}: did you mean {ALIASES.get(close[0], close[0])}?")
    listed = ", ".join(repr(name) for name in names)
    plural = "s" if len(names) > 1 else ""
    return (
        f"unknown B3 index code{plural} {listed}: not among the {len(INDICES)} indices B3 "
        f"publishes through GetPortfolioDay (services/pipeline/b3/indices.py)"
        + (f"; {'; '.join(hints)}" if hints else "")
    )

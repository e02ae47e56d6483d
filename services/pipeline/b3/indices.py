"""The index codes B3 publishes through ``GetPortfolioDay``: one registry, with its sources.

The registry is ``data/indices.json`` (one index a line, in the order ``all`` lists them,
with where B3's own answers confirm each code) and the spellings users type for some
(``IBRX`` for IBXX...), resolved aloud by :func:`canonical`.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib.resources import files
from typing import Final

from services.pipeline.errors import BadArgument

#: The word that selects every index of the registry.
ALL: Final = "all"


@dataclass(frozen=True)
class B3Index:
    """``members``: the assets GetStockIndex listed on 2025-04-07; ``confirmed``: the
    :data:`SOURCES` that confirm the code."""

    code: str
    name: str
    members: int
    confirmed: list[str]
    pt: str
    en: str


_TABLE = json.loads(
    (files("services.pipeline.b3") / "data" / "indices.json").read_text(encoding="utf-8")
)
SOURCES: Final[Mapping[str, str]] = _TABLE["sources"]
#: Every index by code, in the order ``all`` lists them.
INDICES: Final[Mapping[str, B3Index]] = {row["code"]: B3Index(**row) for row in _TABLE["indices"]}
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


def _key(typed: object) -> str:
    return _SEPARATORS.sub("", typed).upper() if isinstance(typed, str) else ""


def canonical(code: str) -> tuple[str, str | None]:
    """B3's code for what a user typed, and a note if it was spelled otherwise."""
    found = ALIASES.get(_key(code), _key(code))
    if found not in INDICES:
        raise UnknownIndex(_unknown_message([code]))
    typed = code.strip()
    return (
        found,
        None if typed == found else f"index {typed!r} is B3's {found} ({INDICES[found].name})",
    )


def resolve(spec: str | Sequence[object]) -> Selection:
    """The codes of ``all``, of a list, or of a comma-separated string, in order, once
    each; every unknown code is named in one :class:`UnknownIndex`."""
    items = [p for p in re.split(r"[,\s]+", spec) if p] if isinstance(spec, str) else list(spec)
    if not items:
        raise UnknownIndex("no index given: name B3 index codes (e.g. IBOV) or 'all'")
    if ALL.upper() in map(_key, items):
        if len(items) > 1:
            raise UnknownIndex(f"'{ALL}' cannot be combined with other index codes: {items}")
        return Selection(tuple(INDICES))
    unknown = [item for item in items if ALIASES.get(_key(item), _key(item)) not in INDICES]
    if unknown:
        raise UnknownIndex(_unknown_message(unknown))
    codes: list[str] = []
    notes: list[str] = []
    for item in items:
        code, note = canonical(str(item))
        notes += [note] if note else []
        if code in codes:
            notes.append(f"index {str(item).strip()!r} is listed twice (as {code}): kept once")
        else:
            codes.append(code)
    return Selection(tuple(codes), tuple(notes))


def parse_setting(raw: str) -> Selection:
    """:func:`resolve` a setting's text: a JSON list (``["IBOV", "SMLL"]``), ``all``, or codes
    (how a ``Pulumi.<stack>.yaml`` list or word arrives through Pulumi's config)."""
    text = raw.strip()
    try:
        return resolve(json.loads(text) if text.startswith("[") else text)
    except json.JSONDecodeError:
        raise UnknownIndex(f"indices {text!r} is not a JSON list of index codes") from None


def _unknown_message(unknown: Sequence[object]) -> str:
    names = [str(item).strip() if isinstance(item, str) else repr(item) for item in unknown]
    hints = []
    for name in names:
        close = difflib.get_close_matches(_key(name), [*INDICES, *ALIASES], n=1, cutoff=0.6)
        hints += [f"{name}: did you mean {ALIASES.get(close[0], close[0])}?"] if close else []
    listed = ", ".join(repr(name) for name in names)
    return (
        f"unknown B3 index code{'s' if len(names) > 1 else ''} {listed}: not among the "
        f"{len(INDICES)} indices B3 publishes through GetPortfolioDay "
        f"(services/pipeline/b3/indices.py)" + (f"; {'; '.join(hints)}" if hints else "")
    )

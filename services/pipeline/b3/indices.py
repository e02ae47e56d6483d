"""The index codes B3 publishes through ``GetPortfolioDay``: one registry, with its sources.

Every code here was confirmed in B3's own answers, recorded in public repositories:

* ``stock-index``: B3's ``indexProxy/indexCall/GetStockIndex`` answer of 2025-04-07 (which
  index portfolios each listed asset belongs to), recorded by ropensci/rb3 in
  ``tests/fixtures/GetStockIndex.yml`` at commit f8b17399214d1d6e2ecef4cf0ebe1bea3da19baf.
  The 34 codes below are exactly the codes that answer names; :attr:`B3Index.members` is
  how many assets it lists for each (the size of the portfolio that day, near enough).
  The same endpoint recorded on 2022-12-08 (rb3, commit 76c13e79) named 26 of them: the
  Ibovespa family (IBBR, IBEE, IBEP, IBEW, IBHB, IBLV, IBSD) and IDVR came later.
* ``day-csv``: B3's own "Carteira do Dia" download of the index (``GetDownloadPortfolioDay``,
  the same numbers as ``GetPortfolioDay``): IBOV (2025-07-10), IBRA (2021-06-22) and IBXX
  (2024-11-12) in ``services/tool/recordings/b3``;
  AGFS, BDRX, IBEE, IBEP, IBHB, IBLV, IBSD, ICON, IDIV,
  IEEX, IFIL, IFIX, IFNC, IMAT, IMOB, INDX, IVBX, MLCX, SMLL and UTIL of 2024-10-22 in
  rianlucascs/b3-scraping-project (``extracted_data/1. Índices de Segmentos e Setoriais/``,
  commit ab3f9428e7e545570fd377b331a7eadf8d3b3692).
* ``portfolio-day``: a recorded ``GetPortfolioDay`` JSON answer (IBOV, ropensci/rb3).

Names follow B3's index pages (b3.com.br, "Índices"). The descriptions are ours, short.

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
from typing import Final

from services.pipeline.errors import BadArgument

#: The word that selects every index of the registry.
ALL: Final = "all"

#: Where the codes were confirmed (see the module docstring).
SOURCES: Final[Mapping[str, str]] = {
    "stock-index": (
        "B3 GetStockIndex answer of 2025-04-07, ropensci/rb3 tests/fixtures/GetStockIndex.yml "
        "@ f8b17399214d1d6e2ecef4cf0ebe1bea3da19baf"
    ),
    "day-csv": "B3 'Carteira do Dia' CSV download (GetDownloadPortfolioDay) of the index",
    "portfolio-day": "a recorded GetPortfolioDay JSON answer (ropensci/rb3)",
}


@dataclass(frozen=True)
class B3Index:
    """One index B3 publishes a daily portfolio of."""

    code: str
    #: B3's name for it.
    name: str
    #: What it holds, in Portuguese and in English (short).
    pt: str
    en: str
    #: Assets GetStockIndex listed for it on 2025-04-07 (the portfolio's size, roughly).
    members: int
    #: Keys of :data:`SOURCES` that confirm the code.
    confirmed: tuple[str, ...]


_S = ("stock-index",)
_SC = ("stock-index", "day-csv")

#: Every index, in the order ``all`` lists them: broad market, Ibovespa family, size and
#: style, real estate and BDRs, sectors, sustainability and governance.
REGISTRY: Final[tuple[B3Index, ...]] = (
    B3Index("IBOV", "Índice Bovespa (Ibovespa B3)",
            "principal indicador: as ações mais negociadas",
            "the main benchmark: the most traded shares", 87,
            (*_SC, "portfolio-day")),
    B3Index("IBXX", "Índice Brasil 100 (IBrX 100 B3)", "os 100 ativos mais negociados",
            "the 100 most traded assets", 101, _SC),
    B3Index("IBXL", "Índice Brasil 50 (IBrX 50 B3)", "os 50 ativos mais negociados",
            "the 50 most traded assets", 50, _S),
    B3Index("IBRA", "Índice Brasil Amplo (IBrA B3)",
            "todos os ativos com liquidez e presença mínimas",
            "every asset with minimum liquidity and presence", 175, _SC),
    B3Index("IBBR", "Índice Bovespa B3 BR+ (Ibovespa B3 BR+)",
            "Ibovespa com BDRs de empresas brasileiras listadas nos EUA",
            "Ibovespa plus BDRs of Brazilian companies listed in the US", 92, _S),
    B3Index("IBEW", "Índice Bovespa B3 Equal Weight (Ibovespa B3 Equal Weight)",
            "ativos do Ibovespa com pesos iguais a cada rebalanceamento",
            "Ibovespa's assets, equally weighted at each rebalance", 87, _S),
    B3Index("IBEP", "Índice Bovespa B3 Empresas Privadas", "o Ibovespa sem as estatais",
            "Ibovespa without the state-controlled companies", 81, _SC),
    B3Index("IBEE", "Índice Bovespa B3 Estatais", "as estatais do Ibovespa",
            "Ibovespa's state-controlled companies", 6, _SC),
    B3Index("IBHB", "Índice Bovespa Smart High Beta B3", "ativos do Ibovespa de maior beta",
            "Ibovespa's highest-beta assets", 28, _SC),
    B3Index("IBLV", "Índice Bovespa Smart Low Volatility B3",
            "ativos do Ibovespa de menor volatilidade",
            "Ibovespa's lowest-volatility assets", 28, _SC),
    B3Index("IBSD", "Índice Bovespa Smart Dividendos B3",
            "ativos do Ibovespa que mais pagam dividendos",
            "Ibovespa's highest dividend payers", 21, _SC),
    B3Index("SMLL", "Índice Small Cap (SMLL B3)", "empresas de menor capitalização",
            "smaller companies by market value", 120, _SC),
    B3Index("MLCX", "Índice MidLarge Cap (MLCX B3)", "empresas de maior capitalização",
            "larger companies by market value", 56, _SC),
    B3Index("IDIV", "Índice Dividendos (IDIV B3)",
            "ativos que mais remuneram em dividendos e JCP",
            "assets paying the most dividends and interest on equity", 51, _SC),
    B3Index("IDVR", "Índice de Diversidade (IDIVERSA B3)",
            "empresas com diversidade de gênero e raça",
            "companies with gender and race diversity", 84, _S),
    B3Index("IVBX", "Índice Valor (IVBX 2 B3)",
            "empresas bem avaliadas, sem as duas maiores do IBrX",
            "well-valued companies, without IBrX's two largest", 51, _SC),
    B3Index("IFIX", "Índice de Fundos de Investimentos Imobiliários (IFIX B3)",
            "fundos imobiliários negociados na B3", "real-estate funds traded at B3", 117, _SC),
    B3Index("IFIL", "Índice de Fundos Imobiliários de Alta Liquidez (IFIX L B3)",
            "os fundos imobiliários mais líquidos", "the most liquid real-estate funds", 70,
            _SC),
    B3Index("BDRX", "Índice de BDRs Não Patrocinados-GLOBAL (BDRX B3)",
            "BDRs não patrocinados de empresas estrangeiras",
            "unsponsored BDRs of foreign companies", 152, _SC),
    B3Index("AGFS", "Índice Agronegócio B3 (IAGRO B3)", "cadeia do agronegócio",
            "the agribusiness chain", 33, _SC),
    B3Index("ICON", "Índice de Consumo (ICON B3)",
            "consumo cíclico, não cíclico e saúde",
            "cyclical and non-cyclical consumption, health", 70, _SC),
    B3Index("IEEX", "Índice de Energia Elétrica (IEE B3)", "setor de energia elétrica",
            "the electricity sector", 15, _SC),
    B3Index("IFNC", "Índice Financeiro (IFNC B3)",
            "intermediários financeiros, serviços financeiros, previdência e seguros",
            "banks, financial services, pensions and insurance", 16, _SC),
    B3Index("IMAT", "Índice de Materiais Básicos (IMAT B3)", "setor de materiais básicos",
            "basic materials", 16, _SC),
    B3Index("IMOB", "Índice Imobiliário (IMOB B3)",
            "exploração de imóveis e construção civil",
            "real-estate operators and builders", 18, _SC),
    B3Index("INDX", "Índice do Setor Industrial (INDX B3)", "setores da atividade industrial",
            "industrial sectors", 47, _SC),
    B3Index("UTIL", "Índice Utilidade Pública (UTIL B3)",
            "energia elétrica, água e saneamento, gás",
            "electricity, water and sanitation, gas", 21, _SC),
    B3Index("ICO2", "Índice Carbono Eficiente (ICO2 B3)",
            "empresas do IBrX 100 que medem e divulgam emissões",
            "IBrX 100 companies that measure and disclose emissions", 64, _S),
    B3Index("ISEE", "Índice de Sustentabilidade Empresarial (ISE B3)",
            "empresas com as melhores práticas de sustentabilidade",
            "companies with the best sustainability practices", 76, _S),
    B3Index("GPTW", "Índice GPTW B3 (IGPTW B3)",
            "empresas certificadas como ótimos lugares para trabalhar",
            "companies certified as great places to work", 53, _S),
    B3Index("IGCX", "Índice de Ações com Governança Corporativa Diferenciada (IGC B3)",
            "empresas dos segmentos de governança da B3",
            "companies in B3's governance listing segments", 240, _S),
    B3Index("IGCT", "Índice de Governança Corporativa Trade (IGCT B3)",
            "os mais líquidos do IGC", "the most liquid of IGC", 165, _S),
    B3Index("IGNM", "Índice de Governança Corporativa - Novo Mercado (IGC-NM B3)",
            "empresas do Novo Mercado", "Novo Mercado companies", 175, _S),
    B3Index("ITAG", "Índice de Ações com Tag Along Diferenciado (ITAG B3)",
            "ações com tag along diferenciado", "shares with enhanced tag-along rights",
            232, _S),
)  # fmt: skip

#: The registry by code.
INDICES: Final[Mapping[str, B3Index]] = {index.code: index for index in REGISTRY}

#: What users type for an index, mapped to B3's code (compared without case, spaces, ``-``).
ALIASES: Final[Mapping[str, str]] = {
    "IBOVESPA": "IBOV",
    "IBRX": "IBXX",
    "IBRX100": "IBXX",
    "IBRX50": "IBXL",
    "ISE": "ISEE",
    "ISEB3": "ISEE",
    "IEE": "IEEX",
    "IAGRO": "AGFS",
    "IGPTW": "GPTW",
    "IGC": "IGCX",
    "IGCNM": "IGNM",
    "IFIXL": "IFIL",
    "IVBX2": "IVBX",
    "IDIVERSA": "IDVR",
}

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

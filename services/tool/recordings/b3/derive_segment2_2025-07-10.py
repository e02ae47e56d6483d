"""Build GetPortfolioDay_IBOV_segment2_2025-07-10_derived.json (a new, named case).

The scraper asks B3 for segment 2 ("by sector"), which carries every asset's sector. No
segment-2 body was recorded for 2025-07-10, the demo day, so this script derives one:

* every row, the header and the page envelope come unchanged from the recorded segment-1
  body of that day (GetPortfolioDay_IBOV_segment1_2025-07-10_derived-from-csv.json);
* the sector (``segment``) of each ticker is copied from the real segment-2 recording of
  2022-12-08, with the accents that the recorder lost (U+FFFD) put back;
* the 16 tickers that were not in the index on 2022-12-08 get their sector by hand, from
  B3's sector classification (see HAND_ASSIGNED) -- this is the only invented part;
* rows are ordered by sector then ticker and ``partAcum`` is the sector subtotal, as B3
  does for segment 2; ``header.partAcum`` is "100,000".

Run from the repository root: ``python services/tool/recordings/b3/derive_segment2_2025-07-10.py``.
"""

import json
from decimal import Decimal
from pathlib import Path

HERE = Path(__file__).parent
SEGMENT1 = HERE / "GetPortfolioDay_IBOV_segment1_2025-07-10_derived-from-csv.json"
SECTORS_2022 = HERE / "GetPortfolioDay_IBOV_segment2_2022-12-08.json"
OUT = HERE / "GetPortfolioDay_IBOV_segment2_2025-07-10_derived.json"

RESTORED_ACCENTS = {
    "Bens Indls / M\ufffdqs e Equips": "Bens Indls / Máqs e Equips",
    "Cons N  B\ufffdsico / Alimentos Processados": "Cons N  Básico / Alimentos Processados",
    "Cons N Ciclico/Agropecu\ufffdria": "Cons N Ciclico/Agropecuária",
    "Cons N C\ufffdclico / Bebidas": "Cons N Cíclico / Bebidas",
    "Cons N C\ufffdclico / Com\ufffdrcio Distr.": "Cons N Cíclico / Comércio Distr.",
    "Cons N C\ufffdclico / Pr Pessoal Limp": "Cons N Cíclico / Pr Pessoal Limp",
    "Consumo C\ufffdclico / Com\ufffdrcio": "Consumo Cíclico / Comércio",
    "Consumo C\ufffdclico / Tecid Vest Cal\ufffd": "Consumo Cíclico / Tecid Vest Calç",
    "Consumo C\ufffdclico/Constr Civil": "Consumo Cíclico/Constr Civil",
    "Consumo C\ufffdclico/Viagens e Lazer": "Consumo Cíclico/Viagens e Lazer",
    "Financ e Outros / Explor Im\ufffdveis": "Financ e Outros / Explor Imóveis",
    "Financeiro e Outros/Servi\ufffdos Financeiros Diversos": (
        "Financeiro e Outros/Serviços Financeiros Diversos"
    ),
    "Mats B\ufffdsicos / Madeira e Papel": "Mats Básicos / Madeira e Papel",
    "Mats B\ufffdsicos / Minera\ufffd\ufffdo": "Mats Básicos / Mineração",
    "Mats B\ufffdsicos / Qu\ufffdmicos": "Mats Básicos / Químicos",
    "Mats B\ufffdsicos / Sid Metalurgia": "Mats Básicos / Sid Metalurgia",
    "Petr\ufffdleo, G\ufffds e Biocombust\ufffdveis": "Petróleo, Gás e Biocombustíveis",
    "Sa\ufffdde/Com\ufffdrcio Distr.": "Saúde/Comércio Distr.",
    "Sa\ufffdde/SM Hosp An.Diag": "Saúde/SM Hosp An.Diag",
    "Tec.Informa\ufffd\ufffdo/Programas Servs": "Tec.Informação/Programas Servs",
    "Telecomunica\ufffd\ufffdo": "Telecomunicação",
    "Utilidade P\ufffdbl / Energ El\ufffdtrica": "Utilidade Públ / Energ Elétrica",
    "Utilidade P\ufffdbl / \ufffdgua Saneamento": "Utilidade Públ / Água Saneamento",
}

HAND_ASSIGNED = {
    "ALOS3": "Financ e Outros / Explor Imóveis",
    "AURE3": "Utilidade Públ / Energ Elétrica",
    "AZZA3": "Consumo Cíclico / Tecid Vest Calç",
    "BRAV3": "Petróleo, Gás e Biocombustíveis",
    "CXSE3": "Financ e Outros / Previd  Seguros",
    "DIRR3": "Consumo Cíclico/Constr Civil",
    "ISAE4": "Utilidade Públ / Energ Elétrica",
    "MOTV3": "Bens Indls/Transporte",
    "NATU3": "Cons N Cíclico / Pr Pessoal Limp",
    "POMO4": "Bens Indls / Mat Transporte",
    "PSSA3": "Financ e Outros / Previd  Seguros",
    "RECV3": "Petróleo, Gás e Biocombustíveis",
    "SMFT3": "Consumo Cíclico/Viagens e Lazer",
    "STBP3": "Bens Indls/Transporte",
    "VAMO3": "Bens Indls / Máqs e Equips",
    "VIVA3": "Consumo Cíclico / Tecid Vest Calç",
}


def pt_br(value: Decimal) -> str:
    """Format a 3-decimal weight the way B3 does ("2,089")."""
    return f"{value:.3f}".replace(".", ",")


def main() -> None:
    body = json.loads(SEGMENT1.read_text(encoding="utf-8"))
    recorded = json.loads(SECTORS_2022.read_text(encoding="utf-8"))
    sector_of = {
        row["cod"]: RESTORED_ACCENTS.get(row["segment"], row["segment"])
        for row in recorded["results"]
    }
    sector_of.update(HAND_ASSIGNED)
    rows = [dict(row, segment=sector_of[row["cod"]]) for row in body["results"]]
    rows.sort(key=lambda row: (row["segment"], row["cod"]))
    subtotal: dict[str, Decimal] = {}
    for row in rows:
        weight = Decimal(row["part"].replace(",", "."))
        subtotal[row["segment"]] = subtotal.get(row["segment"], Decimal(0)) + weight
    for row in rows:
        row["partAcum"] = pt_br(subtotal[row["segment"]])
    body["header"]["partAcum"] = "100,000"
    body["results"] = rows
    OUT.write_text(json.dumps(body, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {OUT.name}: {len(rows)} rows, {len(subtotal)} sectors")


if __name__ == "__main__":
    main()

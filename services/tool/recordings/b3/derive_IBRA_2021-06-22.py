"""Build the two IBRA GetPortfolioDay bodies of 2021-06-22 (new, named cases) from B3's CSV.

IBRA (Índice Brasil Amplo) had 179 assets that day: more than one page at the scraper's
pageSize of 120, so B3 serves it in two pages. No GetPortfolioDay JSON of IBRA was found
recorded; B3's CSV download of the same portfolio was (IBRADia_22-06-21.csv), and it
carries the same pt-BR strings as the JSON endpoint. This script derives:

* ``GetPortfolioDay_IBRA_segment1_2021-06-22_derived-from-csv.json``: segment 1 ("by
  code"). Every row value, the date and the totals are the CSV's own strings, in the CSV's
  order; ``segment`` and ``partAcum`` are null, as B3 sends them in segment 1. The envelope
  says one page of 179 (the answer to ``pageSize`` 9999); the replay server
  (services/tool/local/replay.py) pages it to the ``pageSize`` a client asks for, as B3 does.
* ``GetPortfolioDay_IBRA_segment2_2021-06-22_derived.json``: segment 2 ("by sector"), the
  one the scraper asks for. The same rows with each asset's sector (``segment``), ordered
  by sector then ticker, and ``partAcum`` the sector's subtotal, as B3 does for segment 2.

The CSV has no sectors. They come, in B3's own segment-2 spelling, from the real IBOV
segment-2 recording of 2022-12-08 (85 of the 179 tickers, accents restored as in
derive_segment2_2025-07-10.py) and from that script's hand assignments (5 more). The other
89 were assigned by hand here (HAND_ASSIGNED), following B3's sector classification as far
as we know it, in the recording's spelling where the subsector appears there and spelled
out where it does not ("Consumo Cíclico / Hotéis e Restaurantes", "Bens Industriais /
Serviços", "Bens Industriais / Construção e Engenharia"). They are ours, not B3's: rows,
quantities, weights and totals are B3's; the sectors of those 89 are not.

Run from the repository root: ``python services/tool/recordings/b3/derive_IBRA_2021-06-22.py``.
"""

import json
import runpy
from decimal import Decimal
from pathlib import Path

HERE = Path(__file__).parent
CSV = HERE / "IBRADia_22-06-21.csv"
SECTORS_2022 = HERE / "GetPortfolioDay_IBOV_segment2_2022-12-08.json"
IBOV_SCRIPT = HERE / "derive_segment2_2025-07-10.py"
SEGMENT1 = HERE / "GetPortfolioDay_IBRA_segment1_2021-06-22_derived-from-csv.json"
SEGMENT2 = HERE / "GetPortfolioDay_IBRA_segment2_2021-06-22_derived.json"

SERVICES = "Bens Industriais / Serviços"
RESTAURANTS = "Consumo Cíclico / Hotéis e Restaurantes"
BUILDING = "Bens Industriais / Construção e Engenharia"
HAND_ASSIGNED = {
    "AALR3": "Saúde/SM Hosp An.Diag",
    "ABCB4": "Financ e Outros / Interms Financs",
    "AERI3": "Bens Indls / Máqs e Equips",
    "AESB3": "Utilidade Públ / Energ Elétrica",
    "AGRO3": "Cons N Ciclico/Agropecuária",
    "ALSO3": "Financ e Outros / Explor Imóveis",
    "ALUP11": "Utilidade Públ / Energ Elétrica",
    "AMAR3": "Consumo Cíclico / Comércio",
    "AMBP3": "Utilidade Públ / Água Saneamento",
    "ANIM3": "Diversos",
    "BIDI11": "Financ e Outros / Interms Financs",
    "BIDI4": "Financ e Outros / Interms Financs",
    "BKBR3": RESTAURANTS,
    "BMGB4": "Financ e Outros / Interms Financs",
    "BRDT3": "Petróleo, Gás e Biocombustíveis",
    "BRPR3": "Financ e Outros / Explor Imóveis",
    "BRSR6": "Financ e Outros / Interms Financs",
    "BTOW3": "Consumo Cíclico / Comércio",
    "CAML3": "Cons N  Básico / Alimentos Processados",
    "CEAB3": "Consumo Cíclico / Comércio",
    "CESP6": "Utilidade Públ / Energ Elétrica",
    "CMIG3": "Utilidade Públ / Energ Elétrica",
    "CPLE3": "Utilidade Públ / Energ Elétrica",
    "CSMG3": "Utilidade Públ / Água Saneamento",
    "CURY3": "Consumo Cíclico/Constr Civil",
    "DTEX3": "Mats Básicos / Madeira e Papel",
    "ENAT3": "Petróleo, Gás e Biocombustíveis",
    "ENJU3": "Consumo Cíclico / Comércio",
    "EVEN3": "Consumo Cíclico/Constr Civil",
    "FESA4": "Mats Básicos / Sid Metalurgia",
    "GFSA3": "Consumo Cíclico/Constr Civil",
    "GMAT3": "Cons N Cíclico / Comércio Distr.",
    "GNDI3": "Saúde/SM Hosp An.Diag",
    "GRND3": "Consumo Cíclico / Tecid Vest Calç",
    "GUAR3": "Consumo Cíclico / Comércio",
    "HBOR3": "Consumo Cíclico/Constr Civil",
    "HBSA3": "Bens Indls/Transporte",
    "HGTX3": "Consumo Cíclico / Tecid Vest Calç",
    "IGTA3": "Financ e Outros / Explor Imóveis",
    "ITUB3": "Financ e Outros / Interms Financs",
    "JHSF3": "Consumo Cíclico/Constr Civil",
    "JPSA3": "Financ e Outros / Explor Imóveis",
    "LAME3": "Consumo Cíclico / Comércio",
    "LAME4": "Consumo Cíclico / Comércio",
    "LAVV3": "Consumo Cíclico/Constr Civil",
    "LCAM3": "Diversos",
    "LEVE3": "Bens Indls / Mat Transporte",
    "LIGT3": "Utilidade Públ / Energ Elétrica",
    "LINX3": "Tec.Informação/Programas Servs",
    "LJQQ3": "Consumo Cíclico / Comércio",
    "LOGG3": "Financ e Outros / Explor Imóveis",
    "LOGN3": "Bens Indls/Transporte",
    "LPSB3": "Financ e Outros / Explor Imóveis",
    "MDIA3": "Cons N  Básico / Alimentos Processados",
    "MEAL3": RESTAURANTS,
    "MILS3": SERVICES,
    "MOVI3": "Diversos",
    "MTRE3": "Consumo Cíclico/Constr Civil",
    "MYPK3": "Bens Indls / Mat Transporte",
    "NEOE3": "Utilidade Públ / Energ Elétrica",
    "NGRD3": "Tec.Informação/Programas Servs",
    "ODPV3": "Saúde/SM Hosp An.Diag",
    "OMGE3": "Utilidade Públ / Energ Elétrica",
    "PARD3": "Saúde/SM Hosp An.Diag",
    "PNVL3": "Saúde/Comércio Distr.",
    "PTBL3": BUILDING,
    "RANI3": "Mats Básicos / Madeira e Papel",
    "RAPT4": "Bens Indls / Mat Transporte",
    "RCSL4": "Bens Indls / Mat Transporte",
    "ROMI3": "Bens Indls / Máqs e Equips",
    "SAPR11": "Utilidade Públ / Água Saneamento",
    "SAPR4": "Utilidade Públ / Água Saneamento",
    "SBFG3": "Consumo Cíclico / Comércio",
    "SEER3": "Diversos",
    "SEQL3": "Bens Indls/Transporte",
    "SIMH3": "Bens Indls/Transporte",
    "SQIA3": "Tec.Informação/Programas Servs",
    "TASA4": "Bens Indls / Máqs e Equips",
    "TCSA3": "Consumo Cíclico/Constr Civil",
    "TEND3": "Consumo Cíclico/Constr Civil",
    "TGMA3": "Bens Indls/Transporte",
    "TRIS3": "Consumo Cíclico/Constr Civil",
    "TRPL4": "Utilidade Públ / Energ Elétrica",
    "TUPY3": "Bens Indls / Mat Transporte",
    "UNIP6": "Mats Básicos / Químicos",
    "VLID3": SERVICES,
    "VULC3": "Consumo Cíclico / Tecid Vest Calç",
    "VVAR3": "Consumo Cíclico / Comércio",
    "WIZS3": "Financ e Outros / Previd  Seguros",
}


def read_csv(csv: Path = CSV, code: str = "IBRA") -> dict[str, object]:
    """B3's CSV of index ``code`` as a segment-1 body: B3's strings, B3's envelope."""
    lines = csv.read_bytes().decode("latin-1").splitlines()
    title, _columns, *rows, total, reductor = lines
    index, _, day = title.rpartition(" ")
    assert index == f"{code} - Carteira do Dia", title
    total_text, _, _, total_qty, total_part = total.split(";")
    reductor_text, _, _, reductor_value = reductor.split(";")
    results = []
    for row in rows:
        cod, asset, kind, qty, part, trailing = row.split(";")
        assert trailing == "", row
        results.append({"segment": None, "cod": cod, "asset": asset, "type": kind,
                        "part": part, "partAcum": None, "theoricalQty": qty})  # fmt: skip
    return {
        "page": {"pageNumber": 1, "pageSize": 9999, "totalRecords": len(results), "totalPages": 1},
        "header": {
            "date": day,
            "text": total_text,
            "part": total_part,
            "partAcum": None,
            "textReductor": reductor_text,
            "reductor": reductor_value,
            "theoricalQty": total_qty,
        },
        "results": results,
    }


def pt_br(value: Decimal) -> str:
    """Format a 3-decimal weight the way B3 does ("2,089")."""
    return f"{value:.3f}".replace(".", ",")


def sectors() -> dict[str, str]:
    ibov = runpy.run_path(str(IBOV_SCRIPT), run_name="derive_segment2_2025_07_10")
    restored = ibov["RESTORED_ACCENTS"]
    recorded = json.loads(SECTORS_2022.read_text(encoding="utf-8"))["results"]
    sector_of = {row["cod"]: restored.get(row["segment"], row["segment"]) for row in recorded}
    overlap = (set(sector_of) | set(ibov["HAND_ASSIGNED"])) & set(HAND_ASSIGNED)
    assert not overlap, f"assigned twice: {overlap}"
    return {**sector_of, **ibov["HAND_ASSIGNED"], **HAND_ASSIGNED}


def derive(
    body: dict[str, object], sector_of: dict[str, str], segment1: Path, segment2: Path
) -> tuple[int, int]:
    """Write ``body`` as segment 1 and, with each row's sector, as segment 2 (ordered by
    sector then ticker, ``partAcum`` the sector's subtotal); return (rows, sectors)."""
    segment1.write_text(json.dumps(body, ensure_ascii=False) + "\n", encoding="utf-8")
    results: list[dict[str, object]] = body["results"]  # type: ignore[assignment]
    missing = [row["cod"] for row in results if row["cod"] not in sector_of]
    assert not missing, f"no sector for {missing}"
    rows = [dict(row, segment=sector_of[str(row["cod"])]) for row in results]
    rows.sort(key=lambda row: (str(row["segment"]), str(row["cod"])))
    subtotal: dict[str, Decimal] = {}
    for row in rows:
        weight = Decimal(str(row["part"]).replace(",", "."))
        subtotal[str(row["segment"])] = subtotal.get(str(row["segment"]), Decimal(0)) + weight
    for row in rows:
        row["partAcum"] = pt_br(subtotal[str(row["segment"])])
    by_sector = {**body, "header": {**body["header"], "partAcum": "100,000"}, "results": rows}  # type: ignore[dict-item]
    segment2.write_text(json.dumps(by_sector, ensure_ascii=False) + "\n", encoding="utf-8")
    return len(rows), len(subtotal)


def main() -> None:
    rows, sector_count = derive(read_csv(), sectors(), SEGMENT1, SEGMENT2)
    print(f"wrote {SEGMENT1.name} and {SEGMENT2.name}: {rows} rows, "
          f"{sector_count} sectors, {len(HAND_ASSIGNED)} assigned by hand here")  # fmt: skip


if __name__ == "__main__":
    main()

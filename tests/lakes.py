"""Test-only changes to real portfolios (the generators themselves live in services.tool.local)."""

from __future__ import annotations

import dataclasses
import hashlib
import io
from collections.abc import Iterable
from datetime import date
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from glue.lakeio import Pin, RawPartition
from services.pipeline.b3.portfolio import Portfolio
from services.pipeline.lake.layout import RawDay
from services.pipeline.lake.storage import Lake
from services.tool.local.samples import on_day, recorded_portfolio, write_days

__all__ = ["on_day", "recorded_portfolio", "write_days"]  # re-exported


def files_in(lake: Path) -> list[str]:
    return sorted(p.relative_to(lake).as_posix() for p in lake.rglob("*") if p.is_file())


def refined_rows(lake: Lake, prefix: str) -> dict[str, dict[str, Any]]:
    """Every refined row under ``prefix``, by ticker, each from its partition's one file."""
    rows: dict[str, dict[str, Any]] = {}
    for key in lake.list(prefix):
        ticker = key.split("ticker=")[1].split("/")[0]
        assert key.endswith(f"ticker={ticker}/part-00000.snappy.parquet"), key
        assert ticker not in rows, f"two files for {ticker}"
        (rows[ticker],) = pq.read_table(io.BytesIO(lake.read_bytes(key))).to_pylist()
    return rows


def pinned(lake: Lake, days: Iterable[date], index: str = "IBOV") -> tuple[RawPartition, ...]:
    """The raw objects of ``days`` pinned to their bytes now, as if Validate had passed them."""
    digests = {day: hashlib.sha256(lake.read_bytes(RawDay(index, day).key)) for day in days}
    return tuple(RawPartition(index, day, Pin(h.hexdigest())) for day, h in digests.items())


def without(portfolio: Portfolio, ticker: str) -> Portfolio:
    """The portfolio with ``ticker`` gone, as B3 would publish it: its weight goes to a
    ticker of its sector (weights still sum to 100), the quantity total drops by its own."""
    gone = next(asset for asset in portfolio.assets if asset.cod == ticker)
    header = dataclasses.replace(
        portfolio.header, theoretical_qty=portfolio.header.theoretical_qty - gone.theoretical_qty
    )
    kept = [asset for asset in portfolio.assets if asset.cod != ticker]
    heir = next((a for a in kept if a.segment == gone.segment), kept[0])
    assets = tuple(
        dataclasses.replace(a, part=a.part + gone.part) if a is heir else a for a in kept
    )
    return dataclasses.replace(
        portfolio, header=header, assets=assets, total_records=portfolio.total_records - 1
    )


def quantity_off(table: pa.Table, by: int = 1_000) -> pa.Table:
    """A raw table whose first row's quantity is ``by`` off: ``QuantityTotalMismatch``."""
    qty = table["theoricalQty"].to_pylist()
    qty[0] += by
    column = table.schema.get_field_index("theoricalQty")
    return table.set_column(column, table.schema.field(column), pa.array(qty, pa.int64()))

"""The raw layer: B3's portfolio of one index and day, untouched, as one Parquet object.

Layout (hive style, deterministic names, so re-scraping a day replaces it; built and parsed
by :mod:`services.pipeline.lake.layout` only)::

    raw/index=IBOV/dt=2025-07-10/portfolio.parquet
    raw/index=IBOV/dt=2025-07-10/_b3-response-page-001.json   (the body as received)

Columns keep B3's own field names and exact types (weights ``decimal(7,3)``, quantities
``int64``, the reductor ``decimal(24,8)``), plus the header totals and lineage. ``index``
and ``dt`` live in the path only (Spark and Athena refuse a column that is both).
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

import pyarrow as pa
import pyarrow.parquet as pq

from services.pipeline import settings
from services.pipeline.b3.numbers import (
    REDUCTOR_PRECISION,
    REDUCTOR_SCALE,
    WEIGHT_PRECISION,
    WEIGHT_SCALE,
)
from services.pipeline.b3.portfolio import Portfolio
from services.pipeline.lake.layout import partition, raw_key, response_key
from services.pipeline.lake.storage import NO_VERSION, Lake

__all__ = [
    "RAW_SCHEMA",
    "RawObject",
    "partition",
    "raw_key",
    "read_raw",
    "response_key",
    "to_parquet_bytes",
    "to_table",
    "write_raw",
]

WEIGHT = pa.decimal128(WEIGHT_PRECISION, WEIGHT_SCALE)
REDUCTOR = pa.decimal128(REDUCTOR_PRECISION, REDUCTOR_SCALE)

#: The raw Parquet schema: B3's fields first, then the header totals, then lineage.
RAW_SCHEMA = pa.schema(
    [
        pa.field("segment", pa.string(), metadata={"b3": "sector / subsector (segment 2)"}),
        pa.field("cod", pa.string(), nullable=False, metadata={"b3": "ticker"}),
        pa.field("asset", pa.string(), nullable=False, metadata={"b3": "company"}),
        pa.field("type", pa.string(), nullable=False, metadata={"b3": "share type, as sent"}),
        pa.field("type_normalized", pa.string(), nullable=False),
        pa.field("part", WEIGHT, nullable=False, metadata={"b3": "weight in the index, %"}),
        pa.field("partAcum", WEIGHT, metadata={"b3": "sector subtotal of part, %"}),
        pa.field("theoricalQty", pa.int64(), nullable=False),
        pa.field("header_date", pa.string(), nullable=False, metadata={"b3": "dd/mm/yy"}),
        pa.field("header_part", WEIGHT, nullable=False),
        pa.field("header_theoricalQty", pa.int64(), nullable=False),
        pa.field("header_reductor", REDUCTOR, nullable=False),
        pa.field("page_totalRecords", pa.int64(), nullable=False),
        pa.field("source_url", pa.string(), nullable=False),
        pa.field("body_sha256", pa.string(), nullable=False),
        pa.field("fetched_at", pa.timestamp("us", tz="UTC"), nullable=False),
    ]
)


@dataclass(frozen=True)
class RawObject:
    """Where a day's raw portfolio went."""

    index: str
    dt: date
    key: str
    uri: str
    rows: int
    response_uris: tuple[str, ...]
    #: The store's answer to the Parquet object's write: its version id (else
    #: :data:`~services.pipeline.lake.storage.NO_VERSION`) and ETag (``None`` for a local lake).
    version: str = NO_VERSION
    etag: str | None = None


def to_table(portfolio: Portfolio) -> pa.Table:
    """The portfolio as an Arrow table with :data:`RAW_SCHEMA`."""
    header = portfolio.header
    source_of = {source.number: source for source in portfolio.sources}
    rows = [
        {
            "segment": asset.segment,
            "cod": asset.cod,
            "asset": asset.asset,
            "type": asset.type_raw,
            "type_normalized": asset.type_normalized,
            "part": asset.part,
            "partAcum": asset.part_acum,
            "theoricalQty": asset.theoretical_qty,
            "header_date": header.date_raw,
            "header_part": header.part,
            "header_theoricalQty": header.theoretical_qty,
            "header_reductor": header.reductor,
            "page_totalRecords": portfolio.total_records,
            "source_url": source_of[asset.page_number].url,
            "body_sha256": source_of[asset.page_number].sha256,
            "fetched_at": portfolio.fetched_at,
        }
        for asset in portfolio.assets
    ]
    table = pa.Table.from_pylist(rows, schema=RAW_SCHEMA)
    return table.replace_schema_metadata(
        {"bovespa.index": portfolio.index, "bovespa.dt": portfolio.trading_date.isoformat()}
    )


def to_parquet_bytes(table: pa.Table) -> bytes:
    """Serialise ``table`` as one Parquet file (snappy), deterministically."""
    buffer = io.BytesIO()
    pq.write_table(table, buffer, compression="snappy")
    return buffer.getvalue()


def write_raw(lake: Lake, portfolio: Portfolio, *, writer: str) -> RawObject:
    """Write the day's raw partition: archived bodies first, the Parquet object last.

    The Parquet object is the one the S3-event rule reacts to, so it lands only once its
    bodies are archived. If any write fails, what this call wrote is deleted again.
    Bodies archived by an earlier scrape of the same day that this one no longer has
    (fewer pages) are removed, so the partition always describes one scrape.
    """
    index, dt = portfolio.index, portfolio.trading_date
    metadata = {settings.WRITER_METADATA_KEY: writer}
    data = to_parquet_bytes(to_table(portfolio))
    stale = set(_archived(lake, index, dt))
    written: list[str] = []
    try:
        response_uris = []
        for source in portfolio.sources:
            key = response_key(index, dt, source.number)
            response_uris.append(lake.write_bytes(key, source.body, metadata=metadata))
            written.append(key)
            stale.discard(key)
        key = raw_key(index, dt)
        parquet = lake.write_pinned(key, data, metadata=metadata)
    except BaseException:
        for key in written:
            lake.delete(key)
        raise
    for key in stale:
        lake.delete(key)
    return RawObject(
        index,
        dt,
        key,
        parquet.uri,
        len(portfolio.assets),
        tuple(response_uris),
        parquet.version,
        parquet.etag,
    )


def read_raw(lake: Lake, index: str, dt: date) -> pa.Table:
    """Read the day's raw Parquet object back (for validation and tests)."""
    return pq.read_table(io.BytesIO(lake.read_bytes(raw_key(index, dt))))


def _archived(lake: Lake, index: str, dt: date) -> Iterable[str]:
    marker = f"/{settings.RAW_RESPONSE_PREFIX}-"
    return (key for key in lake.list(partition(index, dt) + "/") if marker in key)

"""The raw layer: B3's portfolio of one index and day, untouched, as one Parquet object.

Layout (hive style, deterministic names, so re-scraping a day replaces it; built and parsed
by :mod:`services.pipeline.lake.layout` only)::

    raw/index=IBOV/dt=2025-07-10/portfolio.parquet
    raw/index=IBOV/dt=2025-07-10/_b3-response-page-001.json   (the body as received)

Columns keep B3's own field names and exact types (weights ``decimal(7,3)``, quantities
``int64``, the reductor ``decimal(24,8)``), plus the header totals and lineage. ``index``
and ``dt`` live in the path only (Spark and Athena refuse a column that is both).

Every raw dataset, the day's and the datasets ahead (:mod:`services.pipeline.lake.ahead`), is
made into a table by :func:`table_of` and written by :func:`write_partition`.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime

import pyarrow as pa
import pyarrow.parquet as pq

from services.pipeline import settings
from services.pipeline.b3.numbers import (
    REDUCTOR_PRECISION,
    REDUCTOR_SCALE,
    WEIGHT_PRECISION,
    WEIGHT_SCALE,
)
from services.pipeline.b3.portfolio import Asset, PageSource, Portfolio, Totals
from services.pipeline.lake.layout import partition, raw_key, response_key
from services.pipeline.lake.storage import Lake

__all__ = [
    "RAW_SCHEMA",
    "Written",
    "partition",
    "raw_key",
    "read_raw",
    "response_key",
    "table_of",
    "to_parquet_bytes",
    "to_table",
    "write_partition",
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
class Written:
    """What a scrape left in a raw partition (the day's or a dataset ahead's)."""

    index: str
    dt: date
    #: The data object's key (or the "no preview now" marker's) and URI.
    key: str
    uri: str
    rows: int
    #: The URIs of the B3 bodies archived beside it, in order.
    archived: tuple[str, ...]
    #: The store's answer to the write (no read back): its version id (else
    #: :data:`~services.pipeline.lake.storage.NO_VERSION`) and ETag (``None`` for a local
    #: lake); with the SHA-256 of the bytes, the pin of exactly the object written.
    version: str
    etag: str | None
    sha256: str
    #: ``True`` when "no preview now" found a preview already stored and kept it.
    kept: bool = False


def table_of(
    schema: pa.Schema,
    header: Totals,
    total_records: int,
    assets: Sequence[Asset],
    sources: Sequence[PageSource],
    fetched_at: datetime,
    metadata: Mapping[str, str],
    **constants: str,
) -> pa.Table:
    """The rows as an Arrow table with ``schema`` (a column it lacks is left out), the
    ``constants`` on every row."""
    source_of = {source.number: source for source in sources}
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
            "cont": asset.cont,
            "header_part": header.part,
            "header_theoricalQty": header.theoretical_qty,
            "header_reductor": header.reductor,
            "page_totalRecords": total_records,
            "source_url": source_of[asset.page_number].url,
            "body_sha256": source_of[asset.page_number].sha256,
            "fetched_at": fetched_at,
            **constants,
        }
        for asset in assets
    ]
    return pa.Table.from_pylist(rows, schema=schema).replace_schema_metadata(dict(metadata))


def to_table(portfolio: Portfolio) -> pa.Table:
    """The portfolio as an Arrow table with :data:`RAW_SCHEMA`."""
    metadata = {"bovespa.index": portfolio.index, "bovespa.dt": portfolio.trading_date.isoformat()}
    return table_of(
        RAW_SCHEMA, portfolio.header, portfolio.total_records, portfolio.assets,
        portfolio.sources, portfolio.fetched_at, metadata, header_date=portfolio.header.date_raw,
    )  # fmt: skip


def to_parquet_bytes(table: pa.Table) -> bytes:
    """Serialise ``table`` as one Parquet file (snappy), deterministically."""
    buffer = io.BytesIO()
    pq.write_table(table, buffer, compression="snappy")
    return buffer.getvalue()


def write_raw(lake: Lake, portfolio: Portfolio, *, writer: str) -> Written:
    """Write the day's raw partition (:func:`write_partition`)."""
    index, dt = portfolio.index, portfolio.trading_date
    archives = [(response_key(index, dt, page.number), page.body) for page in portfolio.sources]
    data = to_parquet_bytes(to_table(portfolio))
    rows = len(portfolio.assets)
    return write_partition(
        lake, index, dt, archives, raw_key(index, dt), data, rows=rows, writer=writer
    )


def write_partition(
    lake: Lake,
    index: str,
    dt: date,
    archives: Sequence[tuple[str, bytes]],
    key: str,
    data: bytes,
    *,
    rows: int,
    writer: str,
) -> Written:
    """Write a raw partition: the archived bodies first, ``key`` (in the partition) last.

    The Parquet object is the one the S3-event rule reacts to (for the day's), so it lands
    only once its bodies are archived. If any write fails, what this call wrote is
    deleted again. Then what an earlier scrape of the partition left and this one did not
    write (bodies of pages it no longer has, a "no preview now" marker) is removed, so the
    partition always describes one scrape. ``writer`` is recorded as object metadata.
    """
    metadata = {settings.WRITER_METADATA_KEY: writer}
    stale = {old for old in lake.list(key.rsplit("/", 1)[0] + "/") if _scraped(old)}
    written: list[str] = []
    try:
        uris = []
        for archive, body in archives:
            uris.append(lake.write_bytes(archive, body, metadata=metadata))
            written.append(archive)
        stored = lake.write_pinned(key, data, metadata=metadata)
    except BaseException:
        for archive in written:
            lake.delete(archive)
        raise
    for old in stale - {*written, key}:
        lake.delete(old)
    sha256 = hashlib.sha256(data).hexdigest()
    return Written(
        index, dt, key, stored.uri, rows, tuple(uris), stored.version, stored.etag, sha256
    )


def read_raw(lake: Lake, index: str, dt: date) -> pa.Table:
    """Read the day's raw Parquet object back (for validation and tests)."""
    return pq.read_table(io.BytesIO(lake.read_bytes(raw_key(index, dt))))


def _scraped(key: str) -> bool:
    """Whether ``key`` is a file a scrape writes beside the data: an archived body or the
    "no preview now" marker (anything else someone dropped there is left alone)."""
    name = key.rsplit("/", 1)[-1]
    return name.startswith(f"{settings.RAW_RESPONSE_PREFIX}-") or name == settings.NO_PREVIEW_MARKER

"""The raw layer: what B3 answered for one index and session, untouched, as one Parquet object.

``raw/index=IBOV/dt=2025-07-10/portfolio.parquet`` (a dataset ahead under its own prefix:
:mod:`services.pipeline.lake.datasets`) beside the bodies as received
(``_b3-response-page-001.json``); deterministic names, so re-scraping a day replaces it.
Columns keep B3's field names and exact types, plus the header totals and lineage;
``index`` and ``dt`` live in the path only (Spark and Athena refuse a column that is both).
"No preview now" writes ``_no-preview.json`` instead (the lake then tells "checked, none"
from "never checked"); it never replaces a preview already stored for that session.
"""

from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import pyarrow as pa
import pyarrow.parquet as pq

from services.pipeline import settings
from services.pipeline.b3.download import PROVENANCE
from services.pipeline.b3.numbers import (
    REDUCTOR_PRECISION,
    REDUCTOR_SCALE,
    WEIGHT_PRECISION,
    WEIGHT_SCALE,
)
from services.pipeline.b3.portfolio import PageSource, Portfolio
from services.pipeline.b3.preview import UNVERIFIED, NoPreview
from services.pipeline.lake import datasets
from services.pipeline.lake.datasets import DAILY, PREVIEW, THEORETICAL, Dataset
from services.pipeline.lake.layout import archived_key, partition, raw_key
from services.pipeline.lake.storage import Lake

__all__ = ["RAW_SCHEMA", "Written", "partition", "raw_key", "to_parquet_bytes", "to_table"]

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


def _ahead_schema(dataset: Dataset, meaning: str) -> pa.Schema:
    """The day's columns where B3's fields coincide, no sector, B3's ``cont`` (null where
    B3 does not send it: a preview, a CSV download) and the cycle."""
    day = RAW_SCHEMA.field
    return pa.schema(
        [
            *map(day, ("cod", "asset", "type", "type_normalized", "part", "theoricalQty")),
            pa.field("cont", pa.int64(), metadata={"b3": "rank by company"}),
            *map(day, ("header_part", "header_theoricalQty", "header_reductor")),
            day("page_totalRecords"),
            pa.field(dataset.period, pa.string(), nullable=False, metadata={"bovespa": meaning}),
            *map(day, ("source_url", "body_sha256", "fetched_at")),
        ]
    )


SCHEMAS = {
    DAILY: RAW_SCHEMA,
    THEORETICAL: _ahead_schema(THEORETICAL, "the cycle containing the session, YYYY-MM"),
    PREVIEW: _ahead_schema(PREVIEW, "the cycle the preview is for, YYYY-MM"),
}


@dataclass(frozen=True)
class Written:
    """What a scrape left in a raw partition."""

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


def to_table(portfolio: Portfolio) -> pa.Table:
    """The portfolio as an Arrow table with its dataset's schema in :data:`SCHEMAS`."""
    header, dataset, cycle = portfolio.header, portfolio.dataset, portfolio.cycle
    metadata = {"bovespa.index": portfolio.index, "bovespa.dt": header.trading_date.isoformat()}
    if cycle is not None:
        metadata |= {"bovespa.dataset": dataset.name, "bovespa.cycle": cycle.label}
        metadata |= {"bovespa.contract": UNVERIFIED} if dataset is PREVIEW else {}
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
            "cont": asset.cont,
            "header_date": header.date_raw,
            "header_part": header.part,
            "header_theoricalQty": header.theoretical_qty,
            "header_reductor": header.reductor,
            "page_totalRecords": portfolio.total_records,
            dataset.period: cycle.label if cycle else None,
            "source_url": source_of[asset.page_number].url,
            "body_sha256": source_of[asset.page_number].sha256,
            "fetched_at": portfolio.fetched_at,
        }
        for asset in portfolio.assets
    ]
    return pa.Table.from_pylist(rows, schema=SCHEMAS[dataset]).replace_schema_metadata(metadata)


def to_parquet_bytes(table: pa.Table) -> bytes:
    """Serialise ``table`` as one Parquet file (snappy), deterministically."""
    buffer = io.BytesIO()
    pq.write_table(table, buffer, compression="snappy")
    return buffer.getvalue()


def write_raw(lake: Lake, outcome: Portfolio | NoPreview, *, writer: str) -> Written:
    """Write a dataset's partition, or record "no preview now" (keeping a stored preview)."""
    index, dt = outcome.index, outcome.trading_date
    dataset = outcome.dataset if isinstance(outcome, Portfolio) else PREVIEW
    where = datasets.partition(dataset, index, dt)
    answers = [(archived_key(where, f"{name}.json"), a.body) for name, a in outcome.answers.items()]
    if isinstance(outcome, Portfolio):
        pages = [(archived_key(where, _archived_name(s)), s.body) for s in outcome.sources]
        key, data = datasets.object_key(dataset, index, dt), to_parquet_bytes(to_table(outcome))
        return _write(lake, outcome, pages + answers, key, data, len(outcome.assets), writer)
    stored = datasets.object_key(PREVIEW, index, dt)
    if stored in lake.list(stored):
        kept = lake.read_object(stored)
        rows = pq.ParquetFile(io.BytesIO(kept.data)).metadata.num_rows
        sha256, uri = hashlib.sha256(kept.data).hexdigest(), lake.uri_of(stored)
        return Written(index, dt, stored, uri, rows, (), kept.version, kept.etag, sha256, kept=True)
    key, marker = datasets.no_preview_key(index, dt), _no_preview_marker(outcome)
    return _write(lake, outcome, answers, key, marker, 0, writer)


def _write(
    lake: Lake, outcome: Portfolio | NoPreview, archives: Sequence[tuple[str, bytes]],
    key: str, data: bytes, rows: int, writer: str,
) -> Written:  # fmt: skip
    """The archived bodies first, ``key`` last (the S3-event rule reacts to it), deleting
    this call's writes if one fails; then what an earlier scrape left and this one did not
    write is removed, so the partition describes one scrape."""
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
    return Written(
        outcome.index, outcome.trading_date, key, lake.uri_of(key), rows, tuple(uris),
        stored.version, stored.etag, hashlib.sha256(data).hexdigest(),
    )  # fmt: skip


def _archived_name(source: PageSource) -> str:
    """A page as B3's API sent it, or a CSV download as the file was."""
    return "download.csv" if source.url.startswith(PROVENANCE) else f"page-{source.number:03d}.json"


def _scraped(key: str) -> bool:
    """An archived body or the "no preview now" marker (anything else dropped is left)."""
    name = key.rsplit("/", 1)[-1]
    return name.startswith(f"{settings.RAW_RESPONSE_PREFIX}-") or name == settings.NO_PREVIEW_MARKER


def _no_preview_marker(outcome: NoPreview) -> bytes:
    """The marker's JSON: which session, why no preview, and the answers that said so."""
    configuration, session = outcome.answers["configuration"], outcome.answers["session"]
    record = {
        "dataset": PREVIEW.name,
        "status": "no-preview",
        "index": outcome.index,
        "dt": outcome.trading_date.isoformat(),
        "reason": outcome.reason,
        "configuration_url": configuration.url,
        "configuration_sha256": configuration.sha256,
        "session_url": session.url,
        "fetched_at": outcome.fetched_at.isoformat(),
        "contract": UNVERIFIED,
    }
    return (json.dumps(record, ensure_ascii=False, indent=1) + "\n").encode("utf-8")

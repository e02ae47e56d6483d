"""Raw writers of the four-month datasets: the theoretical portfolio and the preview.

Each is one Parquet object per index and session (layout: :mod:`services.pipeline.lake.datasets`)
with B3's field names and exact types, as the day's raw object has (weights
``decimal(7,3)``, quantities ``int64``, the reductor ``decimal(24,8)``), plus the cycle:

* theoretical: ``cycle`` -- the cycle containing the session (``2025-01`` = Jan.-Apr. 2025);
* preview: ``target_cycle`` -- the cycle the previewed portfolio is for (the next one).

A write archives B3's bodies first (the dataset's pages, the ``GetPortfolioDay`` body that
stated the session, for the preview the ``GetConfigurations`` body) and the Parquet object
last; a failed write deletes what it wrote; a successful one removes whatever an earlier
scrape of the same partition left, so a partition always describes one scrape.

"No preview now" writes a small JSON marker (``_no-preview.json``, with the reason and the
archived ``GetConfigurations`` body) instead of a preview: the lake then tells "checked,
B3 had none" from "never checked", per index and session, which the summary of one run
cannot. The leading ``_`` hides it from Spark, Athena and pyarrow datasets. It never
replaces a preview already stored for that session.
"""

from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime

import pyarrow as pa
import pyarrow.parquet as pq

from services.pipeline import settings
from services.pipeline.b3.cycles import Cycle
from services.pipeline.b3.portfolio import PageSource
from services.pipeline.b3.preview import UNVERIFIED, NoPreview, Preview
from services.pipeline.b3.theoretical import QuarterBody, TheoreticalPortfolio
from services.pipeline.lake import datasets
from services.pipeline.lake.datasets import PREVIEW, THEORETICAL, Dataset
from services.pipeline.lake.raw import REDUCTOR, WEIGHT, to_parquet_bytes
from services.pipeline.lake.storage import Lake, StoredObject


def _schema(period: str, meaning: str, *, cont_nullable: bool) -> pa.Schema:
    return pa.schema(
        [
            pa.field("cod", pa.string(), nullable=False, metadata={"b3": "ticker"}),
            pa.field("asset", pa.string(), nullable=False, metadata={"b3": "company"}),
            pa.field("type", pa.string(), nullable=False, metadata={"b3": "share type, as sent"}),
            pa.field("type_normalized", pa.string(), nullable=False),
            pa.field("part", WEIGHT, nullable=False, metadata={"b3": "weight in the index, %"}),
            pa.field("theoricalQty", pa.int64(), nullable=False),
            pa.field(
                "cont", pa.int64(), nullable=cont_nullable, metadata={"b3": "rank by company"}
            ),
            pa.field("header_part", WEIGHT, nullable=False),
            pa.field("header_theoricalQty", pa.int64(), nullable=False),
            pa.field("header_reductor", REDUCTOR, nullable=False),
            pa.field("page_totalRecords", pa.int64(), nullable=False),
            pa.field(period, pa.string(), nullable=False, metadata={"bovespa": meaning}),
            pa.field("source_url", pa.string(), nullable=False),
            pa.field("body_sha256", pa.string(), nullable=False),
            pa.field("fetched_at", pa.timestamp("us", tz="UTC"), nullable=False),
        ]
    )


#: The theoretical portfolio's raw schema.
THEORETICAL_SCHEMA = _schema(
    "cycle", "the cycle containing the session, YYYY-MM of its first month", cont_nullable=False
)
#: The preview's raw schema (``cont`` is null if B3 does not send it).
PREVIEW_SCHEMA = _schema(
    "target_cycle", "the cycle the preview is for, YYYY-MM of its first month", cont_nullable=True
)


@dataclass(frozen=True)
class Written:
    """What a write left in the lake for one index and session."""

    dataset: str
    index: str
    dt: date
    key: str
    uri: str
    rows: int
    archived: tuple[str, ...]
    #: ``True`` when "no preview now" found a preview already stored and kept it.
    kept: bool = False
    #: The pin of the dataset's Parquet object (what the Glue job refines): the SHA-256 of
    #: its bytes and the store's version id (``"null"`` where it keeps none); ``None``
    #: for "no preview now", which wrote no data.
    object_sha256: str | None = None
    version: str | None = None


def to_table(
    body: QuarterBody,
    sources: Sequence[PageSource],
    fetched_at: datetime,
    *,
    schema: pa.Schema,
    period: str,
    cycle: Cycle,
    metadata: Mapping[str, str],
) -> pa.Table:
    """The rows of ``body`` as an Arrow table with ``schema``; ``period`` names its cycle column."""
    source_of = {source.number: source for source in sources}
    rows = [
        {
            "cod": row.cod,
            "asset": row.asset,
            "type": row.type_raw,
            "type_normalized": row.type_normalized,
            "part": row.part,
            "theoricalQty": row.theoretical_qty,
            "cont": row.cont,
            "header_part": body.header.part,
            "header_theoricalQty": body.header.theoretical_qty,
            "header_reductor": body.header.reductor,
            "page_totalRecords": body.total_records,
            period: cycle.label,
            "source_url": source_of[row.page_number].url,
            "body_sha256": source_of[row.page_number].sha256,
            "fetched_at": fetched_at,
        }
        for row in body.rows
    ]
    return pa.Table.from_pylist(rows, schema=schema).replace_schema_metadata(dict(metadata))


def theoretical_table(portfolio: TheoreticalPortfolio) -> pa.Table:
    """The theoretical portfolio as an Arrow table with :data:`THEORETICAL_SCHEMA`."""
    return to_table(
        portfolio.body,
        portfolio.sources,
        portfolio.fetched_at,
        schema=THEORETICAL_SCHEMA,
        period="cycle",
        cycle=portfolio.cycle,
        metadata=_metadata(THEORETICAL, portfolio.index, portfolio.session, portfolio.cycle),
    )


def preview_table(preview: Preview) -> pa.Table:
    """The preview as an Arrow table with :data:`PREVIEW_SCHEMA`."""
    return to_table(
        preview.body,
        preview.sources,
        preview.fetched_at,
        schema=PREVIEW_SCHEMA,
        period="target_cycle",
        cycle=preview.target_cycle,
        metadata={
            **_metadata(PREVIEW, preview.index, preview.session, preview.target_cycle),
            "bovespa.contract": UNVERIFIED,
        },
    )


def write_theoretical(lake: Lake, portfolio: TheoreticalPortfolio, *, writer: str) -> Written:
    """Write the theoretical portfolio's partition for its index and session."""
    index, dt = portfolio.index, portfolio.session
    archives = _pages(THEORETICAL, index, dt, portfolio.sources)
    archives.append((datasets.session_key(THEORETICAL, index, dt), portfolio.session_source.body))
    key = datasets.object_key(THEORETICAL, index, dt)
    data = to_parquet_bytes(theoretical_table(portfolio))
    uri, archived, pin = _publish(lake, THEORETICAL, index, dt, archives, key, data, writer)
    rows = len(portfolio.body.rows)
    return Written(THEORETICAL.name, index, dt, key, uri, rows, archived, False, *pin)


def write_preview(lake: Lake, outcome: Preview | NoPreview, *, writer: str) -> Written:
    """Write a current preview, or record "no preview now" (keeping a stored preview)."""
    index, dt = outcome.index, outcome.session
    archives = [
        (datasets.configuration_key(index, dt), outcome.configuration_source.body),
        (datasets.session_key(PREVIEW, index, dt), outcome.session_source.body),
    ]
    if isinstance(outcome, NoPreview):
        stored = datasets.object_key(PREVIEW, index, dt)
        if stored in lake.list(stored):
            kept = lake.read_object(stored)
            rows = pq.ParquetFile(io.BytesIO(kept.data)).metadata.num_rows
            return Written(
                PREVIEW.name, index, dt, stored, lake.uri_of(stored), rows, (), True, *_pin(kept)
            )
        key = datasets.no_preview_key(index, dt)
        uri, archived, _ = _publish(
            lake, PREVIEW, index, dt, archives, key, no_preview_marker(outcome), writer
        )
        return Written(PREVIEW.name, index, dt, key, uri, 0, archived)
    archives = _pages(PREVIEW, index, dt, outcome.sources) + archives
    key = datasets.object_key(PREVIEW, index, dt)
    data = to_parquet_bytes(preview_table(outcome))
    uri, archived, pin = _publish(lake, PREVIEW, index, dt, archives, key, data, writer)
    rows = len(outcome.body.rows)
    return Written(PREVIEW.name, index, dt, key, uri, rows, archived, False, *pin)


def no_preview_marker(outcome: NoPreview) -> bytes:
    """The marker's JSON: which session, why no preview, and the answers that said so."""
    record = {
        "dataset": PREVIEW.name,
        "status": "no-preview",
        "index": outcome.index,
        "dt": outcome.session.isoformat(),
        "reason": outcome.reason,
        "configuration_url": outcome.configuration_source.url,
        "configuration_sha256": outcome.configuration_source.sha256,
        "session_url": outcome.session_source.url,
        "fetched_at": outcome.fetched_at.isoformat(),
        "contract": UNVERIFIED,
    }
    return (json.dumps(record, ensure_ascii=False, indent=1) + "\n").encode("utf-8")


def read_dataset(lake: Lake, dataset: Dataset, index: str, dt: date) -> pa.Table:
    """Read a dataset's Parquet object back (for the later steps and tests)."""
    return pq.read_table(io.BytesIO(lake.read_bytes(datasets.object_key(dataset, index, dt))))


def _metadata(dataset: Dataset, index: str, dt: date, cycle: Cycle) -> dict[str, str]:
    return {
        "bovespa.dataset": dataset.name,
        "bovespa.index": index,
        "bovespa.dt": dt.isoformat(),
        "bovespa.cycle": cycle.label,
    }


def _pages(
    dataset: Dataset, index: str, dt: date, sources: Sequence[PageSource]
) -> list[tuple[str, bytes]]:
    return [
        (datasets.response_key(dataset, index, dt, source.number), source.body)
        for source in sources
    ]


def _publish(
    lake: Lake,
    dataset: Dataset,
    index: str,
    dt: date,
    archives: Sequence[tuple[str, bytes]],
    key: str,
    data: bytes,
    writer: str,
) -> tuple[str, tuple[str, ...], tuple[str, str]]:
    """Archives first, ``key`` last; undo on failure; then drop what an older scrape left.

    Returns ``key``'s URI, the archives' and the pin of ``data`` as stored: its SHA-256
    and the version id the store's answer to the write gave it.
    """
    metadata = {settings.WRITER_METADATA_KEY: writer}
    stale = set(lake.list(datasets.partition(dataset, index, dt) + "/"))
    written: list[str] = []
    try:
        uris = []
        for archive, body in archives:
            uris.append(lake.write_bytes(archive, body, metadata=metadata))
            written.append(archive)
        uri, version = lake.write_versioned(key, data, metadata=metadata)
    except BaseException:
        for archive in written:
            lake.delete(archive)
        raise
    for old in stale - {*written, key}:
        lake.delete(old)
    return uri, tuple(uris), (hashlib.sha256(data).hexdigest(), version)


def _pin(stored: StoredObject) -> tuple[str, str]:
    return hashlib.sha256(stored.data).hexdigest(), stored.version

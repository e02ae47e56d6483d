"""The raw objects of the datasets ahead: the theoretical portfolio and the preview.

Each is one Parquet object per index and session (layout:
:mod:`services.pipeline.lake.datasets`) with the day's raw columns and types where B3's
fields coincide (:data:`~services.pipeline.lake.raw.RAW_SCHEMA`), no sector, B3's ``cont``
and the cycle (:attr:`Dataset.period <services.pipeline.lake.datasets.Dataset.period>`):

* theoretical: ``cycle`` -- the cycle containing the session (``2025-01`` = Jan.-Apr. 2025);
* preview: ``target_cycle`` -- the cycle the previewed portfolio is for (the next one).

It is written as the day's is (:func:`services.pipeline.lake.raw.write_partition`): B3's bodies
first (the dataset's pages, then the answers it was decided by), the Parquet object last.

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

import pyarrow as pa
import pyarrow.parquet as pq

from services.pipeline.b3.preview import UNVERIFIED, NoPreview
from services.pipeline.b3.theoretical import Ahead
from services.pipeline.lake import datasets
from services.pipeline.lake.datasets import PREVIEW, THEORETICAL, Dataset
from services.pipeline.lake.layout import archived_key, page_key
from services.pipeline.lake.raw import (
    RAW_SCHEMA,
    Written,
    table_of,
    to_parquet_bytes,
    write_partition,
)
from services.pipeline.lake.storage import Lake


def _schema(dataset: Dataset, meaning: str) -> pa.Schema:
    day = RAW_SCHEMA.field
    return pa.schema(
        [
            *map(day, ("cod", "asset", "type", "type_normalized", "part", "theoricalQty")),
            pa.field(
                "cont", pa.int64(), nullable=dataset is PREVIEW, metadata={"b3": "rank by company"}
            ),
            *map(day, ("header_part", "header_theoricalQty", "header_reductor")),
            day("page_totalRecords"),
            pa.field(dataset.period, pa.string(), nullable=False, metadata={"bovespa": meaning}),
            *map(day, ("source_url", "body_sha256", "fetched_at")),
        ]
    )


#: Each dataset's raw schema (a preview's ``cont`` is null if B3 does not send it).
SCHEMAS = {
    THEORETICAL: _schema(
        THEORETICAL, "the cycle containing the session, YYYY-MM of its first month"
    ),
    PREVIEW: _schema(PREVIEW, "the cycle the preview is for, YYYY-MM of its first month"),
}


def to_table(ahead: Ahead) -> pa.Table:
    """The dataset as an Arrow table with its schema in :data:`SCHEMAS`."""
    dataset = ahead.dataset
    metadata = {
        "bovespa.dataset": dataset.name,
        "bovespa.index": ahead.index,
        "bovespa.dt": ahead.session.isoformat(),
        "bovespa.cycle": ahead.cycle.label,
        **({"bovespa.contract": UNVERIFIED} if dataset is PREVIEW else {}),
    }
    return table_of(
        SCHEMAS[dataset], ahead.header, ahead.total_records, ahead.assets, ahead.sources,
        ahead.fetched_at, metadata, **{dataset.period: ahead.cycle.label},
    )  # fmt: skip


def write_ahead(lake: Lake, outcome: Ahead | NoPreview, *, writer: str) -> Written:
    """Write a dataset's partition, or record "no preview now" (keeping a stored preview)."""
    index, dt = outcome.index, outcome.session
    dataset = outcome.dataset if isinstance(outcome, Ahead) else PREVIEW
    partition = datasets.partition(dataset, index, dt)
    answers = outcome.answers.items()
    archives = [(archived_key(partition, name), answer.body) for name, answer in answers]
    if isinstance(outcome, Ahead):
        pages = [(page_key(partition, page.number), page.body) for page in outcome.sources]
        key, data = datasets.object_key(dataset, index, dt), to_parquet_bytes(to_table(outcome))
        rows = len(outcome.assets)
        return write_partition(
            lake, index, dt, pages + archives, key, data, rows=rows, writer=writer
        )
    stored = datasets.object_key(PREVIEW, index, dt)
    if stored in lake.list(stored):
        kept = lake.read_object(stored)
        rows = pq.ParquetFile(io.BytesIO(kept.data)).metadata.num_rows
        sha256 = hashlib.sha256(kept.data).hexdigest()
        uri = lake.uri_of(stored)
        return Written(index, dt, stored, uri, rows, (), kept.version, kept.etag, sha256, kept=True)
    key = datasets.no_preview_key(index, dt)
    return write_partition(
        lake, index, dt, archives, key, no_preview_marker(outcome), rows=0, writer=writer
    )


def no_preview_marker(outcome: NoPreview) -> bytes:
    """The marker's JSON: which session, why no preview, and the answers that said so."""
    configuration, session = outcome.answers["configuration"], outcome.answers["session"]
    record = {
        "dataset": PREVIEW.name,
        "status": "no-preview",
        "index": outcome.index,
        "dt": outcome.session.isoformat(),
        "reason": outcome.reason,
        "configuration_url": configuration.url,
        "configuration_sha256": configuration.sha256,
        "session_url": session.url,
        "fetched_at": outcome.fetched_at.isoformat(),
        "contract": UNVERIFIED,
    }
    return (json.dumps(record, ensure_ascii=False, indent=1) + "\n").encode("utf-8")

"""One place for the pipeline's names, paths and defaults (the CLI, the Lambda handlers,
the local deployment and the Pulumi program all read these)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Final

DEFAULT_INDEX: Final = "IBOV"
#: B3's public index endpoint; the scraper appends ``/GetPortfolioDay/<base64 JSON>``.
B3_BASE_URL: Final = "https://sistemaswebb3-listados.b3.com.br/indexProxy/indexCall"
B3_BASE_URL_ENV: Final = "B3_BASE_URL"
#: Environment variable: attempts per B3 page before the scraper gives up.
B3_ATTEMPTS_ENV: Final = "B3_ATTEMPTS"
#: B3's page size; IBOV has under 100 assets, so one page is the normal case.
B3_PAGE_SIZE: Final = 120
#: Segment 2 ("by sector") carries every field of segment 1 plus each asset's sector.
B3_SEGMENT: Final = "2"

#: Bounds of one scrape (:class:`services.pipeline.b3.client.Limits`): a 120-row page is
#: about 20 kB and the largest index (IBRA) two pages, so each bound is far above what B3
#: sends and far below what would hurt the scraper.
B3_MAX_PAGES: Final = 100
#: Bytes of one response body as received (compressed, if B3 compresses it)…
B3_MAX_WIRE_BYTES: Final = 2 * 1024 * 1024
#: …and once decoded: a gzip bomb is stopped here, never inflated whole.
B3_MAX_BODY_BYTES: Final = 8 * 1024 * 1024
#: One deadline for a whole scrape from the command line (every page, retry and wait), in
#: seconds; in the Lambda it is the invocation's remaining time, less a margin.
B3_SCRAPE_DEADLINE_SECONDS: Final = 240.0
#: Rows a raw object may hold before Validate refuses it without reading its columns.
MAX_RAW_ROWS: Final = 100_000
#: Objects one execution may name (``bovespa backfill``): their pins stay far below 256 KB.
MAX_OBJECTS: Final = 250

#: Lake layout: ``<lake>/raw/index=IBOV/dt=2025-07-10/portfolio.parquet``.
RAW_PREFIX: Final = "raw"
#: Where a file is dropped to be refined: the only prefix whose writes start an execution.
INBOX_PREFIX: Final = "inbox"
REFINED_PREFIX: Final = "refined"
RAW_OBJECT_NAME: Final = "portfolio.parquet"
#: Archived B3 bodies sit beside the Parquet; the leading underscore hides them from
#: Spark, Athena and pyarrow datasets.
RAW_RESPONSE_PREFIX: Final = "_b3-response"
#: The four-month datasets sit BESIDE ``raw/``: :mod:`services.pipeline.lake.datasets`.
#: Written instead of the preview when B3 has no current one ("no preview now").
NO_PREVIEW_MARKER: Final = "_no-preview.json"

#: Run-scoped scratch space of the Glue job in the lake (``staging/<run>/``): the raw bytes it
#: refines and Spark's output, before they are published; deleted when the run ends.
STAGING_PREFIX: Final = "staging"

#: Environment variable that names the lake (a directory or ``s3://bucket/prefix``).
LAKE_URI_ENV: Final = "LAKE_URI"
STATE_MACHINE_ARN_ENV: Final = "STATE_MACHINE_ARN"
#: S3 user metadata: which part of the pipeline wrote an object. Provenance only (anyone
#: can set it), so no step decides anything from it.
WRITER_METADATA_KEY: Final = "pipeline-writer"
WRITER_SCRAPER: Final = "scraper"
WRITER_CLI: Final = "cli"
WRITER_VALIDATE: Final = "validate"

#: Local AWS emulator (MiniStack, LocalStack-compatible edge port).
EMULATOR_HOST: Final = "127.0.0.1"
EMULATOR_PORT: Final = 4566
EMULATOR_REGION: Final = "us-east-1"

#: The repository root and its ignored state directory (local lake, emulator data).
REPO_ROOT: Final = Path(__file__).resolve().parents[2]
STATE_DIR: Final = Path(os.environ.get("BOVESPA_STATE_DIR", REPO_ROOT / ".state"))
LOCAL_LAKE_DIR: Final = STATE_DIR / "lake"
FIXTURES_DIR: Final = REPO_ROOT / "services" / "tool" / "recordings" / "b3"
#: The reference pages the README links to (each test of a page reads it from here).
DOCS_DIR: Final = REPO_ROOT / "docs"

#: The refined table, in the Glue Data Catalog database that the mission fixes.
GLUE_DATABASE: Final = "default"
REFINED_TABLE: Final = "b3_index_portfolio"
#: The refined datasets ahead: one table each, BESIDE ``refined/`` (under it, the day's
#: crawler would see bogus partitions).
REFINED_THEORETICAL_TABLE: Final = "b3_index_theoretical"
REFINED_THEORETICAL_PREFIX: Final = "refined-theoretical"
REFINED_PREVIEW_TABLE: Final = "b3_index_preview"
REFINED_PREVIEW_PREFIX: Final = "refined-preview"
#: The refined preview's ``contract`` column (:data:`services.pipeline.b3.preview.UNVERIFIED`).
PREVIEW_CONTRACT: Final = "unverified"
#: Partitions of the refined layer, in path order: ``refined/dt=…/index_code=…/ticker=…/``.
REFINED_PARTITION_KEYS: Final = ("dt", "index_code", "ticker")
#: B3 publishes in São Paulo: "today" for the processing date is São Paulo's today.
B3_TIMEZONE: Final = "America/Sao_Paulo"

"""The scraper writing the raw layer to S3 on the local emulator."""

from __future__ import annotations

import io
from functools import partial
from typing import Any

import pyarrow.parquet as pq
import pytest

from services.pipeline import settings
from services.pipeline.lake.storage import NO_VERSION, S3Lake
from services.pipeline.scraper.scrape import scrape
from services.tool.local.deploy import served_at
from services.tool.local.replay import ReplayServer
from tests.aws_clients import aws
from tests.recordings import FAST, SEGMENT2_2025_07_10, load, pt_br

KEY = "raw/index=IBOV/dt=2025-07-10/portfolio.parquet"
scrape_ibov = partial(scrape, "IBOV", policy=FAST, now=served_at(SEGMENT2_2025_07_10.read_bytes()))


def keys(bucket: str) -> list[str]:
    s3: Any = aws("s3")
    return sorted(item["Key"] for item in s3.list_objects_v2(Bucket=bucket).get("Contents", []))


def test_scrape_to_s3_writes_exact_raw_parquet(replay: ReplayServer, bucket: str) -> None:
    summary = scrape_ibov(lake_uri=f"s3://{bucket}", base_url=replay.base_url)
    assert summary["uri"] == f"s3://{bucket}/{KEY}"
    assert keys(bucket) == ["raw/index=IBOV/dt=2025-07-10/_b3-response-page-001.json", KEY]
    s3: Any = aws("s3")
    obj = s3.get_object(Bucket=bucket, Key=KEY)
    assert obj["Metadata"] == {settings.WRITER_METADATA_KEY: settings.WRITER_CLI}
    # The summary pins the object it wrote, from the PutObject answer (Validate reads that).
    assert (summary["version"], summary["etag"]) == (NO_VERSION, obj["ETag"].strip('"'))
    rows = pq.read_table(io.BytesIO(obj["Body"].read())).to_pylist()
    recorded = load(SEGMENT2_2025_07_10)["results"]
    assert [(r["cod"], r["part"], r["theoricalQty"]) for r in rows] == [
        (r["cod"], pt_br(r["part"]), pt_br(r["theoricalQty"])) for r in recorded
    ]


def test_scrape_under_a_prefix_and_rescrape_keeps_one_object(
    replay: ReplayServer, bucket: str
) -> None:
    for _ in range(2):
        scrape_ibov(lake_uri=f"s3://{bucket}/lake", base_url=replay.base_url)
    assert keys(bucket) == [
        "lake/raw/index=IBOV/dt=2025-07-10/_b3-response-page-001.json",
        f"lake/{KEY}",
    ]


def test_on_a_versioned_bucket_each_scrape_names_the_version_it_wrote(
    replay: ReplayServer, bucket: str
) -> None:
    s3: Any = aws("s3")
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    summaries = [scrape_ibov(lake_uri=f"s3://{bucket}", base_url=replay.base_url) for _ in range(2)]
    listed = s3.list_object_versions(Bucket=bucket, Prefix=KEY)["Versions"]
    written = {v["VersionId"]: v["ETag"].strip('"') for v in listed if v["Key"] == KEY}
    assert len(written) == 2
    assert {s["version"]: s["etag"] for s in summaries} == written
    head = s3.head_object(Bucket=bucket, Key=KEY)
    assert summaries[-1]["version"] == head["VersionId"]
    for version in s3.list_object_versions(Bucket=bucket)["Versions"]:
        s3.delete_object(Bucket=bucket, Key=version["Key"], VersionId=version["VersionId"])


def test_a_missing_object_is_file_not_found_as_in_a_local_lake(bucket: str) -> None:
    lake = S3Lake(bucket)
    with pytest.raises(FileNotFoundError, match=f"s3://{bucket}/{KEY}"):
        lake.read_bytes(KEY)

"""The four-month datasets' layout: built and parsed in one place, and invisible to the day's
pipeline (the inbox rule, the trigger, Validate and the Glue job's scan of ``raw/``)."""

from __future__ import annotations

import re
from datetime import date

import pytest

from glue.schema import DAY_DATASET, TABLES
from services.deploy.deployment import Deployment
from services.pipeline import settings
from services.pipeline.lake import datasets
from services.pipeline.lake.datasets import (
    DATASETS,
    PREVIEW,
    THEORETICAL,
    DatasetKey,
    parse_key,
)
from services.pipeline.lake.layout import is_raw_key
from services.pipeline.lake.raw import raw_key, response_key
from services.pipeline.scraper.handler import SCRAPERS
from services.pipeline.trigger import handler as trigger
from services.tool.arguments import ScrapedDataset
from tests.unit.test_trigger import s3_event

DAY = date(2024, 12, 16)


def every_key() -> list[str]:
    return [
        datasets.object_key(THEORETICAL, "IBOV", DAY),
        datasets.response_key(THEORETICAL, "IBOV", DAY, 1),
        datasets.session_key(THEORETICAL, "IBOV", DAY),
        datasets.object_key(PREVIEW, "IBOV", DAY),
        datasets.response_key(PREVIEW, "IBOV", DAY, 2),
        datasets.session_key(PREVIEW, "IBOV", DAY),
        datasets.configuration_key("IBOV", DAY),
        datasets.no_preview_key("IBOV", DAY),
    ]


def test_the_keys() -> None:
    assert every_key() == [
        "raw-theoretical/index=IBOV/dt=2024-12-16/theoretical.parquet",
        "raw-theoretical/index=IBOV/dt=2024-12-16/_b3-response-page-001.json",
        "raw-theoretical/index=IBOV/dt=2024-12-16/_b3-response-session.json",
        "raw-preview/index=IBOV/dt=2024-12-16/preview.parquet",
        "raw-preview/index=IBOV/dt=2024-12-16/_b3-response-page-002.json",
        "raw-preview/index=IBOV/dt=2024-12-16/_b3-response-session.json",
        "raw-preview/index=IBOV/dt=2024-12-16/_b3-response-configuration.json",
        "raw-preview/index=IBOV/dt=2024-12-16/_no-preview.json",
    ]


def test_every_key_parses_back() -> None:
    parsed = [parse_key(key) for key in every_key()]
    assert all(p is not None and (p.index, p.dt) == ("IBOV", DAY) for p in parsed)
    assert [p.dataset.name for p in parsed if p] == ["theoretical"] * 3 + ["preview"] * 5
    assert [p.is_data for p in parsed if p] == [True, False, False, True] + [False] * 4
    assert parse_key("raw-preview/index=IBOV/dt=2024-12-16/preview.parquet") == DatasetKey(
        PREVIEW, "IBOV", DAY, "preview.parquet"
    )


@pytest.mark.parametrize(
    "key",
    [
        raw_key("IBOV", DAY),
        "raw-theoretical/index=IBOV/dt=2024-13-01/theoretical.parquet",
        "raw-theoretical/index=ibov/dt=2024-12-16/theoretical.parquet",
        "raw-theoretical/index=IBOV/dt=2024-12-16/a/theoretical.parquet",
        "raw-other/index=IBOV/dt=2024-12-16/theoretical.parquet",
    ],
)
def test_other_keys_are_not_dataset_keys(key: str) -> None:
    assert parse_key(key) is None


def test_no_dataset_key_starts_or_feeds_the_days_pipeline() -> None:
    (rule,) = Deployment().inbox_event_pattern("bucket")["detail"]["object"]["key"]
    inbox_day = f"{settings.INBOX_PREFIX}/{raw_key('IBOV', DAY).split('/', 1)[1]}"
    # the rule and the trigger are not vacuous: the day's inbox object starts an execution
    assert inbox_day.startswith(rule["prefix"])
    assert trigger.decide(dict(s3_event(inbox_day)))["action"] == "start"
    for key in every_key():
        assert not key.startswith(rule["prefix"]), key
        # the trigger, Validate and the Glue job's scan all ask services.pipeline.lake.layout
        assert not is_raw_key(key), key
        assert trigger.decide(dict(s3_event(key)))["action"] == "ignore", key
        # nor does a dataset's file dropped under inbox/ in the day's layout
        dropped = f"{settings.INBOX_PREFIX}/{key.split('/', 1)[1]}"
        assert trigger.decide(dict(s3_event(dropped)))["action"] == "ignore", dropped
        assert not key.startswith(settings.RAW_PREFIX + "/"), key


def test_every_column_of_both_datasets_is_in_the_ahead_page() -> None:
    from services.pipeline.lake.ahead import PREVIEW_SCHEMA, THEORETICAL_SCHEMA

    page = (settings.DOCS_DIR / "ahead.md").read_text(encoding="utf-8")
    section = page.split("# The portfolio ahead", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| `")]
    documented = {name for row in rows for name in re.findall(r"`(\w+)`", row.split("|")[1])}
    assert set(THEORETICAL_SCHEMA.names) | set(PREVIEW_SCHEMA.names) == documented


def test_the_scraper_the_cli_and_the_tables_name_the_same_datasets() -> None:
    names = {DAY_DATASET, *(dataset.name for dataset in DATASETS)}
    assert set(SCRAPERS) == names
    assert {member.value for member in ScrapedDataset} == names
    assert {table.dataset for table in TABLES} == names

"""The S3-event trigger's decisions, on the real EventBridge event shape."""

from __future__ import annotations

import re
from typing import Any

import pytest

from services import settings
from services.trigger.route import decide, execution_name

KEY = "raw/index=IBOV/dt=2025-07-10/portfolio.parquet"


def s3_event(key: str = KEY, etag: str = "d41d8cd98f00b204e9800998ecf8427e") -> dict[str, Any]:
    """An ``Object Created`` event as EventBridge delivers it (S3 EventBridge notifications)."""
    return {
        "version": "0",
        "id": "17793124-05d4-b198-2fde-7ededc63b103",
        "detail-type": "Object Created",
        "source": "aws.s3",
        "account": "111122223333",
        "time": "2025-07-10T21:30:00Z",
        "region": "us-east-1",
        "resources": ["arn:aws:s3:::bovespa-lake"],
        "detail": {
            "version": "0",
            "bucket": {"name": "bovespa-lake"},
            "object": {"key": key, "size": 15329, "etag": etag, "sequencer": "00617F08299329D189"},
            "request-id": "N4N7GDK58NMKJ12R",
            "requester": "123456789012",
            "source-ip-address": "1.2.3.4",
            "reason": "PutObject",
        },
    }


def no_mark(bucket: str, key: str) -> str | None:
    return None


def test_a_dropped_raw_object_starts_an_execution_with_its_partition() -> None:
    decision = decide(s3_event(), no_mark)
    assert decision.action == "start"
    assert decision.input == {
        "source": "s3",
        "bucket": "bovespa-lake",
        "key": KEY,
        "uri": f"s3://bovespa-lake/{KEY}",
        "index": "IBOV",
        "dt": "2025-07-10",
    }


def test_the_scrapers_own_objects_are_ignored() -> None:
    decision = decide(s3_event(), lambda bucket, key: settings.WRITER_SCRAPER)
    assert (decision.action, decision.name) == ("ignore", None)
    assert "scraper" in decision.reason


def test_objects_written_from_the_cli_are_processed() -> None:
    assert decide(s3_event(), lambda bucket, key: settings.WRITER_CLI).action == "start"


@pytest.mark.parametrize(
    "key",
    [
        "raw/index=IBOV/dt=2025-07-10/_b3-response-page-001.json",
        "raw/index=IBOV/dt=2025-07-10/_tmp.parquet",
        "refined/dt=2025-07-10/index_code=IBOV/ticker=PETR4/part-00000.snappy.parquet",
        "raw/index=IBOV/portfolio.parquet",
        "raw/index=ibov/dt=2025-07-10/portfolio.parquet",
        "athena-results/abc.csv",
    ],
)
def test_keys_outside_the_contract_are_ignored(key: str) -> None:
    looked_up: list[str] = []
    decision = decide(s3_event(key), lambda bucket, k: looked_up.append(k) or None)
    assert decision.action == "ignore"
    assert looked_up == []  # not even a HEAD request


def test_other_events_are_ignored() -> None:
    event = s3_event()
    event["detail-type"] = "Object Deleted"
    assert decide(event, no_mark).action == "ignore"


def test_the_execution_name_is_valid_deterministic_and_per_version() -> None:
    first = decide(s3_event(), no_mark).name
    assert first == decide(s3_event(), no_mark).name  # a duplicated event: the same name
    assert first != decide(s3_event(etag="another-version"), no_mark).name
    assert first is not None
    assert re.fullmatch(r"[A-Za-z0-9_-]{1,80}", first)
    assert first.startswith("s3-IBOV-2025-07-10-")


def test_long_keys_still_give_names_within_80_characters() -> None:
    name = execution_name(
        "b" * 63, "raw/index=IBOVESPA/dt=2025-07-10/" + "x" * 900 + ".parquet", "e"
    )
    assert len(name) <= 80
    assert re.fullmatch(r"[A-Za-z0-9_-]+", name)

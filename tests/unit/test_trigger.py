"""The S3-event trigger's decisions, on the real EventBridge event shape."""

from __future__ import annotations

import re
from typing import Any

import pytest

from services.pipeline.trigger.handler import decide

KEY = "inbox/index=IBOV/dt=2025-07-10/portfolio.parquet"


def s3_event(
    key: str = KEY,
    etag: str = "d41d8cd98f00b204e9800998ecf8427e",
    *,
    sequencer: str = "00617F08299329D189",
    version_id: str | None = None,
) -> dict[str, Any]:
    """An ``Object Created`` event as EventBridge delivers it (S3 EventBridge notifications)."""
    obj: dict[str, Any] = {"key": key, "size": 15329, "etag": etag, "sequencer": sequencer}
    if version_id:
        obj["version-id"] = version_id
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
            "object": obj,
            "request-id": "N4N7GDK58NMKJ12R",
            "requester": "123456789012",
            "source-ip-address": "1.2.3.4",
            "reason": "PutObject",
        },
    }


def test_an_inbox_object_starts_an_execution_with_its_uri_and_version() -> None:
    decision = decide(s3_event(version_id="IYV3p45BT0ac8hjHg1houSdS1a.Mro8e"))
    assert decision["action"] == "start"
    assert decision["input"] == {
        "source": "s3",
        "objects": [
            {"uri": f"s3://bovespa-lake/{KEY}", "version": "IYV3p45BT0ac8hjHg1houSdS1a.Mro8e"}
        ],
    }
    assert re.fullmatch(r"inbox-IBOV-2025-07-10-[0-9a-f]{16}", decision["name"])
    download = decide(s3_event("inbox/IBOVDia_10-07-25.csv"))  # B3's CSV download, any name
    assert download["input"]["objects"] == [
        {"uri": "s3://bovespa-lake/inbox/IBOVDia_10-07-25.csv", "version": None}
    ]
    assert re.fullmatch(r"inbox-download-[0-9a-f]{16}", download["name"])


def test_on_an_unversioned_bucket_the_version_is_null_and_the_sequencer_names_it() -> None:
    first, second = decide(s3_event(sequencer="0001")), decide(s3_event(sequencer="0002"))
    assert first["input"]["objects"][0]["version"] is None
    assert first["name"] != second["name"]


def test_the_key_is_read_decoded_as_s3_encodes_it_in_events() -> None:
    decision = decide(s3_event("inbox/index%3DIBOV/dt%3D2025-07-10/portfolio.parquet"))
    assert decision["input"]["objects"][0]["uri"] == f"s3://bovespa-lake/{KEY}"


def test_a_revert_to_earlier_bytes_is_a_new_write_with_its_own_execution() -> None:
    """A duplicated event finds its execution; A, then B, then A's bytes again: three."""
    a = "0cc175b9c0f1b6a831c399e269772661"
    names = [decide(s3_event(etag=a, version_id=v))["name"] for v in ("v1", "v1", "v2", "v3")]
    assert names[0] == names[1]
    assert len(set(names)) == 3
    for name in names:
        assert re.fullmatch(r"[A-Za-z0-9_-]{1,80}", name)


@pytest.mark.parametrize(
    "key",
    [
        "raw/index=IBOV/dt=2025-07-10/portfolio.parquet",  # the pipeline's own writes
        "refined/dt=2025-07-10/index_code=IBOV/ticker=PETR4/part-00000.snappy.parquet",
        "raw-theoretical/index=IBOV/dt=2025-07-10/portfolio.parquet",
        "inbox/index=IBOV/dt=2025-07-10/extra.parquet",  # only portfolio.parquet is data
        "inbox/index=IBOV/dt=2025-07-10/_b3-response-page-001.json",
        "inbox/index=IBOV/portfolio.parquet",
        "inbox/index=ibov/dt=2025-07-10/portfolio.parquet",
        "inbox/index=IBOV/dt=2025-02-30/portfolio.parquet",
        "inbox/inbox/index=IBOV/dt=2025-07-10/portfolio.parquet",
        "x/inbox/index=IBOV/dt=2025-07-10/portfolio.parquet",
        "inbox/" + "x" * 2000,
    ],
)
def test_keys_outside_the_raw_contract_are_ignored(key: str) -> None:
    decision = decide(s3_event(key))
    assert decision["action"] == "ignore"
    assert "\n" not in decision["reason"]
    assert len(decision["reason"]) < 400


@pytest.mark.parametrize(
    "event",
    [
        {},
        {"detail-type": "Scheduled Event", "source": "aws.events", "detail": {}},
        {**s3_event(), "detail": {"bucket": {"name": "b"}, "object": {"key": KEY}}},  # no sequencer
        {**s3_event(), "detail": {"bucket": "b", "object": []}},
        {**s3_event(), "detail-type": "Object Deleted"},
        {**s3_event(), "source": "someone.else"},
        {**s3_event(), "detail": {**s3_event()["detail"], "bucket": {"name": 5}}},
        {**s3_event(), "detail": {**s3_event()["detail"], "bucket": {"name": "a/b"}}},
        s3_event(version_id=7),  # type: ignore[arg-type]
        s3_event(sequencer=["x"]),  # type: ignore[arg-type]
    ],
)
def test_malformed_and_other_events_are_ignored(event: Any) -> None:
    decision = decide(event)
    assert decision["action"] == "ignore"
    assert len(decision["reason"].splitlines()[0]) == len(decision["reason"]) < 400

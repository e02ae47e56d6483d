"""The S3-event trigger's decisions, on the real EventBridge event shape."""

from __future__ import annotations

import json
import re
from datetime import date
from typing import Any

import pytest

from services.lake.layout import RawDay
from services.local.deploy import LOCAL
from services.trigger.route import (
    SCRAPE_STATES,
    VALIDATE_STATES,
    VALIDATED,
    ObjectWrite,
    coverage,
    decide,
    execution_name,
    object_write,
)
from services.workflow import render

KEY = "raw/index=IBOV/dt=2025-07-10/portfolio.parquet"
DAY = RawDay("IBOV", date(2025, 7, 10))


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


def uncovered(write: ObjectWrite, day: RawDay) -> str | None:
    return None


def test_a_dropped_raw_object_starts_an_execution_with_its_partition() -> None:
    decision = decide(s3_event(), uncovered)
    assert decision.action == "start"
    assert decision.input == {
        "source": "s3",
        "bucket": "bovespa-lake",
        "key": KEY,
        "uri": f"s3://bovespa-lake/{KEY}",
        "index": "IBOV",
        "dt": "2025-07-10",
        "etag": "d41d8cd98f00b204e9800998ecf8427e",
        "version": None,
        "sequencer": "00617F08299329D189",
    }


def test_a_write_a_running_execution_already_validated_starts_nothing() -> None:
    seen: list[tuple[ObjectWrite, RawDay]] = []

    def covered(write: ObjectWrite, day: RawDay) -> str | None:
        seen.append((write, day))
        return "arn:aws:states:us-east-1:1:execution:pipeline:daily"

    decision = decide(s3_event(), covered)
    assert (decision.action, decision.name) == ("ignore", None)
    assert "already validated by the running execution" in decision.reason
    assert seen == [(object_write(s3_event()), DAY)]


def test_the_key_is_read_decoded_as_s3_encodes_it_in_events() -> None:
    decision = decide(s3_event("raw/index%3DIBOV/dt%3D2025-07-10/portfolio.parquet"), uncovered)
    assert decision.action == "start"
    assert decision.input["key"] == KEY
    assert decision.input["uri"] == f"s3://bovespa-lake/{KEY}"


@pytest.mark.parametrize(
    "key",
    [
        "raw/index=IBOV/dt=2025-07-10/_b3-response-page-001.json",
        "raw/index=IBOV/dt=2025-07-10/_tmp.parquet",
        "raw/index=IBOV/dt=2025-07-10/extra.parquet",  # only portfolio.parquet is data
        "raw/index=IBOV/dt=2025-07-10/notes.txt",
        "refined/dt=2025-07-10/index_code=IBOV/ticker=PETR4/part-00000.snappy.parquet",
        "raw/index=IBOV/portfolio.parquet",
        "raw/index=ibov/dt=2025-07-10/portfolio.parquet",
        "raw/index=IBOV/dt=2025-02-30/portfolio.parquet",
        "athena-results/abc.csv",
    ],
)
def test_keys_outside_the_raw_contract_are_ignored(key: str) -> None:
    looked_up: list[ObjectWrite] = []
    decision = decide(s3_event(key), lambda write, day: looked_up.append(write) or None)
    assert decision.action == "ignore"
    assert looked_up == []  # not even a look at the executions


def test_other_events_are_ignored() -> None:
    event = s3_event()
    event["detail-type"] = "Object Deleted"
    assert decide(event, uncovered).action == "ignore"


def test_the_execution_name_is_valid_deterministic_and_per_write() -> None:
    first = decide(s3_event(), uncovered).name
    assert first == decide(s3_event(), uncovered).name  # a duplicated event: the same name
    assert first is not None
    assert re.fullmatch(r"[A-Za-z0-9_-]{1,80}", first)
    assert first.startswith("s3-IBOV-2025-07-10-")


def test_a_revert_to_earlier_bytes_is_a_new_write_with_its_own_execution() -> None:
    """Ingest A, then B, then A again: the third write has A's ETag but is a new write."""
    a = "0cc175b9c0f1b6a831c399e269772661"
    first = decide(s3_event(etag=a, sequencer="0064D3901D00059242"), uncovered).name
    again = decide(s3_event(etag=a, sequencer="0064D3902A00011111"), uncovered).name
    assert first != again
    versioned = decide(s3_event(etag=a, version_id="IYV3p45BT0ac8hjHg1houSdS1a.Mro8e"), uncovered)
    reverted = decide(s3_event(etag=a, version_id="uhggCJ2_B6gU2JaXWXebnXFDstO0ID6G"), uncovered)
    assert versioned.name != reverted.name


def test_long_keys_still_give_names_within_80_characters() -> None:
    name = execution_name(
        ObjectWrite("b" * 63, "raw/index=IBOVESPA/dt=2025-07-10/" + "x" * 900, "e", None, "1")
    )
    assert len(name) <= 80
    assert re.fullmatch(r"[A-Za-z0-9_-]+", name)


# --- what a running execution's history says about a write ----------------------------------

WRITE = ObjectWrite("bovespa-lake", KEY, "etag-a", None, "00617F08299329D189")


def history(
    *states: tuple[str, str, dict[str, Any] | None], started: dict[str, Any] | None = None
) -> list[Any]:
    """A history: ExecutionStarted, then (kind, state, output) entered/exited events; a
    Validate's output is the Map iteration's state, its result under ``validated``."""
    started = started if started is not None else {"source": "schedule", "indices": ["IBOV"]}
    events: list[dict[str, Any]] = [
        {
            "type": "ExecutionStarted",
            "executionStartedEventDetails": {"input": json.dumps(started)},
        }
    ]
    for kind, name, output in states:
        if kind == "entered":
            events.append({"type": "TaskStateEntered", "stateEnteredEventDetails": {"name": name}})
        else:
            state = {"target": "IBOV", "validated": output} if "Validate" in name else output
            details: dict[str, Any] = {"name": name, "output": json.dumps(state or {})}
            events.append({"type": "TaskStateExited", "stateExitedEventDetails": details})
    return events


def pin(etag: str = "etag-a", version: str = "null", uri: str = WRITE.uri) -> dict[str, Any]:
    return {"dt": "2025-07-10", "index": "IBOV", "uri": uri, "etag": etag, "version": version}


def test_an_execution_whose_validate_pinned_this_write_covers_it() -> None:
    events = history(
        ("entered", "Scrape", None),
        ("exited", "Scrape", {"uri": WRITE.uri}),
        ("entered", "Validate", None),
        ("exited", "Validate", pin()),
        ("entered", "StartGlueJob", None),
    )
    assert coverage(events, WRITE, DAY) == "covered"


def test_an_execution_still_scraping_or_validating_the_index_is_waited_for() -> None:
    assert coverage(history(("entered", "Scrape", None)), WRITE, DAY) == "pending"
    validating = history(
        ("entered", "Scrape", None), ("exited", "Scrape", {}), ("entered", "Validate", None)
    )
    assert coverage(validating, WRITE, DAY) == "pending"


@pytest.mark.parametrize(
    ("events", "why"),
    [
        (history(("entered", "Validate", None), ("exited", "Validate", pin("etag-b"))), "etag"),
        (history(("entered", "Scrape", None), started={"indices": ["SMLL"]}), "another index"),
        (history(("entered", "Scrape", None), started={"index": "SMLL"}), "one other index"),
        (
            history(
                ("entered", "Validate", None),
                ("exited", "Validate", pin(uri="s3://bovespa-lake/raw/index=IBOV/dt=2025-07-11/x")),
            ),
            "another object",
        ),
        (history(("entered", "StartGlueJob", None)), "no Validate"),
    ],
)
def test_an_execution_that_validated_something_else_does_not_cover(
    events: list[Any], why: str
) -> None:
    assert coverage(events, WRITE, DAY) == "no", why


def test_a_redrive_finishing_the_index_covers_it_too() -> None:
    events = history(
        ("entered", "RedoScrape", None),
        ("exited", "RedoScrape", {}),
        ("entered", "RedoValidate", None),
    )
    assert coverage(events, WRITE, DAY) == "pending"
    events += history(("exited", "RedoValidate", pin()))[1:]
    assert coverage(events, WRITE, DAY) == "covered"


def test_the_states_the_trigger_reads_are_the_state_machines() -> None:
    definition = render(LOCAL.state_machine_values("scraper", "validate"))
    found: dict[str, dict[str, Any]] = {}

    def walk(states: dict[str, Any]) -> None:
        for name, state in states.items():
            found[name] = state
            for inner in (state.get("ItemProcessor"), *state.get("Branches", [])):
                if inner:
                    walk(inner["States"])

    walk(definition["States"])
    for name in VALIDATE_STATES:
        assert found[name]["ResultPath"] == f"$.{VALIDATED}", name
        assert found[name]["Parameters"]["FunctionName"] == "validate", name
    for name in SCRAPE_STATES:
        assert found[name]["Parameters"]["FunctionName"] == "scraper", name


def test_on_a_versioned_bucket_the_version_id_decides_not_the_etag() -> None:
    write = ObjectWrite("bovespa-lake", KEY, "etag-a", "v2", "1")
    old = history(("entered", "Validate", None), ("exited", "Validate", pin(version="v1")))
    new = history(("entered", "Validate", None), ("exited", "Validate", pin(version="v2")))
    assert coverage(old, write, DAY) == "no"  # same bytes, an earlier write of them
    assert coverage(new, write, DAY) == "covered"

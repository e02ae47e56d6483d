"""The S3-event trigger's decisions, on the real EventBridge event shape."""

from __future__ import annotations

import json
import re
from datetime import date
from typing import Any

import pytest

from services.deploy.asl import render
from services.pipeline.lake.layout import RawDay
from services.pipeline.trigger.route import (
    FAILURE,
    SCRAPE_STATES,
    SCRAPED,
    TARGET,
    VALIDATE_STATES,
    VALIDATED,
    ObjectWrite,
    coverage,
    decide,
    execution_name,
    object_write,
)
from services.tool.local.deploy import LOCAL

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
    *states: tuple[str, str, dict[str, Any] | None],
    started: dict[str, Any] | None = None,
    target: str | None = None,
) -> list[Any]:
    """A history: ExecutionStarted, then (kind, state, output) entered/exited events. As in
    a Map iteration, each state's input and output is the iteration's state: ``target``
    (when given) names its item, a Scrape's result is under ``day``, a Validate's under
    ``validated``."""
    started = started if started is not None else {"source": "schedule", "indices": ["IBOV"]}
    events: list[dict[str, Any]] = [
        {
            "type": "ExecutionStarted",
            "executionStartedEventDetails": {"input": json.dumps(started)},
        }
    ]
    item = {} if target is None else {TARGET: target}
    for kind, name, output in states:
        if kind == "entered":
            entered = {"name": name, "input": json.dumps(item)}
            events.append({"type": "TaskStateEntered", "stateEnteredEventDetails": entered})
        else:
            result = VALIDATED if "Validate" in name else SCRAPED
            state = {**item, result: output} if output is not None else item
            details: dict[str, Any] = {"name": name, "output": json.dumps(state)}
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


def test_a_scrape_that_wrote_exactly_this_write_covers_it_before_its_validate_ends() -> None:
    """The bug: under load Validate had not exited within the wait, so a second execution
    (and a second Glue run) started for the scraper's own write. The Scrape's summary
    pins the write, and Validate follows in the same iteration."""
    versioned = ObjectWrite("bovespa-lake", KEY, "etag-a", "v2", "1")
    events = history(
        ("entered", "Scrape", None),
        ("exited", "Scrape", pin(version="v2")),
        ("entered", "Validate", None),
        target="IBOV",
    )
    assert coverage(events, versioned, DAY) == "covered"
    unversioned = history(("entered", "Scrape", None), ("exited", "Scrape", pin()))
    assert coverage(unversioned, WRITE, DAY) == "covered"  # the same ETag, no version kept


@pytest.mark.parametrize(
    ("scraped", "write", "why"),
    [
        (pin(version="v1"), ObjectWrite("bovespa-lake", KEY, "etag-a", "v2", "1"), "version"),
        (pin(etag="etag-b"), WRITE, "etag where the store keeps no versions"),
        (pin(uri="s3://bovespa-lake/raw/index=IBOV/dt=2025-07-11/portfolio.parquet"), WRITE, "uri"),
        ({"uri": WRITE.uri, "rows": 84}, WRITE, "a summary without a pin"),
    ],
)
def test_a_scrape_that_wrote_another_write_does_not_cover_it(
    scraped: dict[str, Any], write: ObjectWrite, why: str
) -> None:
    done = history(("entered", "Scrape", None), ("exited", "Scrape", scraped), target="IBOV")
    assert coverage(done, write, DAY) == "no", why
    validating = done + history(("entered", "Validate", None), target="IBOV")[1:]
    assert coverage(validating, write, DAY) == "pending", why


def test_only_a_scrape_or_validate_of_this_index_is_waited_for() -> None:
    both = {"source": "schedule", "indices": ["IBOV", "SMLL"]}
    other = history(("entered", "Scrape", None), started=both, target="SMLL")
    assert coverage(other, WRITE, DAY) == "no"
    other_object = history(
        ("entered", "Validate", None),
        started=both,
        target="s3://bovespa-lake/raw/index=SMLL/dt=2025-07-10/portfolio.parquet",
    )
    assert coverage(other_object, WRITE, DAY) == "no"
    this_object = history(("entered", "Validate", None), started=both, target=WRITE.uri)
    assert coverage(this_object, WRITE, DAY) == "pending"
    this_index = history(("entered", "Scrape", None), started=both, target="IBOV")
    assert coverage(this_index, WRITE, DAY) == "pending"
    redo = {"failure": {TARGET: "SMLL", "dataset": "day"}}
    entered = {"name": "RedoScrape", "input": json.dumps(redo)}
    redoing_other = [
        *history(started=both),
        {"type": "TaskStateEntered", "stateEnteredEventDetails": entered},
    ]
    assert coverage(redoing_other, WRITE, DAY) == "no"


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
    calls = {
        function: {
            name
            for name, state in found.items()
            if state.get("Parameters", {}).get("FunctionName") == function
            and state.get("ResultPath") == f"$.{path}"
        }
        for function, path in (("validate", VALIDATED), ("scraper", SCRAPED))
    }
    # exactly these states validate or scrape the day: a new one would go unseen otherwise
    assert calls == {"validate": VALIDATE_STATES, "scraper": SCRAPE_STATES}
    assert {
        n for n, s in found.items() if s.get("Parameters", {}).get("FunctionName") == "validate"
    } == VALIDATE_STATES
    for name in VALIDATE_STATES:
        assert found[name]["ResultPath"] == f"$.{VALIDATED}", name
        assert found[name]["Parameters"]["FunctionName"] == "validate", name
    for name in SCRAPE_STATES:
        assert found[name]["Parameters"]["FunctionName"] == "scraper", name
        assert found[name]["ResultPath"] == f"$.{SCRAPED}", name
        selected = found[name]["ResultSelector"]
        for pinned in ("uri", "version", "etag"):
            assert selected[f"{pinned}.$"] == f"$.Payload.{pinned}", (name, pinned)
    # The iteration's state names its item where coverage reads it, on a redrive too.
    assert found["ScrapeIndices"]["ItemSelector"][f"{TARGET}.$"] == "$$.Map.Item.Value"
    redo = [s for s in found.values() if f"{FAILURE}.$" in s.get("ItemSelector", {})]
    assert [s["ItemSelector"][f"{FAILURE}.$"] for s in redo] == ["$$.Map.Item.Value"]
    assert found["RedoScrape"]["Parameters"]["Payload"]["index.$"] == f"$.{FAILURE}.{TARGET}"


def test_on_a_versioned_bucket_the_version_id_decides_not_the_etag() -> None:
    write = ObjectWrite("bovespa-lake", KEY, "etag-a", "v2", "1")
    old = history(("entered", "Validate", None), ("exited", "Validate", pin(version="v1")))
    new = history(("entered", "Validate", None), ("exited", "Validate", pin(version="v2")))
    assert coverage(old, write, DAY) == "no"  # same bytes, an earlier write of them
    assert coverage(new, write, DAY) == "covered"

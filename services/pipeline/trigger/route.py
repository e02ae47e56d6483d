"""What the trigger does with one S3 ``Object Created`` event, as pure functions.

An object starts an execution only if its key — decoded as S3 encodes it in events — is
a day's canonical raw object (:mod:`services.pipeline.lake.layout`). The execution is named from
the bucket, the key and the write itself: its version id on a versioned bucket, else the
event's sequencer. The same event delivered twice finds its execution already there,
while every new write of the key — a revert to an earlier file included — starts its own.

Nothing that the writer of an object controls (metadata, tags, its bytes) can keep it
from being processed. The one write the trigger leaves alone is one that a running
execution validates itself: an execution whose Scrape (or RedoScrape) step wrote exactly
this object, or whose Validate step pinned it (the same version id, or the same ETag
where the store keeps no versions). That is the scraper's own write on the schedule path:
Validate follows Scrape in the same Map iteration (a failed Validate is caught and
reported by that execution, and a redrive finishes it), so the write is covered as soon
as its Scrape state has exited. If someone overwrites the object after that, the newer
write is another version with its own event, and gets its own decision.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from aws_lambda_powertools.utilities.data_classes import S3EventBridgeNotificationEvent

from services.pipeline.lake.layout import NotARawKey, RawDay, parse_raw_key

#: Step Functions execution names: 1-80 characters of letters, digits, '-' and '_'.
NAME_LIMIT = 80
#: States whose output tells what an execution validated (in the daily Map's iterations and
#: in those that finish failed indices on a redrive), and the ones before them.
VALIDATE_STATES = frozenset({"Validate", "RedoValidate"})
SCRAPE_STATES = frozenset({"Scrape", "RedoScrape"})
#: Where a Validate state puts its result in the iteration's state (its ``ResultPath``).
VALIDATED = "validated"
#: Where a Scrape state puts the scraper's summary of what it wrote (its ``ResultPath``).
SCRAPED = "day"
#: Where a Map iteration's state names its item (an index, or a dropped object's URI), and
#: where a redrive's iteration keeps the failed one.
TARGET = "target"
FAILURE = "failure"


@dataclass(frozen=True)
class Decision:
    """``start`` (with the execution's name and input) or ``ignore`` (with why)."""

    action: str
    reason: str
    name: str | None = None
    input: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ObjectWrite:
    """One write of an object, as the event describes it."""

    bucket: str
    key: str
    etag: str
    version_id: str | None = None
    sequencer: str | None = None

    @property
    def uri(self) -> str:
        return f"s3://{self.bucket}/{self.key}"

    @property
    def identity(self) -> str:
        """What tells this write from every other write of the key."""
        return self.version_id or self.sequencer or self.etag


#: ``covered(write)``: the execution that already validated exactly this write, if any.
Coverage = Callable[[ObjectWrite, RawDay], str | None]


def object_write(event: Mapping[str, Any]) -> ObjectWrite:
    """The write an EventBridge S3 event describes, with the key decoded (``+``, ``%xx``)."""
    notification = S3EventBridgeNotificationEvent(dict(event))
    detail = notification.detail
    obj = detail.object
    raw = detail.raw_event.get("object", {})
    return ObjectWrite(
        bucket=detail.bucket.name,
        key=obj.key,
        etag=obj.etag.strip('"'),
        version_id=raw.get("version-id") or None,
        sequencer=raw.get("sequencer") or None,
    )


def execution_name(write: ObjectWrite) -> str:
    """A readable, valid, deterministic execution name for this write of the object."""
    digest = hashlib.sha256(f"{write.bucket}/{write.key}/{write.identity}".encode()).hexdigest()
    try:
        day = parse_raw_key(write.key)
        label = f"{day.index}-{day.dt.isoformat()}"
    except NotARawKey:
        label = "object"
    readable = re.sub(r"[^A-Za-z0-9_-]", "-", f"s3-{label}")
    return f"{readable[: NAME_LIMIT - 17]}-{digest[:16]}"


def decide(event: Mapping[str, Any], covered: Coverage) -> Decision:
    """Decide for one EventBridge S3 event; ``covered`` looks for an execution already on it."""
    if event.get("detail-type") != "Object Created" or event.get("source") != "aws.s3":
        return Decision("ignore", f"not an S3 Object Created event ({event.get('detail-type')})")
    try:
        write = object_write(event)
    except (KeyError, TypeError, AttributeError):
        return Decision("ignore", "the event names no bucket and key")
    try:
        day = parse_raw_key(write.key)
    except NotARawKey as error:
        return Decision("ignore", str(error))
    if not write.bucket:
        return Decision("ignore", "the event names no bucket")
    execution = covered(write, day)
    if execution is not None:
        return Decision("ignore", f"already validated by the running execution {execution}")
    return Decision(
        "start",
        "a new write of the day's raw object",
        name=execution_name(write),
        input={
            "source": "s3",
            "bucket": write.bucket,
            "key": write.key,
            "uri": write.uri,
            "index": day.index,
            "dt": day.dt.isoformat(),
            "etag": write.etag,
            "version": write.version_id,
            "sequencer": write.sequencer,
        },
    )


def coverage(events: Iterable[Mapping[str, Any]], write: ObjectWrite, day: RawDay) -> str:
    """What one execution's history says about ``write``: a pure function of the history.

    ``covered``: a Scrape of it exited having written exactly this write (its summary under
    :data:`SCRAPED` pins it), or a Validate exited having pinned it; either way the
    execution validates it itself. ``pending``: a Scrape or Validate that may concern this
    day has not exited yet (one whose iteration names another index does not count), so
    look again shortly. ``no``: it does not concern this write.
    """
    in_flight = 0
    watched = SCRAPE_STATES | VALIDATE_STATES
    for event in events:
        kind = str(event.get("type", ""))
        if kind == "ExecutionStarted":
            details = event.get("executionStartedEventDetails", {})
            if not _concerns(_json(details.get("input")), day):
                return "no"
        elif kind.endswith("StateEntered"):
            details = event.get("stateEnteredEventDetails", {})
            if details.get("name") in watched and _may_concern(_json(details.get("input")), day):
                in_flight += 1
        elif kind.endswith("StateExited"):
            details = event.get("stateExitedEventDetails", {})
            name = details.get("name")
            output = _json(details.get("output"))
            if name in watched and _may_concern(output, day):
                in_flight -= 1
            state = output if isinstance(output, dict) else {}
            if name in SCRAPE_STATES and _pins(state.get(SCRAPED), write):
                return "covered"
            if name in VALIDATE_STATES and _pins(state.get(VALIDATED), write):
                return "covered"
    return "pending" if in_flight > 0 else "no"


def _may_concern(state: Any, day: RawDay) -> bool:
    """Whether a Map iteration's state may be working on ``day``'s index: it names that
    index (or a raw object of it), or names nothing this can read."""
    if not isinstance(state, dict):
        return True
    failure = state.get(FAILURE)
    target = state.get(TARGET, failure.get(TARGET) if isinstance(failure, dict) else None)
    if not isinstance(target, str):
        return True
    if "/" not in target:
        return target == day.index
    try:
        return parse_raw_key(target.removeprefix("s3://").partition("/")[2]).index == day.index
    except NotARawKey:
        return True


def _concerns(execution_input: Any, day: RawDay) -> bool:
    """Whether an execution with this input may validate ``day``: one naming its index (or
    a list of indices holding it), or one whose input says nothing about indices."""
    if not isinstance(execution_input, dict):
        return True
    index, indices = execution_input.get("index"), execution_input.get("indices")
    if isinstance(indices, list):
        return day.index in indices
    return not isinstance(index, str) or index == day.index


def _pins(output: Any, write: ObjectWrite) -> bool:
    """Whether a Scrape summary or a Validate output pins exactly ``write``: the same URI,
    and the same version id (or the same ETag where either side has no version)."""
    if not isinstance(output, dict) or output.get("uri") != write.uri:
        return False
    version = output.get("version")
    if write.version_id and isinstance(version, str) and version != "null":
        return version == write.version_id
    etag = output.get("etag")
    return isinstance(etag, str) and bool(etag) and etag.strip('"') == write.etag


def _json(text: Any) -> Any:
    try:
        return json.loads(text) if isinstance(text, str) else None
    except ValueError:
        return None

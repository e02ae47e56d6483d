"""Record the AWS API calls the deployed components make to the local emulator.

The emulator enforces no IAM, so the tests check the calls themselves: each component names
itself in its SDK's User-Agent (``app/<name>``, botocore's ``AWS_SDK_UA_APP_ID``), and
MiniStack's CloudTrail hook, which sees every request it served as parsed, appends one JSON
line per named request to ``BOVESPA_CALL_LOG`` (``ministack_app`` installs it when set).
CloudTrail's own events are not enough: they drop the query (``versionId``, ``prefix``), and
``LookupEvents`` returns 50 at most.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

CALL_LOG_ENV = "BOVESPA_CALL_LOG"
#: The SDK setting that puts ``app/<name>`` into every request's User-Agent.
APP_ID_ENV = "AWS_SDK_UA_APP_ID"
APP_ID = re.compile(r"(?:^|\s)app/(\S+)")


@dataclass(frozen=True)
class Call:
    """One request a component sent to the emulator."""

    component: str
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: str | None

    def json_body(self) -> dict[str, Any]:
        loaded: dict[str, Any] = json.loads(self.body) if self.body else {}
        return loaded


def read_calls(log: Path) -> list[Call]:
    if not log.exists():
        return []
    return [Call(**json.loads(line)) for line in log.read_text("utf-8").splitlines() if line]


def recorder(log: Path) -> Callable[..., None]:
    """A stand-in for ``ministack.app._maybe_record_cloudtrail`` writing to ``log``."""
    lock = threading.Lock()

    def record(
        service: str, method: str, path: str, headers: dict[str, str], body: bytes,
        query: dict[str, list[str]], *_: object,
    ) -> None:  # fmt: skip
        match = APP_ID.search(headers.get("user-agent", ""))
        if match is None:  # the tests' own calls, the deployment's
            return
        is_json = "json" in headers.get("content-type", "")
        call = Call(
            component=match[1],
            method=method,
            path=path,
            query=query,
            headers={k: v for k, v in headers.items() if k in ("host", "x-amz-target")},
            body=body.decode("utf-8", "replace") if is_json and body else None,
        )
        with lock, log.open("a", encoding="utf-8") as out:
            out.write(json.dumps(asdict(call), ensure_ascii=False) + "\n")

    return record

"""Record the AWS API calls the deployed components make to the local emulator.

The emulator enforces no IAM, so the tests check the calls themselves: each component of
the local deployment names itself in its SDK's User-Agent (``app/<name>``, botocore's
``AWS_SDK_UA_APP_ID``), and this ASGI wrapper around MiniStack appends one JSON line per
such request to a file — who called, the HTTP request as sent, and the answer's status —
before and while MiniStack serves it unchanged. Requests without a name (the tests' own,
the deployment's) pass through unrecorded.

``Emulator(call_log=...)`` runs MiniStack wrapped so: ``services.tool.local.recording_app:app``.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

#: Where the emulator process appends the calls (set by ``Emulator``).
CALL_LOG_ENV = "BOVESPA_CALL_LOG"
#: The SDK setting that puts ``app/<name>`` into every request's User-Agent.
APP_ID_ENV = "AWS_SDK_UA_APP_ID"
APP_ID = re.compile(r"(?:^|\s)app/(\S+)")
#: Request bodies kept: the JSON ones (the operation's parameters), up to this size.
MAX_BODY = 1 << 20

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


@dataclass(frozen=True)
class Call:
    """One request a component sent to the emulator."""

    component: str
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: str | None
    status: int

    def json_body(self) -> dict[str, Any]:
        """The request's JSON parameters ({} when it had none)."""
        loaded: dict[str, Any] = json.loads(self.body) if self.body else {}
        return loaded


def component_of(user_agent: str) -> str | None:
    """The ``app/<name>`` a request's User-Agent carries, if any."""
    match = APP_ID.search(user_agent)
    return match[1] if match else None


def read_calls(log: Path) -> list[Call]:
    """Every call recorded in ``log``, in order."""
    if not log.exists():
        return []
    lines = log.read_text(encoding="utf-8").splitlines()
    return [Call(**json.loads(line)) for line in lines if line]


class Recorder:
    """ASGI middleware: serve with ``app``, record each named request in ``log``."""

    def __init__(self, app: ASGIApp, log: Path) -> None:
        self.app = app
        self.log = log
        self._lock = threading.Lock()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {
            name.decode("latin-1").lower(): value.decode("latin-1")
            for name, value in scope.get("headers", [])
        }
        component = component_of(headers.get("user-agent", ""))
        if component is None:
            await self.app(scope, receive, send)
            return
        body = bytearray()
        status: list[int] = []

        async def keep_body() -> Message:
            message = await receive()
            if message["type"] == "http.request" and len(body) <= MAX_BODY:
                body.extend(message.get("body", b""))
            return message

        async def note_status(message: Message) -> None:
            if message["type"] == "http.response.start":
                status.append(int(message["status"]))
            await send(message)

        try:
            await self.app(scope, keep_body, note_status)
        finally:
            self._write(scope, component, headers, bytes(body), status[0] if status else 0)

    def _write(
        self, scope: Scope, component: str, headers: dict[str, str], body: bytes, status: int
    ) -> None:
        is_json = "json" in headers.get("content-type", "") and len(body) <= MAX_BODY
        raw_path = scope.get("raw_path") or scope["path"].encode()
        call = Call(
            component=component,
            method=scope["method"],
            path=raw_path.decode("latin-1"),
            query=parse_qs(scope.get("query_string", b"").decode("latin-1"), True),
            headers={k: v for k, v in headers.items() if k in ("host", "x-amz-target")},
            body=body.decode("utf-8", "replace") if is_json and body else None,
            status=status,
        )
        line = json.dumps(call.__dict__, ensure_ascii=False)
        with self._lock, self.log.open("a", encoding="utf-8") as out:
            out.write(line + "\n")

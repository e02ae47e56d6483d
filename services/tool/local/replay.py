"""A local HTTP server answering like B3's ``indexCall`` endpoints, from recorded bodies
(paged as B3 pages them), with scripted faults and outages: for the tests and ``bovespa demo``."""

from __future__ import annotations

import base64
import binascii
import functools
import json
import math
import socket
import threading
import time
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from services.pipeline import settings
from services.pipeline.b3 import preview, theoretical

#: The path of B3's calls, as the scraper's base URL has it (``/indexProxy/indexCall/``).
PREFIX = urlsplit(settings.B3_BASE_URL).path + "/"
#: The other calls it can answer, from the ``answers`` given for ``(call, index)``.
CALLS = (theoretical.CALL, preview.CALL, preview.CONFIGURATION_CALL)


@dataclass(frozen=True)
class Fault:
    """How to misanswer one request. Unset fields keep the real answer's value."""

    status: int | None = None
    body: bytes | None = None
    content_type: str | None = None
    delay: float = 0.0
    truncate: bool = False
    headers: Mapping[str, str] = field(default_factory=dict)
    #: Seconds between the body's bytes (a server that drips its answer).
    drip: float = 0.0
    #: Send only this many bytes of the body, then close the connection (the headers
    #: still announce the whole body): a connection cut mid-body.
    cut: int | None = None
    #: ``Transfer-Encoding: chunked`` instead of ``Content-Length``.
    chunked: bool = False


#: What ``bovespa demo`` replays, and the tests' default: a day of three indices, B3's
#: bodies of segments 1 and 2 built from B3's recorded CSV of the day
#: (``services/tool/recordings/b3/README.md``). IBRA's 179 assets are two B3 pages.
DEMO_RECORDINGS: dict[str, tuple[str, str]] = {
    index: (f"GetPortfolioDay_{index}_segment1_{day}_derived-from-csv.json",
            f"GetPortfolioDay_{index}_segment2_{day}_derived.json")
    for index, day in {"IBOV": "2025-07-10", "IBRA": "2021-06-22", "IBXX": "2024-11-12"}.items()
}  # fmt: skip
DEMO_INDICES = tuple(DEMO_RECORDINGS)

#: The demo's portfolio ahead: no recording of it matches the days above, so a second
#: execution scrapes IBOV on session 2022-12-08 (B3's body, its accents repaired), its
#: theoretical portfolio (B3's answer recorded on 2022-12-10, the session's cycle) and a
#: **synthetic** preview (no preview answer is recorded anywhere): that same theoretical
#: body, B3 saying it has one. Its rows keep the body's SHA-256, so the view
#: ``b3_next_rebalance`` calls it synthetic and names the portfolio it was made from.
DEMO_AHEAD_INDEX = "IBOV"


def demo_ahead() -> tuple[dict[tuple[str, str], Path], dict[tuple[str, str], Path | bytes]]:
    """The replay server's ``(cases, answers)`` for the demo's portfolio ahead."""
    recorded = settings.FIXTURES_DIR / "GetTheoricalPortfolio_IBOV_2022-12-10.json"
    index = DEMO_AHEAD_INDEX
    day = settings.FIXTURES_DIR / "GetPortfolioDay_IBOV_segment2_2022-12-08_repaired.json"
    answers: dict[tuple[str, str], Path | bytes] = {
        (theoretical.CALL, index): recorded,
        (preview.CALL, index): recorded,
        (preview.CONFIGURATION_CALL, index): json.dumps({"preview": [{"has": 1}]}).encode(),
    }
    return {(index, settings.B3_SEGMENT): day}, answers


def demo_cases(indices: tuple[str, ...] = DEMO_INDICES) -> dict[tuple[str, str], Path]:
    return {
        (index, segment): settings.FIXTURES_DIR / name
        for index in indices
        for segment, name in zip(("1", "2"), DEMO_RECORDINGS[index], strict=True)
    }


class ReplayServer:
    """A threaded ``http.server`` on 127.0.0.1 replaying recorded B3 bodies."""

    def __init__(
        self,
        cases: Mapping[tuple[str, str], Path | bytes] | None = None,
        *,
        answers: Mapping[tuple[str, str], Path | bytes] | None = None,
    ) -> None:
        self.cases = _read(cases if cases is not None else demo_cases())
        #: Bodies of the other :data:`CALLS`, by ``(call, index)``.
        self.answers = _read(answers or {})
        self.faults: deque[Fault] = deque()
        #: Index -> the fault every request for it gets (:meth:`outage`).
        self.outages: dict[str, Fault] = {}
        self.requests: list[dict[str, Any]] = []
        #: Body bytes handed to clients' connections so far, over every request.
        self.bytes_sent = 0
        #: The call of each request in :attr:`requests` (``GetPortfolioDay``...).
        self.called: list[str] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._server.daemon_threads = True

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/indexProxy/indexCall"

    def inject(self, *faults: Fault) -> None:
        """Answer the next ``len(faults)`` requests with these faults, in order."""
        with self._lock:
            self.faults.extend(faults)

    def serve(
        self,
        cases: Mapping[tuple[str, str], Path | bytes] | None = None,
        answers: Mapping[tuple[str, str], Path | bytes] | None = None,
    ) -> None:
        """Answer from these recordings from now on (added to, or replacing, the ones
        of the same keys): a second day for an index, without a new server address."""
        with self._lock:
            self.cases.update(_read(cases or {}))
            self.answers.update(_read(answers or {}))

    def outage(self, index: str, fault: Fault | None) -> None:
        """Answer every request for ``index`` with ``fault`` from now on (``None`` lifts it)."""
        with self._lock:
            self.outages.pop(index, None)
            if fault is not None:
                self.outages[index] = fault

    def __enter__(self) -> ReplayServer:
        # A short poll: shutdown() waits for it (0.5 s by default, most of a replay test's time).
        serve = functools.partial(self._server.serve_forever, poll_interval=0.05)
        threading.Thread(target=serve, daemon=True).start()
        return self

    def __exit__(self, *_: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _answer(self, path: str) -> tuple[str | None, int, str, bytes]:
        """The index asked for (if the request names one) and the real answer to ``path``."""
        call, _, token = path.removeprefix(PREFIX).partition("/")
        if not path.startswith(PREFIX) or call not in ("GetPortfolioDay", *CALLS):
            return None, 404, "application/json", b'{"message":"not found"}'
        try:
            params = json.loads(base64.b64decode(token, validate=True))
            index = str(params["index"])
            key = (index, str(params["segment"])) if call == "GetPortfolioDay" else (call, index)
            number, size = int(params["pageNumber"]), int(params["pageSize"])
        except (binascii.Error, ValueError, KeyError, TypeError):
            return None, 400, "application/json", b'{"message":"bad request"}'
        with self._lock:
            self.requests.append(params)
            self.called.append(call)
        recorded = self.cases if call == "GetPortfolioDay" else self.answers
        if key not in recorded:
            return index, 404, "application/json", b'{"message":"no recorded case"}'
        return index, 200, "application/json", page_of(recorded[key], number, size)

    def fault_for(self, index: str | None) -> Fault | None:
        """The fault the next answer gets: its index's outage, else the next scripted one."""
        with self._lock:
            if index is not None and index in self.outages:
                return self.outages[index]
            return self.faults.popleft() if self.faults else None

    def count_sent(self, n: int) -> None:
        with self._lock:
            self.bytes_sent += n


def _read(bodies: Mapping[tuple[str, str], Path | bytes]) -> dict[tuple[str, str], bytes]:
    return {k: v if isinstance(v, bytes) else Path(v).read_bytes() for k, v in bodies.items()}


def page_of(recorded: bytes, number: int, size: int) -> bytes:
    document = json.loads(recorded)
    if "page" not in document or not isinstance(document.get("results"), list):
        return recorded  # not a portfolio body (a look-alike): replay it as recorded
    results = document["results"]
    pages = max(1, math.ceil(len(results) / size))
    document["page"] = {"pageNumber": number, "pageSize": size, "totalRecords": len(results)}
    document["page"]["totalPages"] = pages
    document["results"] = results[(number - 1) * size : number * size]
    return json.dumps(document, ensure_ascii=False).encode("utf-8")


def _handler_for(server: ReplayServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            index, status, content_type, body = server._answer(self.path)
            fault = server.fault_for(index)
            if fault is not None:
                time.sleep(fault.delay)
                status = fault.status or status
                content_type = fault.content_type or content_type
                body = fault.body if fault.body is not None else body
                body = body[: len(body) // 2] if fault.truncate else body
            try:
                self.send_response(status)
                self.send_header("Content-Type", f"{content_type}; charset=utf-8")
                if fault is not None and fault.chunked:
                    self.send_header("Transfer-Encoding", "chunked")
                else:
                    self.send_header("Content-Length", str(len(body)))
                for name, value in (fault.headers if fault else {}).items():
                    self.send_header(name, value)
                self.end_headers()
                self._send_body(body, fault or Fault())
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (a timeout test): nothing to answer

        def _send_body(self, body: bytes, fault: Fault) -> None:
            sent = body if fault.cut is None else body[: fault.cut]
            step = 1 if fault.drip else max(len(sent), 1)
            for start in range(0, len(sent), step):
                piece = sent[start : start + step]
                # Counted before the write: a client can see a byte only once it is counted,
                # so a test reading the count after its client stopped sees every byte it got.
                server.count_sent(len(piece))
                if fault.chunked:
                    self.wfile.write(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
                else:
                    self.wfile.write(piece)
                if fault.drip:
                    time.sleep(fault.drip)
            if fault.cut is not None:
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_RDWR)
            elif fault.chunked:
                self.wfile.write(b"0\r\n\r\n")

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler

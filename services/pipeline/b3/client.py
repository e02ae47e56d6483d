"""HTTP client for B3's ``indexCall`` endpoints: every page, a retry policy, strict answers.

The request is ``GET <base>/<call>/<base64 of a JSON object>`` (``GetPortfolioDay``,
``GetTheoricalPortfolio``, ``GetQuartelyPreview``, ``GetConfigurations``); B3 answers JSON.
Transient failures (connection errors, a connection cut mid-body, timeouts, 429 and 5xx,
a body that is not JSON such as Cloudflare's HTML error pages) are retried by tenacity
with exponential backoff and full jitter (``wait_random_exponential``); a ``Retry-After``
header is honoured. JSON of the wrong shape, or a body that is not UTF-8, is not
transient: it fails at once as :class:`~services.pipeline.b3.errors.SchemaDrift`.

Every scrape is bounded (:class:`Limits`, defaults in :mod:`services.pipeline.settings`): pages
per call, bytes per body as received and decoded (the body is streamed in chunks and
inflated with a cap, so a gzip bomb is stopped at the cap without being inflated), and
one deadline for everything a client does (a client serves one scrape: the deadline
starts at its first request and covers every page, retry and wait). Redirects are refused.
"""

from __future__ import annotations

import base64
import contextlib
import http.client
import json
import logging
import os
import time
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, Protocol, TypeVar

import requests
import urllib3
from tenacity import (
    RetryCallState,
    RetryError,
    Retrying,
    retry_if_exception_type,
    wait_random_exponential,
)

from services.pipeline import settings
from services.pipeline.b3.codes import index_argument
from services.pipeline.b3.errors import (
    B3Redirect,
    B3Unavailable,
    BodyTooLarge,
    SchemaDrift,
    TooManyPages,
)
from services.pipeline.b3.portfolio import PageSource, Portfolio, assemble, decode_body, parse_page

log = logging.getLogger(__name__)

#: Bytes asked of the socket per read while streaming a body.
_CHUNK = 64 * 1024
_RETRYABLE_STATUS = frozenset({408, 425, 429}) | frozenset(range(500, 600))


class NumberedPage(Protocol):
    """What :meth:`B3Client.fetch_pages` needs of a parsed page."""

    @property
    def number(self) -> int: ...

    @property
    def total_pages(self) -> int: ...


P = TypeVar("P", bound=NumberedPage)


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to try: attempts per page, backoff bounds (seconds) and HTTP timeouts."""

    attempts: int = 5
    initial_wait: float = 1.0
    max_wait: float = 30.0
    connect_timeout: float = 5.0
    read_timeout: float = 30.0

    @classmethod
    def from_env(cls) -> RetryPolicy:
        """The default policy, with ``B3_ATTEMPTS`` overriding the attempts per page.

        In the scraper Lambda few attempts are made, so that longer outages are retried
        by the state machine, where they show in the execution history.
        """
        attempts = os.environ.get(settings.B3_ATTEMPTS_ENV)
        return cls(attempts=int(attempts)) if attempts else cls()


@dataclass(frozen=True)
class Limits:
    """The bounds of one scrape (see :mod:`services.pipeline.settings` for why these defaults)."""

    max_pages: int = settings.B3_MAX_PAGES
    max_wire_bytes: int = settings.B3_MAX_WIRE_BYTES
    max_body_bytes: int = settings.B3_MAX_BODY_BYTES
    deadline_seconds: float = settings.B3_SCRAPE_DEADLINE_SECONDS

    @classmethod
    def from_env(cls) -> Limits:
        """The defaults, with ``B3_DEADLINE_SECONDS`` overriding the scrape's deadline."""
        deadline = os.environ.get(settings.B3_DEADLINE_ENV)
        return cls(deadline_seconds=float(deadline)) if deadline else cls()


class _Deadline:
    """One point in time by which the whole scrape must be over."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.at = time.monotonic() + seconds

    def remaining(self) -> float:
        return self.at - time.monotonic()

    def passed(self, url: str) -> B3Unavailable:
        return B3Unavailable(
            f"B3 unavailable within the scrape's deadline of {self.seconds:g} s "
            f"(B3_SCRAPE_DEADLINE_SECONDS) at {url}"
        )


class _Transient(Exception):
    """A failure worth another attempt; ``retry_after`` is the server's hint, if any."""

    def __init__(self, reason: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.retry_after = retry_after


class B3Client:
    """Fetches one index's portfolio of the day, every page, and checks it."""

    def __init__(
        self,
        base_url: str | None = None,
        policy: RetryPolicy | None = None,
        session: requests.Session | None = None,
        limits: Limits | None = None,
    ) -> None:
        resolved = base_url or os.environ.get(settings.B3_BASE_URL_ENV) or settings.B3_BASE_URL
        self.base_url = resolved.rstrip("/")
        self.policy = policy or RetryPolicy.from_env()
        self.session = session or requests.Session()
        self.limits = limits or Limits.from_env()
        self._deadline: _Deadline | None = None
        self.session.headers.setdefault("Accept", "application/json")
        # Only what _Inflater decodes (requests would add br/zstd when their modules exist).
        self.session.headers["Accept-Encoding"] = "gzip, deflate"

    def url_for(self, index: str, page: int, page_size: int, segment: str) -> str:
        """The URL B3's own site requests for that page (parameters as base64 JSON)."""
        params = {
            "language": "pt-br",
            "pageNumber": page,
            "pageSize": page_size,
            "index": index,
            "segment": segment,
        }
        return self.call_url("GetPortfolioDay", params)

    def call_url(self, call: str, params: Mapping[str, object]) -> str:
        """``<base>/<call>/<base64 of the JSON params>``: how B3's site calls every endpoint."""
        token = base64.b64encode(json.dumps(params, separators=(",", ":")).encode()).decode()
        return f"{self.base_url}/{call}/{token}"

    def fetch_portfolio(
        self,
        index: str = settings.DEFAULT_INDEX,
        *,
        page_size: int = settings.B3_PAGE_SIZE,
        segment: str = settings.B3_SEGMENT,
    ) -> Portfolio:
        """Fetch every page of ``index``'s portfolio (following ``totalPages``) and check it."""
        index = check_index(index)
        fetched_at = datetime.now(UTC)
        pages, sources = self.fetch_pages(
            lambda number: self.url_for(index, number, page_size, segment), parse_page
        )
        return assemble(index, pages, sources, fetched_at, require_sector=segment == "2")

    def fetch_pages(
        self, url_of_page: Callable[[int], str], parse: Callable[[Any], P]
    ) -> tuple[list[P], list[PageSource]]:
        """Fetch page 1, 2, ... (``url_of_page(n)``) until the ``totalPages`` B3 states.

        ``parse`` turns one decoded body into a page (or raises); every page must be the
        one asked for. Returns the parsed pages and the bodies as received, in order.
        """
        pages: list[P] = []
        sources: list[PageSource] = []
        total_pages = 1
        while len(pages) < total_pages:
            number = len(pages) + 1
            url = url_of_page(number)
            source, document = self._fetch(url, number)
            page = parse(document)
            if page.number != number:
                raise SchemaDrift(f"asked for page {number}, B3 answered page {page.number}")
            if page.total_pages > self.limits.max_pages:
                raise TooManyPages(
                    f"B3 says there are {page.total_pages} pages (page {number} at {url}); "
                    f"at most {self.limits.max_pages} are fetched (B3_MAX_PAGES)"
                )
            total_pages = page.total_pages
            pages.append(page)
            sources.append(source)
        return pages, sources

    def fetch_one(self, url: str) -> tuple[PageSource, Any]:
        """One GET with the retry policy: the body as received and its decoded JSON."""
        return self._fetch(url, 1)

    def serving_session(
        self, index: str, *, segment: str = settings.B3_SEGMENT
    ) -> tuple[date, PageSource]:
        """The session whose portfolio B3 serves now, as ``GetPortfolioDay`` states it.

        Once a session has closed B3 already serves the next one, so the clock cannot say
        which session an answer belongs to; ``header.date`` does. One row is asked for
        (``pageSize`` 1): only the header is read. Returns the date and the body.
        """
        index = check_index(index)
        source, document = self.fetch_one(self.url_for(index, 1, 1, segment))
        return parse_page(document).header.trading_date, source

    @property
    def deadline(self) -> _Deadline:
        """The client's one deadline, started by its first request."""
        if self._deadline is None:
            self._deadline = _Deadline(self.limits.deadline_seconds)
        return self._deadline

    def _fetch(self, url: str, number: int) -> tuple[PageSource, Any]:
        deadline = self.deadline

        def stop(state: RetryCallState) -> bool:
            if state.attempt_number >= self.policy.attempts:
                return True
            return deadline.remaining() <= state.upcoming_sleep

        retrying = Retrying(
            stop=stop,
            wait=self._wait,
            retry=retry_if_exception_type(_Transient),
            before_sleep=self._log_retry,
        )
        try:
            body, document = retrying(self._get_once, url, deadline)
        except RetryError as exhausted:
            cause = exhausted.last_attempt.exception()
            attempts = exhausted.last_attempt.attempt_number
            if attempts < self.policy.attempts:
                raise B3Unavailable(
                    f"{deadline.passed(url)} ({attempts} attempts): {cause}"
                ) from cause
            raise B3Unavailable(
                f"B3 unavailable after {attempts} attempts at {url}: {cause}"
            ) from cause
        return PageSource(number=number, url=url, body=body), document

    def _get_once(self, url: str, deadline: _Deadline) -> tuple[bytes, Any]:
        remaining = deadline.remaining()
        if remaining <= 0:
            raise deadline.passed(url)
        timeout = (
            min(self.policy.connect_timeout, remaining),
            min(self.policy.read_timeout, remaining),
        )
        try:
            response = self.session.get(url, timeout=timeout, stream=True, allow_redirects=False)
        except requests.Timeout as error:
            raise _Transient(f"timed out ({type(error).__name__})") from error
        except requests.ConnectionError as error:
            raise _Transient(f"connection failed ({type(error).__name__})") from error
        with contextlib.closing(response):
            kind = response.headers.get("Content-Type", "?").split(";")[0]
            status = response.status_code
            if 300 <= status < 400:
                location = response.headers.get("Location", "(no Location header)")
                raise B3Redirect(
                    f"B3 answered HTTP {status} at {url}, redirecting to {location}; "
                    "redirects are not followed"
                )
            if status in _RETRYABLE_STATUS:
                raise _Transient(f"HTTP {status} ({kind})", _retry_after(response.headers))
            if status != 200:
                raise B3Unavailable(f"B3 answered HTTP {status} ({kind}) at {url}")
            body = self._read_body(response, url, deadline)
        try:
            document = decode_body(body)
        except ValueError as error:
            raise _Transient(
                f"HTTP 200 but the {len(body)}-byte body ({kind}) is not JSON"
            ) from error
        return body, document

    def _read_body(self, response: requests.Response, url: str, deadline: _Deadline) -> bytes:
        """The body, streamed in chunks, inflated with a cap, cut at the deadline."""
        limits = self.limits
        declared = response.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > limits.max_wire_bytes:
            raise BodyTooLarge(
                f"B3's body at {url} declares {declared} bytes; at most "
                f"{limits.max_wire_bytes} are read (B3_MAX_WIRE_BYTES)"
            )
        inflater = _Inflater(response.headers.get("Content-Encoding", ""), limits, url)
        raw: urllib3.HTTPResponse = response.raw
        received = 0
        try:
            while True:
                remaining = deadline.remaining()
                if remaining <= 0:
                    raise deadline.passed(url)
                _socket_timeout(raw, min(self.policy.read_timeout, remaining))
                chunk = raw.read1(_CHUNK, decode_content=False)
                if not chunk:
                    break
                received += len(chunk)
                if received > limits.max_wire_bytes:
                    raise BodyTooLarge(
                        f"B3's body at {url} passed {limits.max_wire_bytes} bytes as received "
                        "(B3_MAX_WIRE_BYTES)"
                    )
                inflater.feed(chunk)
            return inflater.finish()
        except (urllib3.exceptions.HTTPError, http.client.HTTPException, OSError) as error:
            if deadline.remaining() <= 0:
                raise deadline.passed(url) from error
            raise _Transient(
                f"connection cut after {received} bytes of the body ({type(error).__name__})"
            ) from error

    def _wait(self, state: RetryCallState) -> float:
        backoff = wait_random_exponential(
            multiplier=self.policy.initial_wait, max=self.policy.max_wait
        )(state)
        error = state.outcome.exception() if state.outcome else None
        if isinstance(error, _Transient) and error.retry_after is not None:
            return min(max(error.retry_after, backoff), self.policy.max_wait)
        return backoff

    @staticmethod
    def _log_retry(state: RetryCallState) -> None:
        error = state.outcome.exception() if state.outcome else None
        log.warning("B3 attempt %d failed: %s; retrying", state.attempt_number, error)


def check_index(index: str) -> str:
    """``index`` upper-cased, or :class:`~services.pipeline.errors.BadArgument` unless it is a B3
    index code (:func:`services.pipeline.b3.codes.index_argument`)."""
    return index_argument(index)


def _retry_after(headers: requests.structures.CaseInsensitiveDict[str]) -> float | None:
    value = headers.get("Retry-After", "")
    return float(value) if value.isdigit() else None


class _Inflater:
    """Decodes a body's ``Content-Encoding`` chunk by chunk, never past the decoded cap."""

    def __init__(self, encoding: str, limits: Limits, url: str) -> None:
        self.encoding = encoding.strip().lower() or "identity"
        self.limit = limits.max_body_bytes
        self.url = url
        self.body = bytearray()
        if self.encoding == "identity":
            self._zlib = None
        elif self.encoding in {"gzip", "x-gzip", "deflate"}:
            self._zlib = zlib.decompressobj(32 + zlib.MAX_WBITS)  # gzip or zlib header
        else:
            raise SchemaDrift(
                f"B3's body at {url} has Content-Encoding {encoding!r}, which is not decoded"
            )

    def feed(self, data: bytes) -> None:
        if self._zlib is None:
            self._append(data)
            return
        try:
            while data:
                # Never more than one byte past the cap: a bomb is not inflated.
                self._append(self._zlib.decompress(data, self.limit - len(self.body) + 1))
                data = self._zlib.unconsumed_tail
        except zlib.error as error:
            raise _Transient(f"the {self.encoding} body does not inflate ({error})") from error

    def finish(self) -> bytes:
        if self._zlib is not None:
            self._append(self._zlib.flush(self.limit - len(self.body) + 1))
            if not self._zlib.eof:
                raise _Transient(f"the {self.encoding} body ended before its end of stream")
        return bytes(self.body)

    def _append(self, data: bytes) -> None:
        if len(self.body) + len(data) > self.limit:
            raise BodyTooLarge(
                f"B3's body at {self.url} passed {self.limit} bytes decoded "
                f"({self.encoding}; B3_MAX_BODY_BYTES)"
            )
        self.body += data


def _socket_timeout(raw: urllib3.HTTPResponse, seconds: float) -> None:
    """Bound the next read of ``raw``'s socket by ``seconds`` (the deadline's remainder)."""
    connection = getattr(raw, "connection", None)
    sock = getattr(connection, "sock", None)
    if sock is not None:
        sock.settimeout(max(seconds, 0.001))

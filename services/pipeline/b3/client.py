"""HTTP client for B3's ``indexCall`` endpoints: every page, retried, bounded, strict.

Transient failures (connection errors and cuts, timeouts, 429 and 5xx, a body that is not
JSON such as Cloudflare's HTML pages) are retried with jittered backoff, honouring
``Retry-After``. One deadline covers every page, retry, wait and socket read; pages and
bytes (as received and decoded) are bounded by :class:`Limits`. Redirects are refused.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import re
import time
import zlib
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from functools import partial
from typing import Any

import requests
import urllib3
from tenacity import (
    RetryCallState,
    RetryError,
    Retrying,
    before_sleep_log,
    retry_if_exception_type,
    stop_after_attempt,
    stop_before_delay,
    wait_random_exponential,
)
from urllib3.response import ContentDecoder, DeflateDecoder, GzipDecoder

from services.pipeline import settings
from services.pipeline.b3 import preview, theoretical
from services.pipeline.b3.codes import index_argument
from services.pipeline.b3.cycles import cycle_of
from services.pipeline.b3.errors import (
    B3Redirect,
    B3Unavailable,
    BodyTooLarge,
    EmptyPortfolio,
    SchemaDrift,
    TooManyPages,
)
from services.pipeline.b3.portfolio import (
    H,
    Header,
    Page,
    PageSource,
    Portfolio,
    assemble,
    decode_body,
    join,
    parse_page,
    parse_totals_page,
)
from services.pipeline.lake.datasets import PREVIEW, Dataset
from services.pipeline.validate.errors import TooManyRows

log = logging.getLogger(__name__)

#: Bytes per socket read, and per inflation step (deflate inflates 1032:1 at most; not by
#: ``max_length``: urllib3 2.8's GzipDecoder repeats a gzip member ending where a step does).
_CHUNK, _STEP = 64 * 1024, 256
#: urllib3's own decoders, for the Content-Encodings asked for (``Accept-Encoding``).
_DECODERS: Mapping[str, Callable[[], ContentDecoder | None]] = {
    "identity": lambda: None,
    "gzip": GzipDecoder,
    "x-gzip": GzipDecoder,
    "deflate": DeflateDecoder,
}
#: A JSON integer past Python's int limit (4,300 digits), after its key if it has one.
_LONG_INT = re.compile(rb'(?:"((?:[^"\\]|\\.){0,200})"\s*:\s*)?-?(\d{4301,})')
_RETRYABLE_STATUS = frozenset({408, 425, 429}) | frozenset(range(500, 600))


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to try: attempts per page, backoff bounds (seconds) and HTTP timeouts."""

    attempts: int = 5
    initial_wait: float = 1.0
    max_wait: float = 30.0
    connect_timeout: float = 5.0
    read_timeout: float = 30.0


@dataclass(frozen=True)
class Limits:
    """The bounds of one scrape (defaults in :mod:`services.pipeline.settings`)."""

    max_pages: int = settings.B3_MAX_PAGES
    max_wire_bytes: int = settings.B3_MAX_WIRE_BYTES
    max_body_bytes: int = settings.B3_MAX_BODY_BYTES
    deadline_seconds: float = settings.B3_SCRAPE_DEADLINE_SECONDS
    max_rows: int = settings.MAX_RAW_ROWS


class _Transient(Exception):
    """A failure worth another attempt; ``retry_after`` is the server's hint, if any."""

    def __init__(self, reason: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.retry_after = retry_after


class B3Client:
    def __init__(
        self, base_url: str | None = None, policy: RetryPolicy | None = None,
        limits: Limits | None = None,
    ) -> None:  # fmt: skip
        resolved = base_url or os.environ.get(settings.B3_BASE_URL_ENV) or settings.B3_BASE_URL
        self.base_url = resolved.rstrip("/")
        self.policy = policy or RetryPolicy()
        self.session = requests.Session()
        self.limits = limits or Limits()
        self._deadline: float | None = None  # time.monotonic() when the scrape must be over
        self.session.headers.setdefault("Accept", "application/json")
        # Only what _DECODERS decode (requests would add br/zstd when their modules exist).
        self.session.headers["Accept-Encoding"] = "gzip, deflate"

    def page_url(self, call: str, index: str, page: int, page_size: int, **extra: str) -> str:
        """``<base>/<call>/<base64 of the JSON params>``, as B3's own site asks for a page."""
        params = {"language": "pt-br", "pageNumber": page, "pageSize": page_size, "index": index}
        text = json.dumps({**params, **extra}, separators=(",", ":"))
        return f"{self.base_url}/{call}/{base64.b64encode(text.encode()).decode()}"

    def fetch_portfolio(
        self, index: str = settings.DEFAULT_INDEX, *, page_size: int = settings.B3_PAGE_SIZE
    ) -> Portfolio:
        index, fetched_at = index_argument(index), datetime.now(UTC)
        call = "GetPortfolioDay"
        segment = settings.B3_SEGMENT
        pages, sources = self.fetch_pages(call, index, page_size, parse_page, segment=segment)
        return assemble(index, pages, sources, fetched_at)

    def fetch_ahead(
        self, dataset: Dataset, index: str, *, page_size: int = settings.B3_PAGE_SIZE
    ) -> Portfolio | preview.NoPreview:
        """Ask B3 which session it serves (the clock cannot say; one row is asked for) and,
        for a preview, whether one is current; then fetch every page of ``dataset``. The
        theoretical portfolio is of that session's cycle, a preview of the next."""
        index, fetched_at = index_argument(index), datetime.now(UTC)
        url = self.page_url("GetPortfolioDay", index, 1, 1, segment=settings.B3_SEGMENT)
        source, document = self._fetch(url, 1)
        session, answers = parse_page(document).header, {"session": source}
        contract, cycle = theoretical.CONTRACT, cycle_of(session.trading_date)
        if dataset is PREVIEW:
            url = self.page_url(preview.CONFIGURATION_CALL, index, 1, page_size)
            answers["configuration"], document = self._fetch(url, 1)
            if (reason := preview.why_not_current(document, session.trading_date)) is not None:
                return preview.NoPreview(index, session.trading_date, reason, answers, fetched_at)
            contract, cycle = preview.CONTRACT, cycle.next()
        parse = partial(parse_totals_page, contract=contract)
        pages, sources = self.fetch_pages(contract.call, index, page_size, parse)
        totals, total_records, assets = join(pages)
        header = Header(**{**asdict(session), **asdict(totals)})  # the session's date
        return Portfolio(
            index, header, total_records, assets, tuple(sources), fetched_at, dataset, cycle,
            answers,
        )  # fmt: skip

    def fetch_pages(
        self, call: str, index: str, page_size: int, parse: Callable[[Any], Page[H]], **extra: str
    ) -> tuple[list[Page[H]], list[PageSource]]:
        """Fetch page 1, 2, ... of ``totalPages``, each parsed by ``parse``, up to each bound."""
        pages: list[Page[H]] = []
        sources: list[PageSource] = []
        rows = 0
        while not pages or len(pages) < pages[-1].total_pages:
            number = len(pages) + 1
            url = self.page_url(call, index, number, page_size, **extra)
            source, document = self._fetch(url, number)
            try:
                page = parse(document)
            except EmptyPortfolio:
                if not pages:
                    raise
                raise SchemaDrift(
                    f"page {number} at {url} has no assets after {rows} rows on pages 1-"
                    f"{len(pages)} of {pages[-1].total_pages}: B3's paging is inconsistent"
                ) from None
            rows += len(page.assets)
            if max(rows, page.total_records) > self.limits.max_rows:
                raise TooManyRows(
                    f"B3's answer has {max(rows, page.total_records)} rows (page {number} at "
                    f"{url}); at most {self.limits.max_rows} are scraped (MAX_RAW_ROWS)"
                )
            if page.number != number:
                raise SchemaDrift(f"asked for page {number}, B3 answered page {page.number}")
            if page.total_pages > self.limits.max_pages:
                raise TooManyPages(
                    f"B3 says there are {page.total_pages} pages (page {number} at {url}); "
                    f"at most {self.limits.max_pages} are fetched (B3_MAX_PAGES)"
                )
            pages.append(page)
            sources.append(source)
        return pages, sources

    def _remaining(self, url: str) -> float:
        """Seconds left of the client's one deadline (started by its first request)."""
        if self._deadline is None:
            self._deadline = time.monotonic() + self.limits.deadline_seconds
        remaining = self._deadline - time.monotonic()
        if remaining <= 0:
            raise B3Unavailable(self._late(url))
        return remaining

    def _late(self, url: str) -> str:
        seconds = self.limits.deadline_seconds
        return f"B3 unavailable within the scrape's deadline of {seconds:g} s at {url}"

    def _fetch(self, url: str, number: int) -> tuple[PageSource, Any]:
        attempts = self.policy.attempts
        retrying = Retrying(  # no attempt, nor wait before one, goes past the deadline
            stop=stop_after_attempt(attempts) | stop_before_delay(self._remaining(url)),
            wait=self._wait,
            retry=retry_if_exception_type(_Transient),
            before_sleep=before_sleep_log(log, logging.WARNING),
        )
        try:
            body, document = retrying(self._get_once, url)
        except RetryError as exhausted:
            cause = exhausted.last_attempt.exception()
            made = exhausted.last_attempt.attempt_number
            reason = (
                f"{self._late(url)} ({made} attempts)"
                if made < attempts
                else f"B3 unavailable after {made} attempts at {url}"
            )
            raise B3Unavailable(f"{reason}: {cause}") from cause
        return PageSource(number=number, url=url, body=body), document

    def _get_once(self, url: str) -> tuple[bytes, Any]:
        remaining = self._remaining(url)
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
        with response:
            kind = response.headers.get("Content-Type", "?").split(";")[0]
            status = response.status_code
            if 300 <= status < 400:
                location = response.headers.get("Location", "(no Location header)")
                raise B3Redirect(
                    f"B3 answered HTTP {status} at {url}, redirecting to {location}; "
                    "redirects are not followed"
                )
            if status in _RETRYABLE_STATUS:
                wait = response.headers.get("Retry-After", "")
                raise _Transient(f"HTTP {status} ({kind})", float(wait) if wait.isdigit() else None)
            if status != 200:
                raise B3Unavailable(f"B3 answered HTTP {status} ({kind}) at {url}")
            body = self._read_body(response, url)
        try:
            document = decode_body(body)
        except ValueError as error:
            if long := _LONG_INT.search(body):  # json's ValueError, but not "not JSON"
                name, digits = (long[1] or b"?").decode(errors="replace"), len(long[2])
                raise SchemaDrift(f"field {name!r} at {url}: a number of {digits} digits") from None
            raise _Transient(
                f"HTTP 200 but the {len(body)}-byte body ({kind}) is not JSON"
            ) from error
        return body, document

    def _read_body(self, response: requests.Response, url: str) -> bytes:
        """The body, read and inflated one bounded chunk at a time, cut at each bound (not
        ``read1(decode_content=True)``: it reads until the decoder gives output)."""
        limits = self.limits
        declared = response.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > limits.max_wire_bytes:
            raise BodyTooLarge(
                f"B3's body at {url} declares {declared} bytes; at most "
                f"{limits.max_wire_bytes} are read (B3_MAX_WIRE_BYTES)"
            )
        encoding = response.headers.get("Content-Encoding", "").strip().lower() or "identity"
        if encoding not in _DECODERS:
            raise SchemaDrift(
                f"B3's body at {url} has Content-Encoding {encoding!r}, which is not decoded"
            )
        decoder = _DECODERS[encoding]()
        raw: urllib3.HTTPResponse = response.raw
        body = bytearray()
        try:
            while True:
                # Each socket read waits at most what is left of the deadline, and is
                # counted against the wire cap before it is inflated.
                timeout = min(self.policy.read_timeout, self._remaining(url))
                if raw.connection is not None and raw.connection.sock is not None:
                    raw.connection.sock.settimeout(timeout)
                data = raw.read1(_CHUNK, decode_content=False)
                if not data:
                    return bytes(body)
                if raw.tell() > limits.max_wire_bytes:
                    raise BodyTooLarge(
                        f"B3's body at {url} passed {limits.max_wire_bytes} bytes as received "
                        "(B3_MAX_WIRE_BYTES)"
                    )
                for start in range(0, len(data), _STEP):  # a bomb is cut before it inflates
                    piece = data[start : start + _STEP]
                    body += decoder.decompress(piece) if decoder else piece
                    if len(body) > limits.max_body_bytes:
                        raise BodyTooLarge(
                            f"B3's body at {url} passed {limits.max_body_bytes} bytes decoded "
                            f"({encoding}; B3_MAX_BODY_BYTES)"
                        )
        except zlib.error as error:
            raise _Transient(f"the {encoding} body does not inflate ({error})") from error
        except (urllib3.exceptions.HTTPError, OSError) as error:
            self._remaining(url)  # a read cut by the deadline is the deadline's error
            raise _Transient(
                f"connection cut after {raw.tell()} bytes of the body ({type(error).__name__})"
            ) from error

    def _wait(self, state: RetryCallState) -> float:
        backoff = wait_random_exponential(
            multiplier=self.policy.initial_wait, max=self.policy.max_wait
        )(state)
        error = state.outcome.exception() if state.outcome else None
        if isinstance(error, _Transient) and error.retry_after is not None:
            return min(max(error.retry_after, backoff), self.policy.max_wait)
        return backoff

"""HTTP client for B3's ``indexCall`` endpoints: every page, a retry policy, strict answers.

The request is ``GET <base>/<call>/<base64 of a JSON object>`` (``GetPortfolioDay``,
``GetTheoricalPortfolio``, ``GetQuartelyPreview``, ``GetConfigurations``); B3 answers JSON.
Transient failures (connection errors, timeouts, 429 and 5xx, a body that is not JSON
such as Cloudflare's HTML error pages) are retried by tenacity with exponential backoff
and full jitter (``wait_random_exponential``); a ``Retry-After`` header is honoured.
JSON of the wrong shape is not transient: it fails at once as
:class:`~services.b3.errors.SchemaDrift`.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, Protocol, TypeVar

import requests
from tenacity import (
    RetryCallState,
    RetryError,
    Retrying,
    retry_if_exception_type,
    stop_after_attempt,
    wait_random_exponential,
)

from services import settings
from services.b3.errors import B3Unavailable, SchemaDrift
from services.b3.portfolio import PageSource, Portfolio, assemble, decode_body, parse_page

log = logging.getLogger(__name__)

_INDEX_CODE = re.compile(r"[A-Z0-9]{2,8}")
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
    ) -> None:
        resolved = base_url or os.environ.get(settings.B3_BASE_URL_ENV) or settings.B3_BASE_URL
        self.base_url = resolved.rstrip("/")
        self.policy = policy or RetryPolicy.from_env()
        self.session = session or requests.Session()
        self.session.headers.setdefault("Accept", "application/json")

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
            source, document = self._fetch(url_of_page(number), number)
            page = parse(document)
            if page.number != number:
                raise SchemaDrift(f"asked for page {number}, B3 answered page {page.number}")
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

    def _fetch(self, url: str, number: int) -> tuple[PageSource, Any]:
        retrying = Retrying(
            stop=stop_after_attempt(self.policy.attempts),
            wait=self._wait,
            retry=retry_if_exception_type(_Transient),
            before_sleep=self._log_retry,
        )
        try:
            body, document = retrying(self._get_once, url)
        except RetryError as exhausted:
            cause = exhausted.last_attempt.exception()
            raise B3Unavailable(
                f"B3 unavailable after {self.policy.attempts} attempts at {url}: {cause}"
            ) from cause
        return PageSource(number=number, url=url, body=body), document

    def _get_once(self, url: str) -> tuple[bytes, Any]:
        try:
            response = self.session.get(
                url, timeout=(self.policy.connect_timeout, self.policy.read_timeout)
            )
        except requests.Timeout as error:
            raise _Transient(f"timed out ({type(error).__name__})") from error
        except requests.ConnectionError as error:
            raise _Transient(f"connection failed ({type(error).__name__})") from error
        kind = response.headers.get("Content-Type", "?").split(";")[0]
        if response.status_code in _RETRYABLE_STATUS:
            raise _Transient(
                f"HTTP {response.status_code} ({kind})", _retry_after(response.headers)
            )
        if response.status_code != 200:
            raise B3Unavailable(f"B3 answered HTTP {response.status_code} ({kind}) at {url}")
        try:
            document = decode_body(response.content)
        except ValueError as error:
            raise _Transient(
                f"HTTP 200 but the {len(response.content)}-byte body ({kind}) is not JSON"
            ) from error
        return response.content, document

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
    """``index`` upper-cased, or :class:`ValueError` unless it is 2-8 letters or digits."""
    code = index.strip().upper()
    if not _INDEX_CODE.fullmatch(code):
        raise ValueError(f"index code {index!r} is not 2-8 letters or digits (e.g. IBOV)")
    return code


def _retry_after(headers: requests.structures.CaseInsensitiveDict[str]) -> float | None:
    value = headers.get("Retry-After", "")
    return float(value) if value.isdigit() else None

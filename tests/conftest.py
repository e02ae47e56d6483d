"""Fixtures shared by every kind of test: the recorded B3 bodies and a replay server."""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from services import settings
from services.b3.client import RetryPolicy
from services.local.replay import ReplayServer

FIXTURES = settings.FIXTURES_DIR
SEGMENT2_2025_07_10 = FIXTURES / "GetPortfolioDay_IBOV_segment2_2025-07-10_derived.json"
SEGMENT2_2022_12_08 = FIXTURES / "GetPortfolioDay_IBOV_segment2_2022-12-08.json"
SEGMENT1_2025_07_10 = FIXTURES / "GetPortfolioDay_IBOV_segment1_2025-07-10_derived-from-csv.json"
RESULTS_ONLY_2025_07_13 = FIXTURES / "GetPortfolioDay_IBOV_segment1_results-only_2025-07-13.json"
LOOK_ALIKE = FIXTURES / "NOT-a-portfolio_indexStatisticsProxy_GetPortfolioDay_IBOV_year2022.json"
CLOUDFLARE_520 = FIXTURES / "error_cloudflare-520_2025-08-02.html"

#: Retries as in production, but milliseconds apart, and a short read timeout.
FAST = RetryPolicy(attempts=4, initial_wait=0.01, max_wait=0.05, read_timeout=1.0)


def load(path: Path) -> Any:
    return json.loads(path.read_bytes())


def pt_br(text: str) -> Decimal:
    """Independent reading of a B3 number string, for expected values in tests."""
    return Decimal(text.replace(".", "").replace(",", "."))


@pytest.fixture
def replay() -> Iterator[ReplayServer]:
    """A replay server with the 2025-07-10 IBOV case (segments 1 and 2)."""
    with ReplayServer() as server:
        yield server


@pytest.fixture
def replay_2022() -> Iterator[ReplayServer]:
    """A replay server with the real segment-2 recording of 2022-12-08."""
    with ReplayServer({("IBOV", "2"): SEGMENT2_2022_12_08}) as server:
        yield server


@pytest.fixture(scope="session")
def spark() -> Iterator[Any]:
    """One quiet local Spark session for the whole run (the job reuses it)."""
    from glue.spark import local_session

    session = local_session("bovespa-tests")
    yield session
    session.stop()

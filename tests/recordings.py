"""The recorded B3 bodies the tests read (``services/tool/recordings/b3``), how to read them, and
the client's retry policy made fast for the replay server."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

from services.pipeline import settings
from services.pipeline.b3.client import RetryPolicy

FIXTURES = settings.FIXTURES_DIR
SEGMENT2_2025_07_10 = FIXTURES / "GetPortfolioDay_IBOV_segment2_2025-07-10_derived.json"
SEGMENT2_2022_12_08 = FIXTURES / "GetPortfolioDay_IBOV_segment2_2022-12-08_repaired.json"
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

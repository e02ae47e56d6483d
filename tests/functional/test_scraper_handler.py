"""The scraper Lambda's handler, run as Lambda runs it (environment, event, context)
against a local HTTP server replaying B3's recordings, into a local lake, on 2022-12-08."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import time_machine

from services.pipeline import settings
from services.pipeline.b3.indices import UnknownIndex
from services.pipeline.scraper.handler import UnknownDataset, handler
from services.tool.local.replay import ReplayServer
from tests.ahead import SEGMENT2_2022_12_08, THEORETICAL_2022, configuration


@pytest.fixture
def lambda_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The Lambda's environment: the lake, B3's address (a replay of 2022-12-08's
    recordings; no GetConfigurations answer is recorded: it is made), one try per page."""
    answers = {
        ("GetTheoricalPortfolio", "IBOV"): THEORETICAL_2022,
        ("GetConfigurations", "IBOV"): configuration(0),
    }
    with ReplayServer({("IBOV", "2"): SEGMENT2_2022_12_08}, answers=answers) as server:
        monkeypatch.setenv(settings.LAKE_URI_ENV, str(tmp_path))
        monkeypatch.setenv(settings.B3_BASE_URL_ENV, server.base_url)
        monkeypatch.setenv(settings.B3_ATTEMPTS_ENV, "1")
        with time_machine.travel(datetime.fromisoformat("2022-12-08T20:00:00-03:00")):
            yield tmp_path


class Context:
    """What the handler reads of Lambda's context: the invocation's remaining time."""

    def get_remaining_time_in_millis(self) -> int:
        return 300_000


def invoke(event: dict[str, Any]) -> dict[str, Any]:
    return handler(event, Context())


def test_the_day_is_the_default_dataset_and_an_alias_b3s_code(lambda_env: Path) -> None:
    summary = invoke({"index": "ibovespa"})
    assert (summary["index"], summary["dt"], summary["rows"]) == ("IBOV", "2022-12-08", 92)
    assert (lambda_env / "raw/index=IBOV/dt=2022-12-08/portfolio.parquet").is_file()


def test_each_dataset_ahead_lands_under_its_own_prefix_with_a_status(lambda_env: Path) -> None:
    theoretical = invoke({"index": "IBOV", "dataset": "theoretical"})
    assert {k: theoretical[k] for k in ("dataset", "dt", "rows", "status", "cycle")} == {
        "dataset": "theoretical",
        "dt": "2022-12-08",
        "rows": 92,
        "status": "stored",
        "cycle": "2022-09",
    }
    assert theoretical["uri"] == str(
        lambda_env / "raw-theoretical/index=IBOV/dt=2022-12-08/theoretical.parquet"
    )
    # "no preview now" is a summary, not an error: the Map's iteration goes on
    preview = invoke({"index": "IBOV", "dataset": "preview"})
    assert (preview["dataset"], preview["status"], preview["rows"]) == ("preview", "none", 0)
    assert (lambda_env / "raw-preview/index=IBOV/dt=2022-12-08/_no-preview.json").is_file()
    assert not (lambda_env / "raw/index=IBOV").exists()  # the day's raw/ is not touched


@pytest.mark.parametrize(
    ("event", "error", "message"),
    [
        ({"index": "IBOV", "dataset": "quarterly"}, UnknownDataset,
         "dataset 'quarterly' is not one the scraper fetches (day, theoretical, preview)"),
        ({"index": "XPTO"}, UnknownIndex, "unknown B3 index code 'XPTO'"),
    ],
)  # fmt: skip
def test_a_bad_event_fails_at_once_naming_its_error(
    lambda_env: Path, event: dict[str, Any], error: type[Exception], message: str
) -> None:
    with pytest.raises(error) as raised:
        invoke(event)
    assert str(raised.value).startswith(message)
    assert list(lambda_env.iterdir()) == []

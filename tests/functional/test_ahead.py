"""Theoretical portfolio and preview scraped from a real local HTTP server into a local lake.

The theoretical answers are recordings (2022) or derived from one (2025, from B3's CSV); the
preview and configuration bodies are made from them (``tests/ahead.py``).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from services.pipeline.b3.errors import QuantityTotalMismatch
from services.pipeline.b3.preview import UNVERIFIED
from services.pipeline.scraper.scrape import scrape
from services.tool.local.deploy import served_at
from services.tool.local.replay import Fault, ReplayServer
from services.tool.local.samples import redate_body
from tests.ahead import (
    SEGMENT2_2022_12_08,
    THEORETICAL_2022,
    THEORETICAL_2025_01,
    configuration,
    preview_body,
)
from tests.functional.test_cli import bovespa
from tests.lakes import files_in
from tests.recordings import FAST, SEGMENT2_2025_07_10, load, pt_br

THEORETICAL_2022_KEY = "raw-theoretical/index=IBOV/dt=2022-12-08/theoretical.parquet"
PREVIEW_DAY = date(2024, 12, 16)  # in December: the preview weeks of Jan.-Apr. 2025
PREVIEW_KEY = "raw-preview/index=IBOV/dt=2024-12-16/preview.parquet"
MARKER_KEY = "raw-preview/index=IBOV/dt=2024-12-16/_no-preview.json"


def server(day: Path | bytes, **answers: Path | bytes) -> ReplayServer:
    return ReplayServer({("IBOV", "2"): day}, answers={(c, "IBOV"): b for c, b in answers.items()})


@pytest.fixture
def replay_theoretical_2022() -> Iterator[ReplayServer]:
    """Every answer real: the day of 2022-12-08 and the theoretical portfolio of Sep.-Dec."""
    with server(SEGMENT2_2022_12_08, GetTheoricalPortfolio=THEORETICAL_2022) as replay:
        yield replay


def theoretical(replay: ReplayServer, lake: Path, dataset: str = "theoretical") -> dict[str, Any]:
    now = served_at(replay.cases["IBOV", "2"])
    return scrape(
        "IBOV", dataset=dataset, lake_uri=str(lake), base_url=replay.base_url, policy=FAST, now=now
    )


def preview(replay: ReplayServer, lake: Path) -> dict[str, Any]:
    return theoretical(replay, lake, "preview")


def test_the_real_2022_theoretical_portfolio_lands_exactly(
    replay_theoretical_2022: ReplayServer, tmp_path: Path
) -> None:
    summary = theoretical(replay_theoretical_2022, tmp_path)
    # dt: the session B3's GetPortfolioDay served
    expected = {"dataset": "theoretical", "index": "IBOV", "cycle": "2022-09", "rows": 92,
                "pages": 1, "dt": "2022-12-08"}  # fmt: skip
    assert {k: summary[k] for k in expected} == expected
    assert replay_theoretical_2022.called == ["GetPortfolioDay", "GetTheoricalPortfolio"]
    assert replay_theoretical_2022.requests[0]["pageSize"] == 1  # only the header is needed
    table = pq.read_table(tmp_path / THEORETICAL_2022_KEY)
    recorded = load(THEORETICAL_2022)
    rows = table.to_pylist()
    assert [
        (r["cod"], r["asset"], r["type"], r["cont"], r["part"], r["theoricalQty"],
         r["header_reductor"], r["cycle"]) for r in rows
    ] == [
        (r["cod"], r["asset"], r["type"], r["cont"], pt_br(r["part"]), pt_br(r["theoricalQty"]),
         pt_br(recorded["header"]["reductor"]), "2022-09") for r in recorded["results"]
    ]  # fmt: skip
    assert sum(r["theoricalQty"] for r in rows) == rows[0]["header_theoricalQty"] == 99_273_271_525
    assert sum(r["part"] for r in rows) == Decimal("100.000")
    assert str(table.schema.field("part").type) == "decimal128(7, 3)"
    assert table.schema.metadata[b"bovespa.cycle"] == b"2022-09"
    partition = "raw-theoretical/index=IBOV/dt=2022-12-08"
    assert files_in(tmp_path) == [
        f"{partition}/_b3-response-page-001.json", f"{partition}/_b3-response-session.json",
        THEORETICAL_2022_KEY,
    ]  # fmt: skip
    archived = tmp_path / partition / "_b3-response-page-001.json"
    assert json.loads(archived.read_bytes())["results"] == recorded["results"]
    assert {r["body_sha256"] for r in rows} == {hashlib.sha256(archived.read_bytes()).hexdigest()}
    session = json.loads((tmp_path / partition / "_b3-response-session.json").read_bytes())
    assert session["header"]["date"] == "08/12/22"


def test_retried_faults_and_refused_totals(
    replay_theoretical_2022: ReplayServer, tmp_path: Path
) -> None:
    replay_theoretical_2022.inject(Fault(), Fault(status=503, body=b"busy"))
    assert theoretical(replay_theoretical_2022, tmp_path)["rows"] == 92
    before = {name: (tmp_path / name).read_bytes() for name in files_in(tmp_path)}
    broken = load(THEORETICAL_2022)
    broken["results"][0]["theoricalQty"] = "4.386.652.507"
    replay_theoretical_2022.answers[("GetTheoricalPortfolio", "IBOV")] = json.dumps(broken).encode()
    with pytest.raises(QuantityTotalMismatch, match="off by 1"):
        theoretical(replay_theoretical_2022, tmp_path)
    assert {name: (tmp_path / name).read_bytes() for name in files_in(tmp_path)} == before


def preview_server(has: tuple[int, ...], day: date = PREVIEW_DAY, **answers: bytes) -> ReplayServer:
    defaults = {"GetConfigurations": configuration(*has),
                "GetQuartelyPreview": preview_body(THEORETICAL_2025_01)}  # fmt: skip
    return server(redate_body(SEGMENT2_2025_07_10.read_bytes(), day), **{**defaults, **answers})


def test_a_current_preview_is_stored_for_the_next_cycle(tmp_path: Path) -> None:
    with preview_server((0, 1)) as replay:
        summary = preview(replay, tmp_path)
        assert replay.called == ["GetPortfolioDay", "GetConfigurations", "GetQuartelyPreview"]
    expected = {"dataset": "preview", "dt": "2024-12-16", "status": "stored",
                "target_cycle": "2025-01", "rows": 87, "contract": UNVERIFIED}  # fmt: skip
    assert {k: summary[k] for k in expected} == expected
    table = pq.read_table(tmp_path / PREVIEW_KEY)
    assert table.schema.metadata[b"bovespa.contract"] == UNVERIFIED.encode()
    rows = table.to_pylist()
    recorded = load(THEORETICAL_2025_01)["results"]
    assert [(r["cod"], r["part"], r["theoricalQty"], r["cont"]) for r in rows] == [
        (r["cod"], pt_br(r["part"]), pt_br(r["theoricalQty"]), None) for r in recorded
    ]
    assert {r["target_cycle"] for r in rows} == {"2025-01"}
    configuration_key = "raw-preview/index=IBOV/dt=2024-12-16/_b3-response-configuration.json"
    assert configuration_key in files_in(tmp_path)


def test_no_preview_now_is_a_recorded_normal_outcome(tmp_path: Path) -> None:
    has, day, reason = (0,), PREVIEW_DAY, "flags no preview (preview[].has is [0])"
    with preview_server(has, day) as replay:
        summary = preview(replay, tmp_path)
        assert replay.called == ["GetPortfolioDay", "GetConfigurations"]  # no preview asked
    assert (summary["status"], summary["rows"], summary["pages"]) == ("none", 0, 0)
    assert reason in summary["reason"]
    partition = f"raw-preview/index=IBOV/dt={day.isoformat()}"
    assert files_in(tmp_path) == [
        f"{partition}/_b3-response-configuration.json",
        f"{partition}/_b3-response-session.json",
        f"{partition}/_no-preview.json",
    ]
    marker = json.loads((tmp_path / partition / "_no-preview.json").read_bytes())
    assert (marker["status"], marker["dt"], marker["reason"]) == (
        "no-preview", day.isoformat(), summary["reason"],
    )  # fmt: skip
    stored = (tmp_path / partition / "_b3-response-configuration.json").read_bytes()
    assert stored == configuration(*has)


def test_a_stored_preview_outlives_a_later_no_preview_answer(tmp_path: Path) -> None:
    with preview_server((0,)) as replay:
        assert preview(replay, tmp_path)["status"] == "none"
        replay.answers[("GetConfigurations", "IBOV")] = configuration(1)
        assert preview(replay, tmp_path)["status"] == "stored"
        assert MARKER_KEY not in files_in(tmp_path)  # the preview replaced the marker
        stored = (tmp_path / PREVIEW_KEY).read_bytes()
        replay.answers[("GetConfigurations", "IBOV")] = configuration(0)
        summary = preview(replay, tmp_path)
    assert (summary["status"], summary["rows"], summary["uri"]) == (
        "kept", 87, str(tmp_path / PREVIEW_KEY),
    )  # fmt: skip
    assert (tmp_path / PREVIEW_KEY).read_bytes() == stored
    assert MARKER_KEY not in files_in(tmp_path)


def test_bovespa_scrape_dataset(replay_theoretical_2022: ReplayServer, tmp_path: Path) -> None:
    url = replay_theoretical_2022.base_url
    done = bovespa("scrape", "--dataset", "theoretical", "--lake", str(tmp_path), "--base-url", url,
                   "--as-of", "2022-12-08T20:00")  # fmt: skip
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    assert (summary["dt"], summary["cycle"], summary["rows"]) == ("2022-12-08", "2022-09", 92)
    assert summary["uri"] == str(tmp_path / THEORETICAL_2022_KEY)

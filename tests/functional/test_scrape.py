"""The scraper against a real local HTTP server replaying real B3 answers, into a local lake."""

from __future__ import annotations

import base64
import hashlib
import io
import json
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from services.pipeline import settings
from services.pipeline.b3.errors import B3Unavailable
from services.pipeline.scraper.scrape import scrape
from services.pipeline.validate.errors import NotATradingDay
from services.tool.local.deploy import served_at
from services.tool.local.replay import Fault, ReplayServer
from services.tool.local.samples import redate_body
from tests.ahead import THEORETICAL_2022
from tests.lakes import files_in
from tests.recordings import CLOUDFLARE_520, FAST, SEGMENT2_2025_07_10, load, pt_br

RAW_2025_07_10 = Path("raw/index=IBOV/dt=2025-07-10/portfolio.parquet")


def run(server: ReplayServer, lake: Path, **kwargs: Any) -> dict[str, Any]:
    kwargs.setdefault("now", served_at(server.cases["IBOV", settings.B3_SEGMENT]))
    kwargs.setdefault("policy", FAST)
    return scrape("IBOV", lake_uri=str(lake), base_url=server.base_url, **kwargs)


def test_raw_values_equal_the_recorded_strings(replay: ReplayServer, tmp_path: Path) -> None:
    summary = run(replay, tmp_path)
    assert (summary["index"], summary["dt"], summary["rows"]) == ("IBOV", "2025-07-10", 84)
    assert summary["uri"] == str(tmp_path / RAW_2025_07_10)
    recorded = load(SEGMENT2_2025_07_10)
    header = recorded["header"]
    table = pq.read_table(tmp_path / RAW_2025_07_10)
    rows = table.to_pylist()
    assert [
        (r["cod"], r["asset"], r["segment"], r["type"], r["type_normalized"], r["part"],
         r["partAcum"], r["theoricalQty"], r["header_reductor"], r["header_theoricalQty"],
         r["header_date"]) for r in rows
    ] == [
        (r["cod"], r["asset"], r["segment"], r["type"], " ".join(r["type"].split()),
         pt_br(r["part"]), pt_br(r["partAcum"]), pt_br(r["theoricalQty"]),
         pt_br(header["reductor"]), pt_br(header["theoricalQty"]), "10/07/25")
        for r in recorded["results"]
    ]  # fmt: skip
    assert str(table.schema.field("part").type) == "decimal128(7, 3)"
    assert str(table.schema.field("header_reductor").type) == "decimal128(24, 8)"
    assert sum(r["theoricalQty"] for r in rows) == 91_922_324_640
    assert sum(r["part"] for r in rows) == Decimal("100.000")
    # lineage: the body as received is archived, and each row names it
    archived = tmp_path / "raw/index=IBOV/dt=2025-07-10/_b3-response-page-001.json"
    assert summary["responses"] == [str(archived)]
    body = archived.read_bytes()
    assert json.loads(body)["results"] == recorded["results"]
    assert {r["body_sha256"] for r in rows} == {summary["sha256"]}
    assert summary["sha256"] == hashlib.sha256(body).hexdigest()
    (url,) = {r["source_url"] for r in rows}
    token = url.removeprefix(replay.base_url + "/GetPortfolioDay/")
    assert json.loads(base64.b64decode(token)) == {
        "language": "pt-br", "pageNumber": 1, "pageSize": settings.B3_PAGE_SIZE,
        "index": "IBOV", "segment": "2",
    }  # fmt: skip


def test_follows_every_page(replay: ReplayServer, tmp_path: Path) -> None:
    summary = run(replay, tmp_path, page_size=10)
    assert summary["pages"] == 9
    assert [r["pageNumber"] for r in replay.requests] == list(range(1, 10))
    rows = pq.read_table(tmp_path / RAW_2025_07_10).to_pylist()
    assert [r["cod"] for r in rows] == [r["cod"] for r in load(SEGMENT2_2025_07_10)["results"]]
    assert len(list((tmp_path / RAW_2025_07_10).parent.glob("_b3-response-page-*.json"))) == 9
    # a later one-page scrape of the same day leaves no stale page behind
    run(replay, tmp_path)
    assert len(list((tmp_path / RAW_2025_07_10).parent.glob("_b3-response-page-*.json"))) == 1


def test_rescrape_replaces_the_same_object(replay: ReplayServer, tmp_path: Path) -> None:
    run(replay, tmp_path)
    before = files_in(tmp_path)
    first = (tmp_path / RAW_2025_07_10).read_bytes()
    run(replay, tmp_path)
    assert files_in(tmp_path) == before
    again = pq.read_table(tmp_path / RAW_2025_07_10).drop(["fetched_at"])
    assert pq.read_table(io.BytesIO(first)).drop(["fetched_at"]).equals(again, check_metadata=True)


@pytest.mark.parametrize(
    "faults",
    [
        [Fault(status=503, body=b"busy"), Fault(status=503, body=b"busy")],
        [Fault(status=429, headers={"Retry-After": "0"})],
        [Fault(body=CLOUDFLARE_520.read_bytes(), content_type="text/html")],  # HTML with 200
        [Fault(cut=1000)],
        [Fault(cut=1000, chunked=True)],
    ],
    ids=["503-twice", "429-retry-after", "html-200", "cut", "cut-chunked"],
)
def test_transient_answers_are_retried(
    replay: ReplayServer, tmp_path: Path, faults: list[Fault]
) -> None:
    replay.inject(*faults)
    assert run(replay, tmp_path)["rows"] == 84
    assert len(replay.requests) == len(faults) + 1


@pytest.mark.parametrize(
    ("fault", "expected"),
    [
        (
            Fault(status=520, body=CLOUDFLARE_520.read_bytes(), content_type="text/html"),
            r"after 4 attempts .*HTTP 520 \(text/html\)",
        ),
        (Fault(status=503), r"after 4 attempts .*HTTP 503"),
        (Fault(delay=1.5), r"after 4 attempts .*timed out"),
        (Fault(truncate=True), r"after 4 attempts .*body \(application/json\) is not JSON"),
        (Fault(cut=1000), r"after 4 attempts .*connection cut after 1000 bytes"),
    ],
    ids=["cloudflare-520", "503", "slower-than-timeout", "truncated-json", "cut"],
)
def test_persistent_failures_end_in_b3_unavailable_and_write_nothing(
    replay: ReplayServer, tmp_path: Path, fault: Fault, expected: str
) -> None:
    replay.inject(*[fault] * FAST.attempts)
    with pytest.raises(B3Unavailable, match=expected) as caught:
        run(replay, tmp_path)
    assert "\n" not in str(caught.value)
    assert files_in(tmp_path) == []


def test_failure_on_a_later_page_writes_nothing(replay: ReplayServer, tmp_path: Path) -> None:
    replay.inject(Fault(), Fault(), *[Fault(status=502)] * FAST.attempts)
    with pytest.raises(B3Unavailable):
        run(replay, tmp_path, page_size=30)
    assert files_in(tmp_path) == []


def test_unknown_index_is_not_retried_forever(replay: ReplayServer, tmp_path: Path) -> None:
    with pytest.raises(B3Unavailable, match="HTTP 404"):
        scrape("XXXX", lake_uri=str(tmp_path), base_url=replay.base_url, policy=FAST)
    assert len(replay.requests) == 1


def test_bad_index_code_is_refused_before_any_request(replay: ReplayServer, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="index code"):
        scrape("IB/OV", lake_uri=str(tmp_path), base_url=replay.base_url, policy=FAST)
    assert replay.requests == []


#: Wednesday 2026-11-25, after the close: B3 already serves Thursday's portfolio.
WEDNESDAY_EVENING = datetime.fromisoformat("2026-11-25T20:30:00-03:00")


def serving(day: date) -> ReplayServer:
    body = redate_body(SEGMENT2_2025_07_10.read_bytes(), day)
    theoretical = {("GetTheoricalPortfolio", "IBOV"): THEORETICAL_2022}
    return ReplayServer({("IBOV", "2"): body}, answers=theoretical)


def test_tonights_scrape_of_tomorrows_portfolio_is_written_under_its_date(tmp_path: Path) -> None:
    with serving(date(2026, 11, 26)) as server:
        summary = run(server, tmp_path, now=WEDNESDAY_EVENING)
    assert (summary["dt"], summary["rows"]) == ("2026-11-26", 84)
    assert summary["session"] == "portfolio for the session of Thu 2026-11-26"
    assert files_in(tmp_path) == [
        "raw/index=IBOV/dt=2026-11-26/_b3-response-page-001.json",
        "raw/index=IBOV/dt=2026-11-26/portfolio.parquet",
    ]
    rows = pq.read_table(tmp_path / "raw/index=IBOV/dt=2026-11-26/portfolio.parquet").to_pylist()
    assert {r["header_date"] for r in rows} == {"26/11/26"}
    assert sum(r["theoricalQty"] for r in rows) == 91_922_324_640


@pytest.mark.parametrize(
    ("day", "dataset", "message"),
    [
        (date(2025, 12, 25), "theoretical", "Natal"),
        # two years old: it would overwrite that day, or file a theoretical under its cycle
        (date(2024, 11, 26), "day", "^dt=2024-11-26 is before Wed 2026-11-25"),
        (date(2024, 11, 26), "theoretical", "^dt=2024-11-26 is before Wed 2026-11-25"),
    ],
)
def test_a_refused_answer_writes_nothing_and_is_not_retried(
    day: date, dataset: str, message: str, tmp_path: Path
) -> None:
    """The checks (here the calendar's) run before any write; they are unit-tested."""
    with serving(day) as server, pytest.raises(NotATradingDay, match=message):
        run(server, tmp_path, dataset=dataset, now=WEDNESDAY_EVENING)
    assert files_in(tmp_path) == []
    assert server.called == ["GetPortfolioDay"] + ["GetTheoricalPortfolio"] * (dataset != "day")

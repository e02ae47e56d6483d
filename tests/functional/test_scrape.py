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
from services.pipeline.b3.errors import B3Unavailable, EmptyPortfolio, SchemaDrift, TotalsMismatch
from services.pipeline.scraper.scrape import scrape
from services.pipeline.validate.errors import NotATradingDay
from services.tool.local.replay import Fault, ReplayServer
from services.tool.local.samples import redate_body
from tests.recordings import (
    CLOUDFLARE_520,
    FAST,
    LOOK_ALIKE,
    SEGMENT2_2022_12_08,
    SEGMENT2_2025_07_10,
    load,
    pt_br,
)

RAW_2025_07_10 = Path("raw/index=IBOV/dt=2025-07-10/portfolio.parquet")


def run(server: ReplayServer, lake: Path, **kwargs: Any) -> dict[str, Any]:
    return scrape("IBOV", lake_uri=str(lake), base_url=server.base_url, policy=FAST, **kwargs)


def files_in(lake: Path) -> list[str]:
    return sorted(p.relative_to(lake).as_posix() for p in lake.rglob("*") if p.is_file())


def test_raw_values_equal_the_recorded_strings(replay: ReplayServer, tmp_path: Path) -> None:
    summary = run(replay, tmp_path)
    assert summary["index"] == "IBOV"
    assert summary["dt"] == "2025-07-10"
    assert summary["rows"] == 84
    assert summary["uri"] == str(tmp_path / RAW_2025_07_10)
    recorded = load(SEGMENT2_2025_07_10)
    table = pq.read_table(tmp_path / RAW_2025_07_10)
    rows = table.to_pylist()
    assert len(rows) == len(recorded["results"]) == 84
    for row, raw in zip(rows, recorded["results"], strict=True):
        assert row["cod"] == raw["cod"]
        assert row["asset"] == raw["asset"]
        assert row["segment"] == raw["segment"]
        assert row["type"] == raw["type"]
        assert row["type_normalized"] == " ".join(raw["type"].split())
        assert row["part"] == pt_br(raw["part"])
        assert row["partAcum"] == pt_br(raw["partAcum"])
        assert row["theoricalQty"] == pt_br(raw["theoricalQty"])
        assert row["header_reductor"] == pt_br(recorded["header"]["reductor"])
        assert row["header_theoricalQty"] == pt_br(recorded["header"]["theoricalQty"])
        assert row["header_date"] == "10/07/25"
    assert str(table.schema.field("part").type) == "decimal128(7, 3)"
    assert str(table.schema.field("header_reductor").type) == "decimal128(24, 8)"
    assert sum(r["theoricalQty"] for r in rows) == 91_922_324_640
    assert sum(r["part"] for r in rows) == Decimal("100.000")


def test_lineage_and_archived_body(replay: ReplayServer, tmp_path: Path) -> None:
    summary = run(replay, tmp_path)
    archived = tmp_path / "raw/index=IBOV/dt=2025-07-10/_b3-response-page-001.json"
    assert summary["responses"] == [str(archived)]
    body = archived.read_bytes()
    assert json.loads(body)["results"] == load(SEGMENT2_2025_07_10)["results"]
    rows = pq.read_table(tmp_path / RAW_2025_07_10).to_pylist()
    assert {r["body_sha256"] for r in rows} == {hashlib.sha256(body).hexdigest()}
    assert summary["sha256"] == hashlib.sha256(body).hexdigest()
    assert {r["source_url"] for r in rows} == {replay.base_url + "/GetPortfolioDay/" + _token(1)}


def _token(page: int, size: int = settings.B3_PAGE_SIZE) -> str:
    params = {
        "language": "pt-br",
        "pageNumber": page,
        "pageSize": size,
        "index": "IBOV",
        "segment": "2",
    }
    return base64.b64encode(json.dumps(params, separators=(",", ":")).encode()).decode()


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


def test_real_2022_recording_lands_under_its_own_trading_date(
    replay_2022: ReplayServer, tmp_path: Path
) -> None:
    summary = run(replay_2022, tmp_path)
    assert (summary["dt"], summary["rows"]) == ("2022-12-08", 92)
    rows = pq.read_table(tmp_path / "raw/index=IBOV/dt=2022-12-08/portfolio.parquet").to_pylist()
    recorded = load(SEGMENT2_2022_12_08)["results"]
    assert [(r["cod"], r["segment"], r["part"]) for r in rows] == [
        (r["cod"], r["segment"], pt_br(r["part"])) for r in recorded
    ]


def test_rescrape_replaces_the_same_object(replay: ReplayServer, tmp_path: Path) -> None:
    run(replay, tmp_path)
    before = files_in(tmp_path)
    first = (tmp_path / RAW_2025_07_10).read_bytes()
    run(replay, tmp_path)
    assert files_in(tmp_path) == before
    second = (tmp_path / RAW_2025_07_10).read_bytes()
    first_chunks, second_chunks = column_chunks(first), column_chunks(second)
    assert first_chunks.keys() == second_chunks.keys()
    changed = {name for name in first_chunks if first_chunks[name] != second_chunks[name]}
    assert changed == {"fetched_at"}
    assert pq.read_schema(io.BytesIO(first)).equals(
        pq.read_schema(io.BytesIO(second)), check_metadata=True
    )


def column_chunks(parquet: bytes) -> dict[str, bytes]:
    """The stored bytes of every column chunk, by column name."""
    meta = pq.ParquetFile(io.BytesIO(parquet)).metadata
    chunks: dict[str, bytes] = {}
    for group in range(meta.num_row_groups):
        for index in range(meta.num_columns):
            column = meta.row_group(group).column(index)
            start = column.dictionary_page_offset if column.has_dictionary_page else None
            start = start or column.data_page_offset
            chunks[column.path_in_schema] = parquet[start : start + column.total_compressed_size]
    return chunks


def test_two_503_then_200_succeeds_after_retries(replay: ReplayServer, tmp_path: Path) -> None:
    replay.inject(Fault(status=503, body=b"busy"), Fault(status=503, body=b"busy"))
    assert run(replay, tmp_path)["rows"] == 84
    assert len(replay.requests) == 3


def test_429_with_retry_after_is_retried(replay: ReplayServer, tmp_path: Path) -> None:
    replay.inject(Fault(status=429, headers={"Retry-After": "0"}))
    assert run(replay, tmp_path)["rows"] == 84


def test_html_200_page_then_json_is_retried(replay: ReplayServer, tmp_path: Path) -> None:
    replay.inject(Fault(body=CLOUDFLARE_520.read_bytes(), content_type="text/html"))
    assert run(replay, tmp_path)["rows"] == 84


def fail_every_attempt(server: ReplayServer, fault: Fault) -> None:
    server.inject(*[fault] * FAST.attempts)


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
    ],
    ids=["cloudflare-520", "503", "slower-than-timeout", "truncated-json"],
)
def test_persistent_failures_end_in_b3_unavailable_and_write_nothing(
    replay: ReplayServer, tmp_path: Path, fault: Fault, expected: str
) -> None:
    fail_every_attempt(replay, fault)
    with pytest.raises(B3Unavailable, match=expected) as caught:
        run(replay, tmp_path)
    assert "\n" not in str(caught.value)
    assert files_in(tmp_path) == []


def test_failure_on_a_later_page_writes_nothing(replay: ReplayServer, tmp_path: Path) -> None:
    replay.inject(Fault(), Fault(), *[Fault(status=502)] * FAST.attempts)
    with pytest.raises(B3Unavailable):
        run(replay, tmp_path, page_size=30)
    assert files_in(tmp_path) == []


def test_look_alike_body_is_schema_drift(tmp_path: Path) -> None:
    with (
        ReplayServer({("IBOV", "2"): LOOK_ALIKE}) as server,
        pytest.raises(SchemaDrift, match="not a GetPortfolioDay portfolio"),
    ):
        run(server, tmp_path)
    assert files_in(tmp_path) == []


def test_totals_that_do_not_reconcile_write_nothing(tmp_path: Path) -> None:
    document = load(SEGMENT2_2025_07_10)
    document["results"][5]["theoricalQty"] = "1"
    body = json.dumps(document).encode()
    with (
        ReplayServer({("IBOV", "2"): body}) as server,
        pytest.raises(TotalsMismatch, match="'theoretical_qty_total' failed"),
    ):
        run(server, tmp_path)
    assert files_in(tmp_path) == []


def test_holiday_empty_portfolio_writes_nothing(tmp_path: Path) -> None:
    document = load(SEGMENT2_2025_07_10)
    document["results"] = []
    with (
        ReplayServer({("IBOV", "2"): json.dumps(document).encode()}) as server,
        pytest.raises(EmptyPortfolio),
    ):
        run(server, tmp_path)
    assert files_in(tmp_path) == []


def test_unknown_index_is_not_retried_forever(replay: ReplayServer, tmp_path: Path) -> None:
    with pytest.raises(B3Unavailable, match="HTTP 404"):
        scrape("XXXX", lake_uri=str(tmp_path), base_url=replay.base_url, policy=FAST)
    assert len(replay.requests) == 1


def test_bad_index_code_is_refused_before_any_request(replay: ReplayServer, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="index code"):
        scrape("IB/OV", lake_uri=str(tmp_path), base_url=replay.base_url, policy=FAST)
    assert replay.requests == []


# --- B3's calendar: the header date must be a session B3 may already have published ------

#: Wednesday 2026-11-25, after the close: B3 already serves Thursday's portfolio.
WEDNESDAY_EVENING = datetime.fromisoformat("2026-11-25T20:30:00-03:00")


def serving(day: date) -> ReplayServer:
    """A replay server answering with the 2025-07-10 recording re-dated to ``day``."""
    return ReplayServer({("IBOV", "2"): redate_body(SEGMENT2_2025_07_10.read_bytes(), day)})


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
    ("day", "message"),
    [
        (date(2025, 12, 25), "dt=2025-12-25 is not a B3 session: Natal"),
        (date(2025, 3, 3), "dt=2025-03-03 is not a B3 session: Carnaval Segunda"),
        (
            date(2026, 11, 27),
            "dt=2026-11-27 is after Thu 2026-11-26, the next B3 session after now "
            "(2026-11-25 20:30 in São Paulo): B3 cannot have published it yet",
        ),
    ],
)
def test_a_date_that_is_no_publishable_session_writes_nothing(
    tmp_path: Path, day: date, message: str
) -> None:
    with serving(day) as server, pytest.raises(NotATradingDay) as refused:
        run(server, tmp_path, now=WEDNESDAY_EVENING)
    assert str(refused.value) == message
    assert files_in(tmp_path) == []
    assert len(server.requests) == 1  # refused as it is, not retried


def test_redating_a_body_changes_its_date_only() -> None:
    recorded = load(SEGMENT2_2025_07_10)
    derived = json.loads(redate_body(SEGMENT2_2025_07_10.read_bytes(), date(2026, 11, 26)))
    assert derived["header"] == {**recorded["header"], "date": "26/11/26"}
    assert (derived["page"], derived["results"]) == (recorded["page"], recorded["results"])
    with pytest.raises(ValueError, match="no header to re-date"):
        redate_body(b"[]", date(2026, 11, 26))

"""The scraper's bounds and hostile answers, against the real local HTTP server; each limit
is asserted on what the server saw (requests, bytes sent) or memory allocated, never time."""

from __future__ import annotations

import gzip
import json
import tracemalloc
import zlib
from pathlib import Path

import pytest

from services.pipeline.b3.client import Limits, RetryPolicy
from services.pipeline.b3.errors import (
    B3Redirect,
    B3Unavailable,
    BodyTooLarge,
    SchemaDrift,
    TooManyPages,
)
from services.pipeline.validate.errors import TooManyRows
from services.tool.local.replay import Fault, ReplayServer, page_of
from tests.functional.test_scrape import run
from tests.lakes import files_in
from tests.recordings import SEGMENT2_2025_07_10

MiB = 1024 * 1024


def real_page() -> bytes:
    return page_of(SEGMENT2_2025_07_10.read_bytes(), 1, 120)


def test_a_body_claiming_a_million_pages_stops_before_page_two(
    replay: ReplayServer, tmp_path: Path
) -> None:
    document = json.loads(real_page())
    document["page"]["totalPages"] = 10**6
    replay.inject(Fault(body=json.dumps(document).encode()))
    with pytest.raises(TooManyPages, match=r"there are 1000000 pages .* at most 100 are fetched"):
        run(replay, tmp_path)
    with pytest.raises(TooManyPages, match=r"there are 9 pages .* at most 3 are fetched"):
        run(replay, tmp_path, limits=Limits(max_pages=3), page_size=10)
    assert len(replay.requests) == 2
    assert files_in(tmp_path) == []


@pytest.mark.parametrize(
    ("body", "encoding"),
    [
        (gzip.compress(real_page()), "gzip"),
        (gzip.compress(real_page()[:5000]) + gzip.compress(real_page()[5000:]), "gzip"),
        (zlib.compress(real_page()), "deflate"),
        # the first member ends where a 64 KiB inflation step does (urllib3 2.8 repeats the next)
        (gzip.compress(b" " * 65536) + gzip.compress(real_page()), "gzip"),
    ],
    ids=["gzip", "two-member-gzip", "deflate", "member-at-a-step"],
)
def test_a_compressed_answer_is_inflated(
    replay: ReplayServer, tmp_path: Path, body: bytes, encoding: str
) -> None:
    replay.inject(Fault(body=body, headers={"Content-Encoding": encoding}))
    assert run(replay, tmp_path)["rows"] == 84
    assert len(replay.requests) == 1


def test_rows_past_the_raw_cap_stop_paging_at_the_page_that_crosses_it(
    replay: ReplayServer, tmp_path: Path
) -> None:
    with pytest.raises(TooManyRows, match=r"84 rows \(page 1 at .*; at most 35 .*MAX_RAW_ROWS"):
        run(replay, tmp_path, limits=Limits(max_rows=35), page_size=10)
    recorded = SEGMENT2_2025_07_10.read_bytes()  # pages claiming 10 rows in all, of 9 pages:
    understated = [page_of(recorded, n, 10).replace(b": 84,", b": 10,") for n in (1, 2, 3, 4)]
    replay.inject(*[Fault(body=page) for page in understated])
    with pytest.raises(TooManyRows, match=r"40 rows \(page 4 at "):
        run(replay, tmp_path, limits=Limits(max_rows=35), page_size=10)
    assert len(replay.requests) == 1 + 4
    assert files_in(tmp_path) == []


def test_an_empty_page_after_rows_is_a_paging_inconsistency(
    replay: ReplayServer, tmp_path: Path
) -> None:
    empty = json.loads(page_of(SEGMENT2_2025_07_10.read_bytes(), 3, 10))
    empty["results"] = []
    replay.inject(Fault(), Fault(), Fault(body=json.dumps(empty).encode()))
    with pytest.raises(SchemaDrift, match=r"page 3 .* no assets after 20 rows .* inconsistent"):
        run(replay, tmp_path, page_size=10)
    assert len(replay.requests) == 3
    assert files_in(tmp_path) == []


def gzip_bomb(decoded: int) -> bytes:
    """A gzip stream of ``decoded`` zero bytes, built without holding them in memory."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    block = bytes(MiB)
    parts = [packer.compress(block) for _ in range(decoded // MiB)]
    return b"".join([*parts, packer.flush()])


def test_a_gzip_bomb_is_stopped_at_the_decoded_limit_without_inflating_it(
    replay: ReplayServer, tmp_path: Path
) -> None:
    bomb = gzip_bomb(256 * MiB)
    assert len(bomb) < MiB  # small on the wire
    replay.inject(Fault(body=bomb, headers={"Content-Encoding": "gzip"}))
    tracemalloc.start()
    try:
        with pytest.raises(BodyTooLarge, match=r"passed 1048576 bytes decoded \(gzip"):
            run(replay, tmp_path, limits=Limits(max_body_bytes=MiB))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 8 * MiB  # the 256 MiB were never allocated
    assert len(replay.requests) == 1  # not retried
    assert files_in(tmp_path) == []


def test_a_body_past_the_wire_limit_is_stopped(replay: ReplayServer, tmp_path: Path) -> None:
    limits = Limits(max_wire_bytes=4096)
    replay.inject(Fault(chunked=True))  # no Content-Length to refuse it by
    with pytest.raises(BodyTooLarge, match="passed 4096 bytes as received"):
        run(replay, tmp_path, limits=limits)
    replay.inject(Fault())  # with Content-Length: refused before reading
    sent = replay.bytes_sent
    with pytest.raises(BodyTooLarge, match=r"declares \d+ bytes; at most 4096"):
        run(replay, tmp_path, limits=limits)
    assert len(replay.requests) == 2
    assert files_in(tmp_path) == []
    assert sent > 0


def test_a_compressed_body_that_inflates_to_nothing_is_cut_at_the_wire_limit(
    replay: ReplayServer, tmp_path: Path
) -> None:
    endless_comment = b"\x1f\x8b\x08\x10" + bytes(6) + b"A" * MiB  # a gzip header, no output
    replay.inject(Fault(body=endless_comment, headers={"Content-Encoding": "gzip"}, chunked=True))
    with pytest.raises(BodyTooLarge, match="passed 4096 bytes as received"):
        run(replay, tmp_path, limits=Limits(max_wire_bytes=4096))
    assert len(replay.requests) == 1


def test_a_dripping_server_is_cut_at_the_scrape_deadline(
    replay: ReplayServer, tmp_path: Path
) -> None:
    body = real_page()
    replay.inject(Fault(drip=0.05))  # 20 bytes a second: the page would take ~15 minutes
    with pytest.raises(B3Unavailable, match=r"within the scrape's deadline of 1 s"):
        run(replay, tmp_path, limits=Limits(deadline_seconds=1.0))
    assert 0 < replay.bytes_sent < len(body)
    assert len(replay.requests) == 1  # no attempt is started after the deadline
    assert files_in(tmp_path) == []


def test_the_deadline_covers_retries_and_their_waits(replay: ReplayServer, tmp_path: Path) -> None:
    patient = RetryPolicy(attempts=4, initial_wait=0.01, max_wait=60)
    replay.inject(*[Fault(status=503, headers={"Retry-After": "30"})] * 4)
    with pytest.raises(B3Unavailable, match=r"deadline of 0.5 s .*\(1 attempts\): HTTP 503"):
        run(replay, tmp_path, limits=Limits(deadline_seconds=0.5), policy=patient)
    assert len(replay.requests) == 1


@pytest.mark.parametrize("status", [301, 307])
def test_redirects_are_refused_and_name_the_location(
    replay: ReplayServer, tmp_path: Path, status: int
) -> None:
    replay.inject(Fault(status=status, body=b"", headers={"Location": "http://elsewhere.test/x"}))
    with pytest.raises(
        B3Redirect, match=f"HTTP {status} .* redirecting to http://elsewhere.test/x"
    ):
        run(replay, tmp_path)
    assert len(replay.requests) == 1  # the Location was not requested
    assert files_in(tmp_path) == []


@pytest.mark.parametrize(
    ("fault", "expected"),
    [
        # the real page as B3's CSV downloads are encoded: Latin-1 ("Teórica" in the header)
        (
            Fault(body=real_page().decode().encode("latin-1")),
            r"not UTF-8: byte 0xf3 at offset \d+ \(Latin-1\?\)",
        ),
        (Fault(body=b"\xef\xbb\xbf" + real_page()), "starts with a UTF-8 byte-order mark"),
        (Fault(body=b"\xff\xfe" + real_page().decode().encode("utf-16-le")), "UTF-16 byte-order"),
        (Fault(body=b"[" * 100_000 + b"]" * 100_000), "nested too deeply"),
        (Fault(headers={"Content-Encoding": "br"}), "Content-Encoding 'br'"),
        (
            Fault(
                body=real_page().replace(b'"totalRecords": 84', b'"totalRecords": ' + b"9" * 5000)
            ),
            r"field 'totalRecords' .* 5000 digits",
        ),
    ],
    ids=["latin-1", "utf-8-bom", "utf-16", "deep-nesting", "brotli", "5000-digits"],
)
def test_bodies_in_another_encoding_are_schema_drift_at_once(
    replay: ReplayServer, tmp_path: Path, fault: Fault, expected: str
) -> None:
    replay.inject(fault)
    with pytest.raises(SchemaDrift, match=expected):
        run(replay, tmp_path)
    assert len(replay.requests) == 1  # not retried: asking again would not change it
    assert files_in(tmp_path) == []

"""``--index`` at the CLI: spellings users type are resolved aloud, unknown codes refused."""

from __future__ import annotations

import json
from pathlib import Path

from services.tool.local.replay import ReplayServer
from tests.functional.test_cli import bovespa


def test_an_index_typed_in_lower_case_is_resolved_with_a_note(
    replay: ReplayServer, tmp_path: Path
) -> None:
    done = bovespa(
        "scrape", "--index", "ibov", "--lake", str(tmp_path), "--base-url", replay.base_url
    )
    assert done.returncode == 0, done.stderr
    assert "note index 'ibov' is B3's IBOV (Índice Bovespa (Ibovespa B3))" in done.stderr
    assert json.loads(done.stdout.splitlines()[-1])["index"] == "IBOV"
    assert [r["index"] for r in replay.requests] == ["IBOV"]


def test_an_unknown_index_exits_2_with_one_line_and_asks_b3_nothing(
    replay: ReplayServer, tmp_path: Path
) -> None:
    done = bovespa(
        "scrape", "--index", "IBOVV", "--lake", str(tmp_path), "--base-url", replay.base_url
    )
    assert done.returncode == 2
    assert done.stdout == ""
    errors = [line for line in done.stderr.splitlines() if line.startswith("error ")]
    assert errors == [
        "error UnknownIndex: unknown B3 index code 'IBOVV': not among the 34 indices B3 "
        "publishes through GetPortfolioDay (services/pipeline/b3/indices.py); "
        "IBOVV: did you mean IBOV?"
    ]
    assert replay.requests == []
    assert list(tmp_path.rglob("*")) == []


def test_etl_takes_codes_users_type_and_refuses_unknown_ones(tmp_path: Path) -> None:
    done = bovespa("etl", "--lake", str(tmp_path), "--dt", "2025-07-10", "--index", "ibov,XPTO",
                   "--no-catalog")  # fmt: skip
    assert done.returncode == 2
    assert "error UnknownIndex: unknown B3 index code 'XPTO'" in done.stderr

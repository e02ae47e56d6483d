"""``--index`` at the CLI: spellings users type are resolved aloud."""

from __future__ import annotations

import json
from pathlib import Path

from services.tool.local.replay import ReplayServer
from tests.functional.test_cli import bovespa


def test_an_index_typed_in_lower_case_is_resolved_with_a_note(
    replay: ReplayServer, tmp_path: Path
) -> None:
    done = bovespa(
        "scrape", "--index", "ibov", "--lake", str(tmp_path), "--base-url", replay.base_url,
        "--as-of", "2025-07-10T08:00",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "note index 'ibov' is B3's IBOV (Índice Bovespa (Ibovespa B3))" in done.stderr
    assert json.loads(done.stdout.splitlines()[-1])["index"] == "IBOV"
    assert [r["index"] for r in replay.requests] == ["IBOV"]

"""Fixtures shared by every kind of test: replay servers and a Spark session.

Helpers and constants that tests import live in plain modules (``tests/recordings.py``,
``tests/aws_clients.py``, ...): a conftest holds fixtures and hooks only.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings as hypothesis_settings

from services.tool.local.replay import ReplayServer
from tests.recordings import SEGMENT2_2022_12_08

TESTS = Path(__file__).parent

# Property tests assert values, never time: Hypothesis's default 200 ms deadline per example
# failed test_round_trips_any_quantity on a loaded machine (407 ms once, 0.07 ms on replay).
# Timing belongs to `make bench`.
hypothesis_settings.register_profile("bovespa", deadline=None)
hypothesis_settings.load_profile("bovespa")
#: The test kinds, each a directory of its own and a marker of the same name.
KINDS = ("unit", "functional", "integration")
#: Fixtures that a unit test may not use (``make unit-test`` runs without them).
NOT_IN_UNIT_TESTS = ("spark", "aws_endpoint")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark each test with its kind, from its directory (``-m integration`` and so on)."""
    for item in items:
        if not item.path.is_relative_to(TESTS):
            continue
        kind = item.path.relative_to(TESTS).parts[0]
        if kind not in KINDS:
            continue
        item.add_marker(kind)
        heavy = [name for name in NOT_IN_UNIT_TESTS if name in item.fixturenames]
        if kind == "unit" and heavy:
            raise pytest.UsageError(
                f"{item.nodeid} uses {', '.join(heavy)}: a unit test starts no Spark and "
                "no emulator; put it in tests/functional or tests/integration"
            )


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

"""Fixtures shared by every kind of test (helpers live in plain modules: ``tests/*.py``)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings as hypothesis_settings

from services.tool.local.replay import ReplayServer

TESTS = Path(__file__).parent

# Property tests assert values, never time (Hypothesis's deadline failed on a loaded machine).
hypothesis_settings.register_profile("bovespa", deadline=None)
hypothesis_settings.load_profile("bovespa")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if item.path.is_relative_to(TESTS):
            kind = item.path.relative_to(TESTS).parts[0]
            if kind in ("unit", "functional", "integration"):
                item.add_marker(kind)


@pytest.fixture
def replay() -> Iterator[ReplayServer]:
    """A replay server with the demo's recordings (IBOV of 2025-07-10…)."""
    with ReplayServer() as server:
        yield server


@pytest.fixture(scope="session")
def spark() -> Iterator[Any]:
    """One quiet local Spark session for the whole run (the job reuses it)."""
    from glue.spark import local_session

    session = local_session("bovespa-tests")
    yield session
    session.stop()

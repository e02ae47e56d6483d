"""The tests' own AWS clients, for checking what the code under test did."""

from __future__ import annotations

from typing import Any

from localstack_client.session import Session

from services.pipeline import settings


def aws(service: str) -> Any:
    """A client from ``localstack-client``: it honours ``AWS_ENDPOINT_URL`` (which the
    ``aws_endpoint`` fixture sets) and otherwise talks to LocalStack's edge port, 4566."""
    return Session(region_name=settings.EMULATOR_REGION).client(service)

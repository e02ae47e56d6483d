"""The local AWS emulator for the integration tests, once per session.

With ``AWS_ENDPOINT_URL`` set (LocalStack with an auth token, say) that endpoint is used
and nothing is started; otherwise MiniStack is started on 127.0.0.1:4566 for the session.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from services.tool.local.emulator import Emulator, free_port
from services.tool.local.recorder import CALL_LOG_ENV
from tests.aws_clients import aws


@pytest.fixture(scope="session")
def aws_endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """An AWS-compatible endpoint; the whole process talks to it through ``AWS_ENDPOINT_URL``."""
    with pytest.MonkeyPatch.context() as env:
        for name, value in {
            "AWS_ACCESS_KEY_ID": "test",
            "AWS_SECRET_ACCESS_KEY": "test",
            "AWS_DEFAULT_REGION": "us-east-1",
        }.items():
            env.setenv(name, os.environ.get(name, value))
        configured = os.environ.get("AWS_ENDPOINT_URL")
        if configured:
            yield configured
            return
        # A port of their own, never LocalStack's edge port: a `bovespa local up`, or another
        # test session on the same machine, may take 4566 between a check and the start,
        # and two sessions sharing one emulator deploy over each other's stack.
        port = free_port()
        state_dir = tmp_path_factory.mktemp("ministack")
        emulator = Emulator(port=port, state_dir=state_dir, call_log=state_dir / "calls.jsonl")
        process = emulator.start()
        env.setenv("AWS_ENDPOINT_URL", emulator.endpoint)
        env.setenv(CALL_LOG_ENV, str(emulator.call_log))  # for the tests that read it
        try:
            yield emulator.endpoint
        finally:
            emulator.stop()
            process.wait(timeout=10)


@pytest.fixture
def bucket(aws_endpoint: str) -> Iterator[str]:
    """A fresh, empty bucket for one test (emptied and removed afterwards)."""
    name = f"bovespa-test-{uuid.uuid4().hex[:12]}"
    s3: Any = aws("s3")
    s3.create_bucket(Bucket=name)
    yield name
    for item in s3.list_objects_v2(Bucket=name).get("Contents", []):
        s3.delete_object(Bucket=name, Key=item["Key"])
    s3.delete_bucket(Bucket=name)

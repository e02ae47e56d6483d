"""The AWS endpoint of the integration tests: ``AWS_ENDPOINT_URL`` where it is set (nothing
is started), else a MiniStack of this session's own, recording the components' calls."""

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
        for name, value in (("AWS_ACCESS_KEY_ID", "test"), ("AWS_SECRET_ACCESS_KEY", "test"),
                            ("AWS_DEFAULT_REGION", "us-east-1")):  # fmt: skip
            env.setenv(name, os.environ.get(name, value))
        if os.environ.get("AWS_ENDPOINT_URL"):
            yield os.environ["AWS_ENDPOINT_URL"]
            return
        # A port of its own: another session, or `bovespa local up`, may hold 4566.
        state_dir = tmp_path_factory.mktemp("ministack")
        emulator = Emulator(
            port=free_port(), state_dir=state_dir, call_log=state_dir / "calls.jsonl"
        )
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
    name = f"bovespa-test-{uuid.uuid4().hex[:12]}"
    s3: Any = aws("s3")
    s3.create_bucket(Bucket=name)
    yield name
    for item in s3.list_objects_v2(Bucket=name).get("Contents", []):
        s3.delete_object(Bucket=name, Key=item["Key"])
    s3.delete_bucket(Bucket=name)

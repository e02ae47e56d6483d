"""The emulator runs each function from the package built like its image (its contents:
``tests/unit/test_lambda_packages.py``), and a handler's exception reaches the caller named
by its class, as on AWS."""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

import pytest

from services.deploy.deployment import SCRAPER_HANDLER, TRIGGER_HANDLER, VALIDATE_HANDLER
from services.tool.local.deploy import LOCAL, Deployed, deploy
from services.tool.local.packages import RUNTIME, function_zip
from tests.aws_clients import aws

pytestmark = pytest.mark.network


def code_sha256(package: bytes) -> str:
    """Lambda's ``CodeSha256``: the base64 of the package's SHA-256."""
    return base64.b64encode(hashlib.sha256(package).digest()).decode()


@pytest.fixture(scope="module")
def stack(aws_endpoint: str) -> Deployed:
    return deploy(LOCAL)


def test_each_function_runs_the_package_built_from_its_image(stack: Deployed) -> None:
    functions = {
        stack.scraper_arn: SCRAPER_HANDLER,
        stack.validate_arn: VALIDATE_HANDLER,
        stack.trigger_arn: TRIGGER_HANDLER,
    }
    client: Any = aws("lambda")
    for arn, handler in functions.items():
        config = client.get_function_configuration(FunctionName=arn)
        assert config["CodeSha256"] == code_sha256(function_zip(handler)), handler
        assert (config["Handler"], config["Runtime"]) == (handler, RUNTIME)


def test_a_handlers_exception_is_named_by_its_class_as_on_aws(stack: Deployed) -> None:
    """What Step Functions' Retry and Catch match: ``NotARawObject``, not MiniStack runtime's
    ``Runtime.HandlerError``. Twice, a successful call between: the warm one keeps serving."""
    client: Any = aws("lambda")
    for _ in range(2):
        answer = client.invoke(
            FunctionName=stack.validate_arn, Payload=json.dumps({"uri": "s3://b/notes.txt"})
        )
        assert answer["FunctionError"] == "Unhandled"
        error = json.loads(answer["Payload"].read())
        assert error["errorType"] == "NotARawObject"
        assert error["errorMessage"].startswith("s3://b/notes.txt is not a raw object")
        ignored = client.invoke(FunctionName=stack.trigger_arn, Payload=b"{}")
        assert "FunctionError" not in ignored
        assert json.loads(ignored["Payload"].read())["action"] == "ignore"

"""The emulator runs each function from the package built like its image.

The package itself (same requirements file, installed for the emulator's Python, only
what the Dockerfile copies, handlers importing with nothing else on the path) is tested
in ``tests/unit/test_lambda_packages.py``; here: that this is the code deployed.
"""

from __future__ import annotations

import base64
import hashlib
from typing import Any

import pytest

from services.deploy.deployment import SCRAPER_HANDLER, TRIGGER_HANDLER, VALIDATE_HANDLER
from services.tool.local.deploy import LOCAL, deploy
from services.tool.local.packages import function_zip, local_python
from tests.aws_clients import aws

pytestmark = pytest.mark.network


def code_sha256(package: bytes) -> str:
    """Lambda's ``CodeSha256``: the base64 of the package's SHA-256."""
    return base64.b64encode(hashlib.sha256(package).digest()).decode()


def test_each_function_runs_the_package_built_from_its_image(aws_endpoint: str) -> None:
    stack = deploy(LOCAL)
    functions = {
        stack.scraper_arn: SCRAPER_HANDLER,
        stack.validate_arn: VALIDATE_HANDLER,
        stack.trigger_arn: TRIGGER_HANDLER,
    }
    client: Any = aws("lambda")
    for arn, handler in functions.items():
        config = client.get_function_configuration(FunctionName=arn)
        assert config["CodeSha256"] == code_sha256(function_zip(handler)), handler
        assert (config["Handler"], config["Runtime"]) == (handler, f"python{local_python()}")

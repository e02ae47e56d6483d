"""Lambda handler of the validate step.

Input: ``{"uri": "s3://bucket/raw/index=IBOV/dt=2025-07-10/portfolio.parquet"}`` (or
``{"bucket": ..., "key": ...}``). Output: ``{"dt", "index", "rows", "uri"}``. A broken
check raises the exception named for it (``WeightTotalMismatch``, ``NotATradingDay``...),
so the state machine's Validate state fails with that error and nothing downstream runs.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger

from services.pipeline.lambda_errors import named_errors
from services.pipeline.validate.contract import validate

logger = Logger(service="bovespa-validate")


@named_errors
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Validate the raw object named by ``event``."""
    uri = event.get("uri") or f"s3://{event['bucket']}/{event['key']}"
    logger.info("validating", extra={"uri": uri})
    result = validate(uri)
    logger.info("valid", extra={"result": result})
    return result

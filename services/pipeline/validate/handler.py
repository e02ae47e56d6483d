"""Lambda handler of the validate step.

Input: ``{"uri": "s3://bucket/raw/index=IBOV/dt=2025-07-10/portfolio.parquet", "version": …}``
(the scraper's write), or the same under ``inbox/`` (a dropped object, promoted to ``raw/``
once it passes); ``version`` is optional. Output: ``{"dt", "index", "rows", "uri"}`` and
the raw object's pin. A broken check raises the exception named for it
(``WeightTotalMismatch``, ``NotATradingDay``...), so the state machine's Validate state
fails with that error and nothing downstream runs.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger

from services.pipeline.validate.contract import validate

logger = Logger(service="bovespa-validate")


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Validate (and promote, from ``inbox/``) the object named by ``event``."""
    logger.info("validating", extra={"uri": event["uri"], "version": event.get("version")})
    result = validate(event["uri"], event.get("version"))
    logger.info("valid", extra={"result": result})
    return result

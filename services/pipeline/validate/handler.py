"""Lambda handler of the validate step: ``{"uri", "version"?}`` in (a raw object, or one
under ``inbox/`` to promote), the pin out; a broken check raises the error named for it."""

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

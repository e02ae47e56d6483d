"""Lambda handler of the validate step: ``{"uri", "version"?}`` in (a raw object, or one
under ``inbox/`` to promote: a raw Parquet file or B3's CSV download, a day's or a four-month
portfolio's), the pin out; a broken check raises the error named for it."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger

from services.pipeline.validate.contract import validate
from services.pipeline.validate.ingest import is_download, land_inbox_download

logger = Logger(service="bovespa-validate")


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Validate (and promote, from ``inbox/``) the object named by ``event``."""
    uri, version, kept = event["uri"], event.get("version"), None
    logger.info("validating", extra={"uri": uri, "version": version})
    if is_download(uri):
        uri, version, kept = land_inbox_download(uri, version)
    result = validate(uri, version) | ({"kept": kept} if kept else {})
    logger.info("valid", extra={"result": result})
    return result

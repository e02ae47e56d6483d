"""What the trigger does with one S3 ``Object Created`` event, as pure functions.

An object starts an execution only if its key follows the raw contract
(``raw/index=<INDEX>/dt=<YYYY-MM-DD>/<name>.parquet``) and the pipeline's own scraper did
not write it (the scraper's execution carries on by itself). The execution's name comes
from bucket, key and ETag, so the same event delivered twice starts one execution.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from services import settings

RAW_KEY = re.compile(
    rf"{settings.RAW_PREFIX}/index=(?P<index>[A-Z0-9]{{2,8}})/"
    r"dt=(?P<dt>\d{4}-\d{2}-\d{2})/(?P<name>[^/_.][^/]*)\.parquet"
)
#: Step Functions execution names: 1-80 characters of letters, digits, '-' and '_'.
NAME_LIMIT = 80


@dataclass(frozen=True)
class Decision:
    """``start`` (with the execution's name and input) or ``ignore`` (with why)."""

    action: str
    reason: str
    name: str | None = None
    input: dict[str, Any] = field(default_factory=dict)


def execution_name(bucket: str, key: str, etag: str) -> str:
    """A readable, valid, deterministic execution name for this object version."""
    digest = hashlib.sha256(f"{bucket}/{key}/{etag}".encode()).hexdigest()[:16]
    match = RAW_KEY.fullmatch(key)
    label = f"{match['index']}-{match['dt']}" if match else "object"
    readable = re.sub(r"[^A-Za-z0-9_-]", "-", f"s3-{label}")
    return f"{readable[: NAME_LIMIT - len(digest) - 1]}-{digest}"


def decide(event: Mapping[str, Any], writer_of: Callable[[str, str], str | None]) -> Decision:
    """Decide for one EventBridge S3 event; ``writer_of(bucket, key)`` reads the metadata mark."""
    if event.get("detail-type") != "Object Created" or event.get("source") != "aws.s3":
        return Decision("ignore", f"not an S3 Object Created event ({event.get('detail-type')})")
    detail = event.get("detail", {})
    bucket = detail.get("bucket", {}).get("name", "")
    key = detail.get("object", {}).get("key", "")
    etag = str(detail.get("object", {}).get("etag", ""))
    match = RAW_KEY.fullmatch(key)
    if not bucket or match is None:
        return Decision(
            "ignore", f"{key!r} is not a raw Parquet object (raw/index=…/dt=…/*.parquet)"
        )
    writer = writer_of(bucket, key)
    if writer == settings.WRITER_SCRAPER:
        return Decision("ignore", "written by the pipeline's scraper; its execution carries on")
    return Decision(
        "start",
        f"raw object {'dropped by hand' if writer is None else f'written by {writer}'}",
        name=execution_name(bucket, key, etag),
        input={
            "source": "s3",
            "bucket": bucket,
            "key": key,
            "uri": f"s3://{bucket}/{key}",
            "index": match["index"],
            "dt": match["dt"],
        },
    )

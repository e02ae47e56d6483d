"""Make a Lambda handler's error name travel in its message.

On AWS, Step Functions sees an unhandled exception's class as the error
(``WeightTotalMismatch``) and its message as the cause. Local emulators report every
handler exception as ``Runtime.HandlerError`` with the message alone, so the message
starts with the class name too: the failed state's cause then names the check on both.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

Handler = TypeVar("Handler", bound=Callable[[dict[str, Any], Any], dict[str, Any]])


def named_errors(handler: Handler) -> Handler:
    """Prefix the message of any exception ``handler`` raises with the exception's name."""

    @functools.wraps(handler)
    def wrapped(event: dict[str, Any], context: Any) -> dict[str, Any]:
        try:
            return handler(event, context)
        except Exception as error:
            name = type(error).__name__
            if not str(error).startswith(f"{name}: "):
                error.args = (f"{name}: {error}",)
            raise

    return wrapped  # type: ignore[return-value]

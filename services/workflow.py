"""The state machine definition, rendered from ``statemachine/pipeline.asl.json``.

The template names its deployment-specific values as ``${Name}`` placeholders. A string
that is exactly one placeholder takes the value's own JSON type (so ``"${PollSeconds}"``
becomes the number 30); a placeholder inside a longer string is replaced as text. The
Pulumi program and the local deployment both call :func:`render`, so both get the same
definition from the same values.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from services import settings

TEMPLATE = settings.REPO_ROOT / "statemachine" / "pipeline.asl.json"
PLACEHOLDER = re.compile(r"\$\{([A-Za-z][A-Za-z0-9]*)\}")


class RenderError(ValueError):
    """A placeholder has no value, or a value has no placeholder."""


def placeholders(template: Any | None = None) -> set[str]:
    """Every placeholder name the template uses."""
    text = json.dumps(load_template() if template is None else template)
    return set(PLACEHOLDER.findall(text))


def load_template() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(TEMPLATE.read_text(encoding="utf-8"))
    return loaded


def render(values: Mapping[str, str | int]) -> dict[str, Any]:
    """The definition with every placeholder filled; :class:`RenderError` if any is left over."""
    template = load_template()
    wanted = placeholders(template)
    missing, unused = wanted - values.keys(), values.keys() - wanted
    if missing or unused:
        raise RenderError(
            f"state machine placeholders: missing {sorted(missing)}, unused {sorted(unused)}"
        )
    rendered: dict[str, Any] = _fill(template, values)
    return rendered


def render_json(values: Mapping[str, str | int]) -> str:
    """:func:`render` as the JSON text that Step Functions takes."""
    return json.dumps(render(values), indent=2, ensure_ascii=False)


def _fill(node: Any, values: Mapping[str, str | int]) -> Any:
    if isinstance(node, dict):
        return {key: _fill(value, values) for key, value in node.items()}
    if isinstance(node, list):
        return [_fill(item, values) for item in node]
    if isinstance(node, str):
        whole = PLACEHOLDER.fullmatch(node)
        if whole:
            return values[whole[1]]
        return PLACEHOLDER.sub(lambda match: str(values[match[1]]), node)
    return node

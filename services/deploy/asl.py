"""The state machine definitions of ``statemachine/``, with their ``${Name}`` values filled.

Each file is plain Amazon States Language as committed. ``${Name}`` is replaced as text, as
Step Functions' ``DefinitionSubstitutions`` are; every value is a name or an ARN, so the
JSON stays valid. The Pulumi program and the local deployment both call :func:`render_json`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from typing import Any

from services.pipeline import settings

DIRECTORY = settings.REPO_ROOT / "statemachine"
PIPELINE = "pipeline.asl.json"
REFINE = "refine.asl.json"
PLACEHOLDER = re.compile(r"\$\{([A-Za-z][A-Za-z0-9]*)\}")


class RenderError(ValueError):
    """A placeholder has no value, or a value has no placeholder."""


def template(name: str) -> str:
    return (DIRECTORY / name).read_text(encoding="utf-8")


def render_json(name: str, values: Mapping[str, str]) -> str:
    """``statemachine/<name>`` with every ``${Name}`` replaced, or :class:`RenderError`."""
    text = template(name)
    wanted = set(PLACEHOLDER.findall(text))
    missing, unused = wanted - values.keys(), values.keys() - wanted
    if missing or unused:
        raise RenderError(f"{name}: missing {sorted(missing)}, unused {sorted(unused)}")
    return PLACEHOLDER.sub(lambda match: values[match[1]], text)


def render(name: str, values: Mapping[str, str]) -> dict[str, Any]:
    definition: dict[str, Any] = json.loads(render_json(name, values))
    return definition


def all_states(definition: Mapping[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every state of ``definition``, those inside Map iterations included, by name."""
    for name, state in definition["States"].items():
        yield name, state
        if processor := state.get("ItemProcessor") or state.get("Iterator"):
            yield from all_states(processor)

"""The state machine definition, rendered from ``statemachine/pipeline.asl.json``.

The template names its deployment-specific values as ``${Name}`` placeholders. A string
that is exactly one placeholder takes the value's own JSON type (so ``"${PollSeconds}"``
becomes the number 30, ``"${AheadDatasets}"`` a list); a placeholder inside a longer
string is replaced as text. The Pulumi program and the local deployment both call
:func:`render`, so both get the same definition from the same values.

A state of ``"Type": "Block"`` is not Amazon States Language: it stands for the states of
another template of ``statemachine/`` (``"Template"``), whose names all get ``"Suffix"``
and whose ``${Ns}`` (where the block keeps its data) and ``${Exit}`` (the state it goes on
to) are the Block's ``"Namespace"`` and ``"Next"``. The refine phase (Glue job, crawler,
smoke query, check) is written once and used twice this way: after the Map, and after a
redrive finished the failed indices. A block template groups its states by step
(``"Steps"``), which is how a run's progress is shown (:func:`steps`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from typing import Any

from services.pipeline import settings

DIRECTORY = settings.REPO_ROOT / "statemachine"
TEMPLATE = DIRECTORY / "pipeline.asl.json"
PLACEHOLDER = re.compile(r"\$\{([A-Za-z][A-Za-z0-9]*)\}")
#: Placeholders a Block fills in its template; every other one is the deployment's.
BLOCK_PLACEHOLDERS = ("Ns", "Exit")

Value = str | int | list[str]


class RenderError(ValueError):
    """A placeholder has no value, or a value has no placeholder."""


def placeholders(template: Any | None = None) -> set[str]:
    """Every placeholder name the (expanded) template uses."""
    text = json.dumps(expanded() if template is None else template)
    return set(PLACEHOLDER.findall(text))


def load_template() -> dict[str, Any]:
    """``pipeline.asl.json`` as written (its Block states not expanded)."""
    return _load(TEMPLATE.name)


def expanded() -> dict[str, Any]:
    """The template with every Block replaced by its states; placeholders still unfilled."""
    template = load_template()
    states: dict[str, Any] = template["States"]
    entries: dict[str, str] = {}
    out: dict[str, Any] = {}
    for name, state in states.items():
        if state.get("Type") != "Block":
            out[name] = state
            continue
        block = _load(state["Template"])
        suffix = state["Suffix"]
        entries[name] = block["StartAt"] + suffix
        fill = {"Ns": state["Namespace"], "Exit": state["Next"]}
        for group in block["Steps"].values():
            for inner, definition in group.items():
                out[inner + suffix] = _fill(_retarget(definition, None, suffix), fill, strict=False)
    template["States"] = {name: _retarget(state, entries) for name, state in out.items()}
    template["StartAt"] = entries.get(template["StartAt"], template["StartAt"])
    return template


def render(values: Mapping[str, Value]) -> dict[str, Any]:
    """The definition with every placeholder filled; :class:`RenderError` if any is left over."""
    template = expanded()
    wanted = placeholders(template)
    missing, unused = wanted - values.keys(), values.keys() - wanted
    if missing or unused:
        raise RenderError(
            f"state machine placeholders: missing {sorted(missing)}, unused {sorted(unused)}"
        )
    rendered: dict[str, Any] = _fill(template, values)
    return rendered


def render_json(values: Mapping[str, Value]) -> str:
    """:func:`render` as the JSON text that Step Functions takes."""
    return json.dumps(render(values), indent=2, ensure_ascii=False)


def all_states(definition: Mapping[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every state of ``definition``, those inside Map iterations included, by name."""
    for name, state in definition["States"].items():
        yield name, state
        processor = state.get("ItemProcessor") or state.get("Iterator")
        if processor:
            yield from all_states(processor)


def steps() -> dict[str, str]:
    """The step each state belongs to, as a run's progress shows it.

    A top-level Map is its own step, with every state of its iterations; a Block's states
    belong to the steps their template groups them in (``"Glue job"``…), labelled for the
    Block (``"Glue job after redrive"``). Routing and bookkeeping states belong to none.
    """
    found: dict[str, str] = {}
    for name, state in load_template()["States"].items():
        if state.get("Type") == "Map":
            found[name] = name
            found.update({inner: name for inner, _ in all_states(state["ItemProcessor"])})
        elif state.get("Type") == "Block":
            label = state.get("Label", "")
            for step, group in _load(state["Template"])["Steps"].items():
                found.update({inner + state["Suffix"]: step + label for inner in group})
    return found


def polls() -> frozenset[str]:
    """The states that poll: each one a ``Wait`` state leads to (``GetGlueJobRun`` after
    ``WaitForGlueJob``…), as a run's progress counts its status checks."""
    return frozenset(
        state["Next"]
        for _, state in all_states(expanded())
        if state.get("Type") == "Wait" and "Next" in state
    )


def _load(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((DIRECTORY / name).read_text(encoding="utf-8"))
    return loaded


def _retarget(
    state: dict[str, Any], entries: Mapping[str, str] | None, suffix: str = ""
) -> dict[str, Any]:
    """``state`` with each transition moved: by ``entries`` (Block name -> its first state),
    or, for a state inside a block (``entries`` None), to the same name plus ``suffix``."""

    def move(target: str) -> str:
        if entries is not None:
            return entries.get(target, target)
        return target if PLACEHOLDER.fullmatch(target) else target + suffix

    moved = dict(state)
    for key in ("Next", "Default"):
        if key in moved:
            moved[key] = move(moved[key])
    for key in ("Choices", "Catch"):
        if key in moved:
            moved[key] = [{**rule, "Next": move(rule["Next"])} for rule in moved[key]]
    return moved


def _fill(node: Any, values: Mapping[str, Value], *, strict: bool = True) -> Any:
    if isinstance(node, dict):
        return {key: _fill(value, values, strict=strict) for key, value in node.items()}
    if isinstance(node, list):
        return [_fill(item, values, strict=strict) for item in node]
    if isinstance(node, str):
        whole = PLACEHOLDER.fullmatch(node)
        if whole and (strict or whole[1] in values):
            return values[whole[1]]
        return PLACEHOLDER.sub(
            lambda match: str(values[match[1]]) if strict or match[1] in values else match[0],
            node,
        )
    return node

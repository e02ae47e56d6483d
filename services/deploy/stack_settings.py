"""A stack's settings (``bovespa-pipeline:<field in camelCase>`` in ``Pulumi.<stack>.yaml``),
defaults and checks, for the Pulumi program and for the cost model (without Pulumi)."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, Final

import yaml

from services.deploy.deployment import AHEAD_DATASETS
from services.pipeline import settings
from services.pipeline.b3.indices import UnknownIndex, parse_setting
from services.pipeline.errors import BadArgument

#: The Pulumi project (``Pulumi.yaml``): its settings are ``bovespa-pipeline:<key>``.
PROJECT: Final = "bovespa-pipeline"
#: The example stacks the cost model reads: not beside Pulumi.yaml, where ``pulumi config
#: set`` writes a user's own stack.
EXAMPLES: Final = settings.REPO_ROOT / "infra" / "stacks"
#: DPUs per worker of each Glue worker type (G.1X: 4 vCPU, 16 GB = 1 DPU).
DPU_PER_WORKER: Final[Mapping[str, int]] = {"G.1X": 1, "G.2X": 2, "G.4X": 4, "G.8X": 8}


class BadSetting(BadArgument):
    """A stack setting that must be refused before anything is deployed."""


@dataclass(frozen=True)
class StackConfig:
    #: Every resource name starts with it (default ``bovespa-<stack>``).
    prefix: str = ""
    #: B3 codes or ``all``: one execution a day scrapes them all.
    indices: tuple[str, ...] = (settings.DEFAULT_INDEX,)
    #: Weekdays at 08:00 in B3's time zone, when every session's portfolio is on offer
    #: (docs/architecture.md, "The schedule").
    schedule_cron: str = "cron(0 8 ? * MON-FRI *)"
    schedule_timezone: str = settings.B3_TIMEZONE
    glue_worker_type: str = "G.1X"
    glue_workers: int = 2
    glue_timeout_minutes: int = 30
    alarm_email: str | None = None
    athena_bytes_scanned_cutoff: int = 1_073_741_824
    #: Every log group the stack declares (functions, state machines, Glue) keeps a month.
    log_retention_days: int = 30
    image_history: int = 5
    #: The datasets ahead each index gets (``[]``: none).
    ahead_datasets: tuple[str, ...] = AHEAD_DATASETS

    @property
    def dpus(self) -> int:
        return DPU_PER_WORKER[self.glue_worker_type] * self.glue_workers


def key(name: str) -> str:
    """The setting of a field: ``glue_workers`` is ``glueWorkers``."""
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


KEYS: Final = {key(f.name): f for f in fields(StackConfig)}
DEFAULTS: Final = StackConfig()


def parse(get: Callable[[str], str | None], stack: str) -> tuple[StackConfig, list[str]]:
    """The settings from their text as Pulumi's config gives it (a list as JSON); an unset,
    empty or 0 one takes its default. Also the notes on the index aliases resolved."""
    values: dict[str, Any] = {"prefix": f"bovespa-{stack}"}
    notes: list[str] = []
    for name, field in KEYS.items():
        text = get(name)
        where = f"{PROJECT}:{name}"
        try:
            if not text or text == "0":
                continue
            if field.name == "indices":
                selection = parse_setting(text)
                values["indices"] = selection.codes
                notes += [f"{where}: {note}" for note in selection.notes]
            elif field.name == "ahead_datasets":
                values["ahead_datasets"] = datasets(text)
            elif field.name == "glue_worker_type" and text not in DPU_PER_WORKER:
                raise ValueError(f"{text!r} is not a Glue worker type")
            else:
                values[field.name] = int(text) if field.type == "int" else text
        except (UnknownIndex, ValueError) as error:
            raise BadSetting(f"{where}: {error}") from None
    return StackConfig(**values), notes


def datasets(text: str) -> tuple[str, ...]:
    try:
        value = json.loads(text)
    except ValueError:
        value = text
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValueError("not a list of dataset names")
    if unknown := sorted(set(value) - set(AHEAD_DATASETS)):
        raise ValueError(f"unknown {unknown}; the datasets ahead are {list(AHEAD_DATASETS)}")
    return tuple(dict.fromkeys(value))


def read_stack_file(name: str, root: Path = EXAMPLES) -> tuple[str, StackConfig]:
    """The region (``aws:region``) and the settings of ``Pulumi.<name>.yaml``."""
    path = root / f"Pulumi.{name}.yaml"
    if not path.is_file():
        stacks = ", ".join(sorted(p.name[7:-5] for p in root.glob("Pulumi.*.yaml")))
        raise BadArgument(f"no stack {name!r}: {path.name} not found (stacks: {stacks})")
    config: dict[str, Any] = (yaml.safe_load(path.read_text("utf-8")) or {}).get("config") or {}
    own = [k.removeprefix(f"{PROJECT}:") for k in config if k.startswith(f"{PROJECT}:")]
    if unknown := sorted(set(own) - set(KEYS)):
        raise BadSetting(f"{path.name}: no such settings {unknown}")

    def get(setting: str) -> str | None:
        value = config.get(f"{PROJECT}:{setting}")
        return value if value is None or isinstance(value, str) else json.dumps(value)

    return config.get("aws:region", "us-east-1"), parse(get, name)[0]

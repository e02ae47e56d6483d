"""The stack's settings, read once from ``pulumi.Config`` (``Pulumi.<stack>.yaml``)."""

from __future__ import annotations

import re
from dataclasses import dataclass, fields
from typing import Any

import pulumi

from services.deploy.deployment import (
    AHEAD_DATASETS,
    GLUE_WORKER_TYPE,
    GLUE_WORKERS,
    IMAGE_HISTORY,
    SCHEDULE_CRON,
    SCHEDULE_TIMEZONE,
    Deployment,
)
from services.deploy.stack_settings import Key
from services.pipeline.b3.indices import Selection, UnknownIndex, parse_setting


class StackConfigError(pulumi.RunError):
    """A stack setting Pulumi must refuse before deploying anything (one line, no traceback)."""


#: The defaults of the settings a stack shares with the local deployment, owned by
#: :class:`~services.deploy.deployment.Deployment` (the local deployment uses them as they are).
SHARED = Deployment()


@dataclass(frozen=True)
class StackConfig:
    """Everything a stack may set, and each setting's default. Each field is read from its
    :class:`~services.deploy.stack_settings.Key` (the field in camelCase); ``Pulumi.dev.yaml``
    spells every key out at its default (a test checks both)."""

    prefix: str
    indices: tuple[str, ...] = SHARED.indices
    schedule_cron: str = SCHEDULE_CRON
    schedule_timezone: str = SCHEDULE_TIMEZONE
    glue_worker_type: str = GLUE_WORKER_TYPE
    glue_workers: int = GLUE_WORKERS
    glue_timeout_minutes: int = 30
    alarm_email: str | None = None
    athena_bytes_scanned_cutoff: int = 1_073_741_824
    #: Every log group the stack declares (functions, state machines, Glue) keeps a month of logs.
    log_retention_days: int = 30
    image_history: int = IMAGE_HISTORY
    ahead_datasets: tuple[str, ...] = SHARED.ahead_datasets

    @property
    def deployment(self) -> Deployment:
        """The shared description (names, state machine values...) for this stack."""
        own = {f.name for f in fields(self)}
        shared = [f.name for f in fields(Deployment) if f.name in own]
        return Deployment(**{name: getattr(self, name) for name in shared})


#: The default of every setting but ``prefix`` (``bovespa-<stack>``).
DEFAULTS = StackConfig(prefix="")


#: The settings each read and checked by a function of their own; every other one is a
#: plain string or integer, read as its default's type.
PARSED = frozenset({Key.PREFIX, Key.INDICES, Key.AHEAD_DATASETS})


def field_name(key: Key) -> str:
    """The :class:`StackConfig` field a setting fills (``glueWorkers`` -> ``glue_workers``)."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", key.value).lower()


def load() -> StackConfig:
    """The stack's settings; an unset (or empty, or 0) one takes its default."""
    config = pulumi.Config()
    plain: dict[str, Any] = {}
    for key in Key:
        if key in PARSED:
            continue
        default = getattr(DEFAULTS, field_name(key))
        read = config.get_int if isinstance(default, int) else config.get
        plain[field_name(key)] = read(key) or default
    return StackConfig(
        prefix=config.get(Key.PREFIX) or f"bovespa-{pulumi.get_stack()}",
        indices=indices(config.get(Key.INDICES)).codes,
        ahead_datasets=ahead_datasets(config.get_object(Key.AHEAD_DATASETS)),
        **plain,
    )


def ahead_datasets(value: object) -> tuple[str, ...]:
    """``aheadDatasets``: which datasets ahead each index gets (default: all; ``[]``: none)."""
    if value is None:
        return DEFAULTS.ahead_datasets
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise StackConfigError(f"{Key.AHEAD_DATASETS.qualified}: not a list of dataset names")
    unknown = sorted(set(value) - set(AHEAD_DATASETS))
    if unknown:
        raise StackConfigError(
            f"{Key.AHEAD_DATASETS.qualified}: unknown {unknown}; "
            f"the datasets ahead are {list(AHEAD_DATASETS)}"
        )
    return tuple(dict.fromkeys(value))


def indices(raw: str | None) -> Selection:
    """The ``indices`` setting: a list of B3 codes, or ``all`` (every index B3 publishes).

    Aliases users type (``IBRX`` -> ``IBXX``...) are resolved and said with
    ``pulumi.log.info``; an unknown code stops ``pulumi up`` here, not when the schedule fires.
    """
    if raw is None:
        return Selection(DEFAULTS.indices)
    try:
        selection = parse_setting(raw)
    except UnknownIndex as error:
        raise StackConfigError(f"{Key.INDICES.qualified}: {error}") from None
    for note in selection.notes:
        pulumi.log.info(f"{Key.INDICES.qualified}: {note}")
    return selection

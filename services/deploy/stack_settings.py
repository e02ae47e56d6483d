"""The settings of a stack: their keys in ``Pulumi.<stack>.yaml``, and reading that file.

The Pulumi program (``infra/config.py``, through ``pulumi.Config``) and the cost model
(``services/deploy/cost.py``, which runs without Pulumi) read the same keys, named here
once; the defaults are ``infra/config.py``'s ``StackConfig``.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from pathlib import Path
from typing import Any, Final

import yaml

from services.pipeline import settings

#: The Pulumi project (``Pulumi.yaml``): its settings are ``bovespa-pipeline:<key>``.
PROJECT: Final = "bovespa-pipeline"
#: The AWS provider's setting of the stack's region.
REGION_KEY: Final = "aws:region"


class Key(StrEnum):
    """Every setting of the project a stack may set: one per field of ``StackConfig``
    (infra/config.py), named as the field in camelCase."""

    PREFIX = "prefix"
    INDICES = "indices"
    SCHEDULE_CRON = "scheduleCron"
    SCHEDULE_TIMEZONE = "scheduleTimezone"
    GLUE_WORKER_TYPE = "glueWorkerType"
    GLUE_WORKERS = "glueWorkers"
    GLUE_TIMEOUT_MINUTES = "glueTimeoutMinutes"
    ALARM_EMAIL = "alarmEmail"
    ATHENA_BYTES_SCANNED_CUTOFF = "athenaBytesScannedCutoff"
    LOG_RETENTION_DAYS = "logRetentionDays"
    IMAGE_HISTORY = "imageHistory"
    AHEAD_DATASETS = "aheadDatasets"

    @property
    def qualified(self) -> str:
        """``bovespa-pipeline:<key>``, as the stack file and Pulumi's messages spell it."""
        return f"{PROJECT}:{self.value}"


def stack_file(name: str, root: Path = settings.REPO_ROOT) -> Path:
    """``Pulumi.<name>.yaml`` in ``root``: the settings of the stack ``name``."""
    return root / f"Pulumi.{name}.yaml"


def stack_names(root: Path = settings.REPO_ROOT) -> list[str]:
    """The stacks that have a settings file in ``root``, sorted."""
    return sorted(
        p.name.removeprefix("Pulumi.").removesuffix(".yaml") for p in root.glob("Pulumi.*.yaml")
    )


def read_config(path: Path) -> Mapping[str, Any]:
    """The ``config:`` section of a stack file (every namespace; empty if it has none)."""
    loaded: Mapping[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return loaded.get("config") or {}


def project_settings(config: Mapping[str, Any]) -> dict[str, Any]:
    """The project's settings of a ``config:`` section, by key without the namespace."""
    namespace = f"{PROJECT}:"
    return {k.removeprefix(namespace): v for k, v in config.items() if k.startswith(namespace)}

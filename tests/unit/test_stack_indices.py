"""A stack's settings: defaults, aliases, ``all``, the datasets ahead, one-line refusals."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from infra.config import Stack
from services.deploy.stack_settings import BadSetting, parse, read_stack_file
from services.pipeline.b3.indices import INDICES


def settings(**given: str) -> tuple[Stack, list[str]]:
    config, notes = parse(given.get, "test")
    return Stack(config, "000000000000", "us-east-1"), notes


def test_no_setting_is_one_schedule_of_ibov_with_every_dataset_ahead() -> None:
    stack, _ = settings()
    assert stack.config.prefix == "bovespa-test"
    assert stack.deployment.schedule_input() == {"source": "schedule", "indices": ["IBOV"]}
    values = stack.deployment.pipeline_values("s", "v", "r")
    assert values["AheadDatasets"] == "theoretical,preview"
    assert (stack.config.dpus, stack.config.glue_timeout_minutes) == (2, 30)


def test_aliases_are_resolved_to_b3_codes_and_said() -> None:
    stack, notes = settings(indices=json.dumps(["IBOV", "IBRX50", "ise"]), aheadDatasets="[]")
    assert stack.deployment.indices == ("IBOV", "IBXL", "ISEE")
    assert notes == [
        "bovespa-pipeline:indices: index 'IBRX50' is B3's IBXL (Índice Brasil 50 (IBrX 50 B3))",
        "bovespa-pipeline:indices: index 'ise' is B3's ISEE "
        "(Índice de Sustentabilidade Empresarial (ISE B3))",
    ]
    assert stack.deployment.pipeline_values("s", "v", "r")["AheadDatasets"] == ""
    assert settings(indices="all")[0].config.indices == tuple(INDICES)


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("indices", json.dumps(["IBOV", "XPTO"]), "indices: unknown B3 index code 'XPTO'"),
        ("indices", json.dumps([]), "indices: no index given"),
        ("indices", "[IBOV", "not a JSON list"),
        ("indices", json.dumps(["all", "IBOV"]), "cannot be combined"),
        ("aheadDatasets", '["theoretical", "quarterly"]', "aheadDatasets: unknown ['quarterly']"),
        ("aheadDatasets", "preview", "aheadDatasets: not a list of dataset names"),
        ("glueWorkers", "two", "glueWorkers: invalid literal for int()"),
        ("glueWorkerType", "Z.9X", "glueWorkerType: 'Z.9X' is not a Glue worker type"),
    ],
)
def test_a_bad_setting_is_refused_in_one_line(key: str, value: str, message: str) -> None:
    with pytest.raises(BadSetting) as raised:
        settings(**{key: value})
    assert str(raised.value).startswith("bovespa-pipeline:")
    assert message in str(raised.value)
    assert "\n" not in str(raised.value)


def test_the_stack_files_are_read_and_bad_ones_refused(tmp_path: Path) -> None:
    region, prod = read_stack_file("prod")
    assert (region, prod.log_retention_days, prod.indices[1]) == ("sa-east-1", 90, "IBXX")
    with pytest.raises(ValueError, match="no stack 'nope': Pulumi.nope.yaml not found"):
        read_stack_file("nope", tmp_path)
    (tmp_path / "Pulumi.odd.yaml").write_text("config:\n  bovespa-pipeline:glueWorker: 3\n")
    with pytest.raises(BadSetting, match=r"Pulumi.odd.yaml: no such settings \['glueWorker'\]"):
        read_stack_file("odd", tmp_path)

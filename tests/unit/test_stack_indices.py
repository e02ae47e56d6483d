"""The ``indices`` stack setting under Pulumi mocks: ``all``, aliases, refusals at ``pulumi up``."""

from __future__ import annotations

import json

import pulumi
import pytest

from infra.config import StackConfigError
from services.pipeline.b3.indices import INDICES
from tests.pulumi_mocks import CONFIG, run_program

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def schedules(config: dict[str, str]) -> dict[str, str]:
    """The indices a stack with ``config`` scrapes each day: code -> its schedule's name.

    There is one schedule, whose one execution scrapes every index."""
    mocks = run_program(config)
    (schedule,) = mocks.of_type("aws:scheduler/schedule:Schedule")
    indices = json.loads(schedule.inputs["target"]["input"])["indices"]
    return dict.fromkeys(indices, schedule.inputs["name"])


def test_aliases_are_resolved_to_b3_codes_and_said(monkeypatch: pytest.MonkeyPatch) -> None:
    said: list[str] = []
    monkeypatch.setattr(pulumi.log, "info", lambda message, *a, **k: said.append(message))
    declared = schedules({**CONFIG, "indices": json.dumps(["IBOV", "IBRX50", "ise"])})
    assert sorted(declared) == ["IBOV", "IBXL", "ISEE"]
    assert said == [
        "bovespa-pipeline:indices: index 'IBRX50' is B3's IBXL (Índice Brasil 50 (IBrX 50 B3))",
        "bovespa-pipeline:indices: index 'ise' is B3's ISEE "
        "(Índice de Sustentabilidade Empresarial (ISE B3))",
    ]


def test_all_is_every_index_b3_publishes() -> None:
    declared = schedules({**CONFIG, "indices": "all"})
    assert sorted(declared) == sorted(INDICES)


def test_no_setting_is_ibov() -> None:
    config = {k: v for k, v in CONFIG.items() if k != "indices"}
    assert list(schedules(config)) == ["IBOV"]


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (json.dumps(["IBOV", "XPTO"]), "unknown B3 index code 'XPTO'"),
        (json.dumps([]), "no index given"),
        ("[IBOV", "not a JSON list"),
        (json.dumps(["all", "IBOV"]), "cannot be combined"),
    ],
)
def test_a_bad_setting_stops_pulumi_up_with_one_line(value: str, message: str) -> None:
    with pytest.raises(StackConfigError) as raised:
        run_program({**CONFIG, "indices": value})
    text = str(raised.value)
    assert text.startswith("bovespa-pipeline:indices: ")
    assert message in text
    assert "\n" not in text
    assert isinstance(raised.value, pulumi.RunError)  # Pulumi prints it without a traceback

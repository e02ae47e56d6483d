"""The state machine definition: lint-clean, every Task retried and caught, every loop bounded."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from statelint.linter import Linter

from services.deployment import Deployment
from services.workflow import PLACEHOLDER, RenderError, load_template, placeholders, render

SCRAPER = "arn:aws:lambda:us-east-1:000000000000:function:bovespa-test-scraper"
VALIDATE = "arn:aws:lambda:us-east-1:000000000000:function:bovespa-test-validate"
DEPLOYMENT = Deployment(prefix="bovespa-test", poll_seconds=7, max_polls=11)


@pytest.fixture(scope="module")
def definition() -> dict[str, Any]:
    return render(DEPLOYMENT.state_machine_values(SCRAPER, VALIDATE))


def states(definition: dict[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = definition["States"]
    return found


def targets(state: dict[str, Any]) -> list[str]:
    """Every state ``state`` can move to."""
    nexts = [state["Next"]] if "Next" in state else []
    nexts += [c["Next"] for c in state.get("Choices", [])]
    nexts += [state["Default"]] if "Default" in state else []
    nexts += [c["Next"] for c in state.get("Catch", [])]
    return nexts


def test_statelint_accepts_the_rendered_definition(definition: dict[str, Any]) -> None:
    assert Linter.validate(definition) == []


def test_statelint_is_really_checking() -> None:
    broken = render(DEPLOYMENT.state_machine_values(SCRAPER, VALIDATE))
    del broken["States"]["Validate"]["Next"]
    assert Linter.validate(broken) != []


def test_every_placeholder_is_filled_with_the_right_type(definition: dict[str, Any]) -> None:
    text = str(definition)
    assert not PLACEHOLDER.search(text)
    assert states(definition)["WaitForGlueJob"]["Seconds"] == 7
    assert states(definition)["Scrape"]["Parameters"]["FunctionName"] == SCRAPER
    assert states(definition)["StartGlueJob"]["Parameters"]["JobName"] == "bovespa-test-etl"
    query = states(definition)["StartSmokeQuery"]["Parameters"]["QueryString.$"]
    assert '"default"."b3_index_portfolio"' in query


def test_render_refuses_missing_or_unknown_values() -> None:
    values = DEPLOYMENT.state_machine_values(SCRAPER, VALIDATE)
    with pytest.raises(RenderError, match=r"missing \['PollSeconds'\]"):
        render({k: v for k, v in values.items() if k != "PollSeconds"})
    with pytest.raises(RenderError, match=r"unused \['Typo'\]"):
        render({**values, "Typo": 1})
    assert placeholders() == set(values)


def test_every_task_retries_transient_errors_with_full_jitter(definition: dict[str, Any]) -> None:
    tasks = {n: s for n, s in states(definition).items() if s["Type"] == "Task"}
    assert len(tasks) >= 10
    for name, task in tasks.items():
        assert task.get("Retry"), name
        for rule in task["Retry"]:
            assert rule["JitterStrategy"] == "FULL", name
            assert rule["IntervalSeconds"] >= 1, name
            assert rule["BackoffRate"] >= 1, name
            assert rule["MaxDelaySeconds"] >= rule["IntervalSeconds"], name
            assert "States.ALL" not in rule["ErrorEquals"], f"{name} retries every error"


def test_every_task_catches_into_a_fail_state_named_for_its_step(
    definition: dict[str, Any],
) -> None:
    all_states = states(definition)
    for name, task in all_states.items():
        if task["Type"] != "Task":
            continue
        (rule,) = task["Catch"]
        target = all_states[rule["Next"]]
        assert target["Type"] == "Fail", name
        assert rule["Next"].endswith("Failed"), name
        assert rule["ResultPath"] == "$.error", f"{name} must keep the original error"
        assert (target["ErrorPath"], target["CausePath"]) == ("$.error.Error", "$.error.Cause")
    step_of = {
        "Scrape": "ScrapeFailed",
        "Validate": "ValidateFailed",
        "StartGlueJob": "GlueJobFailed",
        "StartCrawler": "CrawlerFailed",
        "StartSmokeQuery": "SmokeQueryFailed",
    }
    for step, failure in step_of.items():
        assert all_states[step]["Catch"][0]["Next"] == failure


def test_every_loop_is_bounded_by_a_poll_counter(definition: dict[str, Any]) -> None:
    all_states = states(definition)
    loops = [cycle for cycle in _cycles(all_states)]
    assert len(loops) == 3  # Glue job, crawler, Athena query
    for cycle in loops:
        choices = [all_states[n] for n in cycle if all_states[n]["Type"] == "Choice"]
        counters = [all_states[n] for n in cycle if all_states[n]["Type"] == "Pass"]
        assert any("States.MathAdd" in str(c.get("Parameters")) for c in counters), cycle
        for choice in choices:
            for rule in choice["Choices"]:
                if rule["Next"] in cycle:
                    assert "'NumericLessThan': 11" in str(rule), (cycle, rule)


def _cycles(all_states: dict[str, Any]) -> list[set[str]]:
    """The states on each cycle of the graph (one set per loop back-edge)."""
    found: list[set[str]] = []

    def walk(name: str, path: list[str]) -> None:
        if name in path:
            loop = set(path[path.index(name) :])
            if loop not in found:
                found.append(loop)
            return
        for nxt in targets(all_states[name]):
            walk(nxt, [*path, name])

    walk("Route", [])
    return found


def test_route_sends_s3_events_to_validate_and_schedules_to_scrape(
    definition: dict[str, Any],
) -> None:
    route = states(definition)["Route"]
    by_variable = {c["Variable"]: c["Next"] for c in route["Choices"]}
    assert by_variable == {"$.uri": "Validate", "$.index": "Scrape"}
    assert states(definition)[route["Default"]]["Type"] == "Fail"


def test_check_compares_athenas_count_with_validates(definition: dict[str, Any]) -> None:
    check = states(definition)["Check"]
    (rule,) = check["Choices"]
    assert (rule["Variable"], rule["NumericEqualsPath"], rule["Next"]) == (
        "$.smoke.count",
        "$.rows",
        "Done",
    )


def test_template_is_valid_json_with_placeholders_only_as_values() -> None:
    template = copy.deepcopy(load_template())
    assert template["StartAt"] == "Route"
    assert "${" not in " ".join(template["States"])  # never in a state name


def test_lambda_tasks_retry_every_transient_lambda_error(definition: dict[str, Any]) -> None:
    # Step Functions' Lambda integration errors worth a retry ("Handle transient Lambda
    # service exceptions", Step Functions developer guide), the client-side timeout included.
    transient = {
        "Lambda.ServiceException",
        "Lambda.AWSLambdaException",
        "Lambda.SdkClientException",
        "Lambda.ClientExecutionTimeoutException",
        "Lambda.TooManyRequestsException",
    }
    invokes = {
        n: s
        for n, s in states(definition).items()
        if s.get("Resource", "").endswith("lambda:invoke")
    }
    assert set(invokes) == {"Scrape", "Validate"}
    for name, task in invokes.items():
        retried = {e for rule in task["Retry"] for e in rule["ErrorEquals"]}
        assert transient <= retried, name


#: What GetJobRun's JobRun always has (Glue API, JobRun structure); ErrorMessage is absent
#: for some terminal states, and a path to an absent field is a States.Runtime error that
#: no Catch sees.
ALWAYS_IN_JOB_RUN = {"$.JobRun", "$.JobRun.Id", "$.JobRun.JobRunState"}


def test_the_glue_failure_is_described_from_fields_every_run_has(
    definition: dict[str, Any],
) -> None:
    describe = states(definition)["DescribeGlueJobFailure"]
    assert set(describe["ResultSelector"].values()) <= ALWAYS_IN_JOB_RUN
    # The message is read only where the Choice before it proved it present.
    choice = states(definition)[describe["Next"]]
    (rule,) = choice["Choices"]
    reads_message = states(definition)[rule["Next"]]
    assert rule["And"][0] == {"Variable": "$.glue.failed.Run.ErrorMessage", "IsPresent": True}
    assert reads_message["Parameters"]["Cause.$"] == "$.glue.failed.Run.ErrorMessage"
    without = states(definition)[choice["Default"]]
    assert "ErrorMessage" not in json.dumps(without)
    for described in (reads_message, without):
        assert described["ResultPath"] == "$.error"
        assert states(definition)[described["Next"]]["Type"] == "Fail"

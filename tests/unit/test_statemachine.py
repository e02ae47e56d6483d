"""The state machine definition: lint-clean, every Task retried, every failure accounted for,
every loop bounded; one Map for every index, one refine phase for all, and a redrive path."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from statelint.linter import Linter

from services.deploy.asl import (
    PLACEHOLDER,
    RenderError,
    all_states,
    load_template,
    placeholders,
    render,
    steps,
)
from services.deploy.deployment import Deployment

SCRAPER = "arn:aws:lambda:us-east-1:000000000000:function:bovespa-test-scraper"
VALIDATE = "arn:aws:lambda:us-east-1:000000000000:function:bovespa-test-validate"
DEPLOYMENT = Deployment(prefix="bovespa-test", poll_seconds=7, max_polls=11, map_max_concurrency=3)
#: The two instances of the refine phase (statemachine/refine.asl.json).
SUFFIXES = ("", "AfterRedrive")


@pytest.fixture(scope="module")
def definition() -> dict[str, Any]:
    return render(DEPLOYMENT.state_machine_values(SCRAPER, VALIDATE))


def states(definition: dict[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = definition["States"]
    return found


def every(definition: dict[str, Any]) -> dict[str, Any]:
    """Every state, those of the Maps' iterations included (names are unique)."""
    return dict(all_states(definition))


def iteration(definition: dict[str, Any], map_state: str) -> dict[str, Any]:
    found: dict[str, Any] = states(definition)[map_state]["ItemProcessor"]["States"]
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
    del broken["States"]["ScrapeIndices"]["ItemProcessor"]["States"]["Validate"]["Next"]
    assert Linter.validate(broken) != []


def test_every_placeholder_is_filled_with_the_right_type(definition: dict[str, Any]) -> None:
    text = str(definition)
    assert not PLACEHOLDER.search(text)
    assert states(definition)["WaitForGlueJob"]["Seconds"] == 7
    assert states(definition)["WaitForGlueJobAfterRedrive"]["Seconds"] == 7
    assert every(definition)["Scrape"]["Parameters"]["FunctionName"] == SCRAPER
    assert every(definition)["RedoValidate"]["Parameters"]["FunctionName"] == VALIDATE
    assert states(definition)["StartGlueJob"]["Parameters"]["JobName"] == "bovespa-test-etl"
    assert states(definition)["ScrapeIndices"]["MaxConcurrency"] == 3
    assert states(definition)["ConfiguredAhead"]["Parameters"]["ahead"] == [
        "theoretical",
        "preview",
    ]
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
    tasks = {n: s for n, s in every(definition).items() if s["Type"] == "Task"}
    assert len(tasks) >= 20
    for name, task in tasks.items():
        assert task.get("Retry"), name
        for rule in task["Retry"]:
            assert rule["JitterStrategy"] == "FULL", name
            assert rule["IntervalSeconds"] >= 1, name
            assert rule["BackoffRate"] >= 1, name
            assert rule["MaxDelaySeconds"] >= rule["IntervalSeconds"], name
            assert "States.ALL" not in rule["ErrorEquals"], f"{name} retries every error"


def test_a_failed_index_is_recorded_in_its_iteration_and_never_fails_the_map(
    definition: dict[str, Any],
) -> None:
    # In an inline Map an uncaught iteration failure fails the Map and stops the other
    # iterations: every Task of the scrape-and-validate iteration is caught into a Pass
    # that records the failure, and no Fail state is there at all.
    scraping = dict(all_states(states(definition)["ScrapeIndices"]["ItemProcessor"]))
    assert not [n for n, s in scraping.items() if s["Type"] == "Fail"]
    recorded_by = {"Scrape": "DescribeDayFailure", "Validate": "DescribeDayFailure",
                   "ScrapeAheadDataset": "DescribeAheadFailure"}  # fmt: skip
    tasks = {n: s for n, s in scraping.items() if s["Type"] == "Task"}
    assert set(tasks) == set(recorded_by)
    for name, task in tasks.items():
        (rule,) = task["Catch"]
        assert (rule["ErrorEquals"], rule["ResultPath"]) == (["States.ALL"], "$.error"), name
        assert rule["Next"] == recorded_by[name]
        describe = scraping[rule["Next"]]
        assert describe["Parameters"]["error.$"] == "$.error.Error"
        assert describe["Parameters"]["cause.$"] == "$.error.Cause"
        failed = scraping[describe["Next"]]
        assert failed["End"] is True
        assert failed["Parameters"]["failed.$"] == "States.Array($.failure)"


def test_the_refine_phase_catches_into_fail_states_named_for_its_step(
    definition: dict[str, Any],
) -> None:
    top = states(definition)
    for suffix in SUFFIXES:
        for step, failure in {
            "StartGlueJob": "GlueJobFailed",
            "StartCrawler": "CrawlerFailed",
            "StartSmokeQuery": "SmokeQueryFailed",
        }.items():
            assert top[step + suffix]["Catch"][0]["Next"] == failure + suffix
        for name, task in top.items():
            if task["Type"] != "Task":
                continue
            (rule,) = task["Catch"]
            target = top[rule["Next"]]
            assert target["Type"] == "Fail", name
            assert rule["ResultPath"] == "$.error", f"{name} must keep the original error"
            assert (target["ErrorPath"], target["CausePath"]) == ("$.error.Error", "$.error.Cause")


def test_the_refine_phase_is_one_template_used_twice(definition: dict[str, Any]) -> None:
    top = states(definition)
    first = {n: s for n, s in top.items() if steps().get(n) in {"Glue job", "Crawler",
             "Athena smoke query", "Check"}}  # fmt: skip
    second = {
        n.removesuffix("AfterRedrive"): s for n, s in top.items() if n.endswith("AfterRedrive")
    }
    assert set(first) == set(second)
    for name, state in first.items():
        mirrored = json.dumps(second[name]).replace("AfterRedrive", "").replace("$.redo.", "$.x.")
        assert mirrored == json.dumps(state).replace("$.refine.", "$.x.").replace(
            '"AnyFailed?"', '"Done"'
        ), name
    assert top["AnyValidated?"]["Choices"][0]["Next"] == "StartGlueJob"
    assert top["AnyRedone?"]["Choices"][0]["Next"] == "StartGlueJobAfterRedrive"
    assert top["Check"]["Choices"][0]["Next"] == "AnyFailed?"
    assert top["CheckAfterRedrive"]["Choices"][0]["Next"] == "Done"


def test_one_glue_run_gets_every_validated_object(definition: dict[str, Any]) -> None:
    top = states(definition)
    assert top["Count"]["Parameters"]["refine"] == {
        "objects.$": "$.scraped.validated",
        "ahead.$": "$.scraped.ahead",
        "days.$": "States.ArrayLength($.scraped.validated)",
    }
    assert top["Collect"]["Parameters"]["validated.$"] == "$.results[*].validated[*]"
    assert top["Collect"]["Parameters"]["ahead.$"] == "$.results[*].ahead[*]"
    assert top["StartGlueJob"]["Parameters"]["Arguments"] == {
        "--objects.$": "States.JsonToString($.refine.objects)",
        "--ahead.$": "States.JsonToString($.refine.ahead)",
    }
    assert top["StartGlueJobAfterRedrive"]["Parameters"]["Arguments"] == {
        "--objects.$": "States.JsonToString($.redo.objects)",
        "--ahead.$": "States.JsonToString($.redo.ahead)",
    }
    assert [n for n, s in every(definition).items() if "glue:startJobRun" in s.get("Resource", "")
            ] == ["StartGlueJob", "StartGlueJobAfterRedrive"]  # fmt: skip


def test_failed_indices_end_the_execution_failed_and_a_redrive_redoes_them(
    definition: dict[str, Any],
) -> None:
    top = states(definition)
    assert top["AnyFailed?"]["Choices"][0]["Next"] == "DescribeFailures"
    finishing = top["FinishFailedIndices"]
    assert finishing["ItemsPath"] == "$.scraped.failed"
    inner = iteration(definition, "FinishFailedIndices")
    first = inner[finishing["ItemProcessor"]["StartAt"]]
    (redriven,) = first["Choices"]
    # RedriveCount is 0 until the execution is redriven (the context object); an endpoint
    # that has no RedriveCount takes the first attempt's way.
    assert redriven["And"] == [
        {"Variable": "$$.Execution.RedriveCount", "IsPresent": True},
        {"Variable": "$$.Execution.RedriveCount", "NumericGreaterThan": 0},
    ]
    failing = inner[inner[first["Default"]]["Next"]]
    assert (failing["Type"], failing["Error"]) == ("Fail", "IndicesFailed")
    # The redo is the same scrape and validation, uncaught: a failure fails the iteration
    # again and the execution stays redrivable there.
    redo = {n: s for n, s in inner.items() if s["Type"] == "Task"}
    assert set(redo) == {"RedoScrape", "RedoValidate", "RedoScrapeAhead"}
    scraping = dict(all_states(top["ScrapeIndices"]["ItemProcessor"]))
    for name, task in redo.items():
        assert "Catch" not in task, name
    assert redo["RedoScrape"]["Retry"] == scraping["Scrape"]["Retry"]
    assert redo["RedoValidate"]["Retry"] == scraping["Validate"]["Retry"]
    assert top["FinishFailedIndices"]["Next"] == "CollectRedone"


def test_the_datasets_ahead_reach_the_glue_run_with_their_pins(definition: dict[str, Any]) -> None:
    """Each scrape ahead's summary keeps the pin of the Parquet it wrote, in both paths;
    a redrive that finished only a dataset ahead still refines it, without the smoke
    query, which counts days."""
    top = states(definition)
    scraping = dict(all_states(top["ScrapeIndices"]["ItemProcessor"]))
    redoing = iteration(definition, "FinishFailedIndices")
    for task in (scraping["ScrapeAheadDataset"], redoing["RedoScrapeAhead"]):
        selected = task["ResultSelector"]
        assert selected["object_sha256.$"] == "$.Payload.object_sha256"
        assert selected["version.$"] == "$.Payload.version"
        assert selected["status.$"] == "$.Payload.status"
    assert top["CollectRedone"]["Parameters"]["ahead.$"] == "$.redone[*].ahead[*]"
    (redone,) = top["AnyRedone?"]["Choices"]
    assert {c["Variable"] for c in redone["Or"]} == {
        "$.redo.counts.validated",
        "$.redo.counts.ahead",
    }
    for suffix, namespace, exit_ in (
        ("", "refine", "AnyFailed?"),
        ("AfterRedrive", "redo", "Done"),
    ):
        counting = top["AnyDayToCount?" + suffix]
        assert counting["Choices"] == [
            {
                "Variable": f"$.{namespace}.days",
                "NumericGreaterThan": 0,
                "Next": "SmokeQueryColumns" + suffix,
            }
        ]
        assert counting["Default"] == exit_
        assert top["CrawlSucceeded?" + suffix]["Choices"][0]["Next"] == "AnyDayToCount?" + suffix


def test_every_loop_is_bounded(definition: dict[str, Any]) -> None:
    all_states_ = states(definition)
    loops = _cycles(all_states_)
    # per refine phase: the Glue job, crawler and Athena polls, and the walk that builds
    # the smoke query
    assert len(loops) == 4 * len(SUFFIXES)
    for cycle in loops:
        choices = [all_states_[n] for n in cycle if all_states_[n]["Type"] == "Choice"]
        counters = [all_states_[n] for n in cycle if all_states_[n]["Type"] == "Pass"]
        assert any("States.MathAdd" in str(c.get("Parameters")) for c in counters), cycle
        for choice in choices:
            for rule in choice["Choices"]:
                if rule["Next"] in cycle:
                    bounded = "'NumericLessThan': 11" in str(rule) or (
                        rule.get("NumericLessThanPath", "").endswith(".sql.n")
                    )
                    assert bounded, (cycle, rule)


def _cycles(all_states_: dict[str, Any]) -> list[set[str]]:
    """The states on each cycle of the graph (one set per loop back-edge)."""
    found: list[set[str]] = []

    def walk(name: str, path: list[str]) -> None:
        if name in path:
            loop = set(path[path.index(name) :])
            if loop not in found:
                found.append(loop)
            return
        for nxt in targets(all_states_[name]):
            walk(nxt, [*path, name])

    walk("Route", [])
    return found


def test_route_sends_each_input_to_the_map(definition: dict[str, Any]) -> None:
    top = states(definition)
    route = top["Route"]
    by_variable = {
        json.dumps(c.get("Variable") or [r["Variable"] for r in c["And"]]): c["Next"]
        for c in route["Choices"]
    }
    assert by_variable == {
        '"$.uri"': "OneObject",
        '["$.indices", "$.ahead"]': "ScheduledIndices",
        '"$.indices"': "ConfiguredAhead",
        '"$.index"': "OneIndex",
    }
    assert top[route["Default"]]["Type"] == "Fail"
    for name in by_variable.values():
        assert top[name]["Next"] == "ScrapeIndices"
        assert top[name]["ResultPath"] == "$.work"
    assert top["OneObject"]["Parameters"] == {
        "items.$": "States.Array($.uri)",
        "mode": "object",
        "ahead": [],
    }


def test_check_compares_athenas_count_with_validates(definition: dict[str, Any]) -> None:
    for suffix, namespace in zip(SUFFIXES, ("refine", "redo"), strict=True):
        (rule,) = states(definition)["Check" + suffix]["Choices"]
        assert (rule["Variable"], rule["NumericEquals"]) == (f"$.{namespace}.smoke.mismatched", 0)


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
        for n, s in every(definition).items()
        if s.get("Resource", "").endswith("lambda:invoke")
    }
    assert set(invokes) == {
        "Scrape", "Validate", "ScrapeAheadDataset", "RedoScrape", "RedoValidate", "RedoScrapeAhead",
    }  # fmt: skip
    for name, task in invokes.items():
        retried = {e for rule in task["Retry"] for e in rule["ErrorEquals"]}
        assert transient <= retried, name


#: What GetJobRun's JobRun always has (Glue API, JobRun structure); ErrorMessage is absent
#: for some terminal states, and a path to an absent field is a States.Runtime error that
#: no Catch sees.
ALWAYS_IN_JOB_RUN = {"$.JobRun", "$.JobRun.Id", "$.JobRun.JobRunState"}


@pytest.mark.parametrize(("suffix", "namespace"), [("", "refine"), ("AfterRedrive", "redo")])
def test_the_glue_failure_is_described_from_fields_every_run_has(
    definition: dict[str, Any], suffix: str, namespace: str
) -> None:
    describe = states(definition)["DescribeGlueJobFailure" + suffix]
    assert set(describe["ResultSelector"].values()) <= ALWAYS_IN_JOB_RUN
    # The message is read only where the Choice before it proved it present.
    choice = states(definition)[describe["Next"]]
    (rule,) = choice["Choices"]
    reads_message = states(definition)[rule["Next"]]
    message = f"$.{namespace}.glue.failed.Run.ErrorMessage"
    assert rule["And"][0] == {"Variable": message, "IsPresent": True}
    assert reads_message["Parameters"]["Cause.$"] == message
    without = states(definition)[choice["Default"]]
    assert "ErrorMessage" not in json.dumps(without)
    for described in (reads_message, without):
        assert described["ResultPath"] == "$.error"
        assert states(definition)[described["Next"]]["Type"] == "Fail"


def test_a_status_check_is_a_state_a_wait_leads_to() -> None:
    """The run's "status checks" count the polls the definition makes, not every Get* state:
    GetLastCrawl and GetSmokeResult read once after their poll loop ends."""
    from datetime import UTC, datetime, timedelta

    from services.deploy.asl import polls
    from services.tool.local.run import fold

    assert {p for p in polls() if not p.endswith("AfterRedrive")} == {
        "GetGlueJobRun",
        "GetCrawler",
        "GetSmokeQuery",
    }
    names = ["WaitForGlueJob", "GetGlueJobRun"] * 3 + ["StartCrawler", "GetLastCrawl"]
    start = datetime(2025, 7, 10, tzinfo=UTC)
    events = []
    for i, name in enumerate(names):
        at = start + timedelta(seconds=i)
        events.append({"type": "TaskStateEntered", "timestamp": at,
                       "stateEnteredEventDetails": {"name": name}})  # fmt: skip
        events.append({"type": "TaskStateExited", "timestamp": at,
                       "stateExitedEventDetails": {"name": name}})  # fmt: skip
    progress = fold(events)
    assert {s.name: s.polls for s in progress.steps} == {"Glue job": 3, "Crawler": 0}

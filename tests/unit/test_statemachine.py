"""The two state machine definitions: valid ASL as committed and as rendered, and redrivable.

AWS reruns the *failed state* with its original input ("Redriving executions"): a Task that
failed after its retries, or only an inline Map's failed iterations; a Fail state reached
through a Catch fails again. No emulator implements RedriveExecution: :func:`redriven` does.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from typing import Any

import jsonata
import pytest
from statelint.linter import Linter

from services.deploy.asl import DIRECTORY, PIPELINE, REFINE, RenderError, render
from services.deploy.deployment import Deployment, state_machine_arn
from services.pipeline import settings
from services.pipeline.b3.indices import INDICES
from services.pipeline.lake.datasets import DATASETS
from services.tool.local.sync import without_sync

DEPLOYMENT = Deployment(prefix="bovespa-test", ahead_datasets=("theoretical",))
SCRAPER = DEPLOYMENT.function_arn(DEPLOYMENT.scraper_function, "us-east-1", "000000000000")
VALIDATE = DEPLOYMENT.function_arn(DEPLOYMENT.validate_function, "us-east-1", "000000000000")
REFINE_ARN = state_machine_arn(DEPLOYMENT.refine_state_machine, "us-east-1", "000000000000")
RENDERED = {
    PIPELINE: render(PIPELINE, DEPLOYMENT.pipeline_values(SCRAPER, VALIDATE, REFINE_ARN)),
    REFINE: render(REFINE, DEPLOYMENT.refine_values()),
}
ASL_VALIDATOR = settings.REPO_ROOT / ".venv" / "npm" / "node_modules" / ".bin" / "asl-validator"
#: The work a rerun must reach: a Lambda call, a refine execution, a Glue run.
WORK = (
    "arn:aws:states:::lambda:invoke",
    "arn:aws:states:::states:startExecution.sync:2",
    "arn:aws:states:::glue:startJobRun.sync",
)
#: The one Fail state of the pipeline: the input itself is wrong, so there is nothing to redo.
INPUT_FAULT = "InputInvalid"
#: Fail states a bad input ends in: a redrive re-enters them, as nothing could succeed.
BAD_INPUT = (INPUT_FAULT, "UnknownIndices")


def machines() -> Iterator[tuple[str, dict[str, Any], dict[str, Any]]]:
    """Each definition, then each of its Map iterations: ``(where, states, containing Map)``."""

    def walk(where: str, definition: dict[str, Any]) -> Iterator[Any]:
        yield where, definition["States"], definition
        for name, state in definition["States"].items():
            if state["Type"] == "Map":
                yield from walk(f"{where}/{name}", state["ItemProcessor"])

    for name, definition in RENDERED.items():
        yield from walk(name, definition)


def next_states(state: dict[str, Any]) -> list[str]:
    """Where ``state`` goes when it succeeds (a Catch is where it goes when it fails)."""
    found = [state["Next"]] if "Next" in state else []
    found += [rule["Next"] for rule in state.get("Choices", [])]
    return found + ([state["Default"]] if "Default" in state else [])


def redriven(states: dict[str, Any], failed: str) -> list[str]:
    """The states a redrive runs from ``failed`` up to work or a Fail state, on every branch."""
    seen, todo, reached = set(), [failed], []
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        state = states[name]
        reached.append(name)
        if state["Type"] == "Fail" or state.get("Resource", "").startswith(WORK):
            continue
        todo += next_states(state)
    return reached


def failure_points(states: dict[str, Any]) -> Iterator[str]:
    """Where an execution can end FAILED: a Task with no Catch (after its retries), a Fail
    state, or (where the Map is) an iteration that fails at one of those."""
    for name, state in states.items():
        if state["Type"] == "Fail" or (state["Type"] == "Task" and "Catch" not in state):
            yield name


def test_every_file_passes_asl_validator_and_statelint_as_committed_and_rendered() -> None:
    for name, rendered in RENDERED.items():
        committed = json.loads((DIRECTORY / name).read_text(encoding="utf-8"))
        for definition in (committed, rendered):
            assert Linter.validate(definition) == [], name
            command = [str(ASL_VALIDATOR), "--json-definition", json.dumps(definition)]
            check = subprocess.run(command, capture_output=True, text=True, check=False)
            assert check.returncode == 0, check.stdout + check.stderr


def test_render_refuses_a_missing_or_an_unknown_value() -> None:
    values = DEPLOYMENT.refine_values()
    with pytest.raises(RenderError, match="missing"):
        render(REFINE, {k: v for k, v in values.items() if k != "GlueJobName"})
    with pytest.raises(RenderError, match="unused"):
        render(REFINE, {**values, "Stray": "x"})


def test_a_redrive_of_every_failed_state_of_the_pipeline_redoes_the_work() -> None:
    for where, states, _ in machines():
        if not where.startswith(PIPELINE):
            continue
        for failed in failure_points(states):
            if failed in BAD_INPUT:
                continue
            rerun = redriven(states, failed)
            assert all(states[name]["Type"] != "Fail" for name in rerun), (where, rerun)
            assert any(states[n].get("Resource", "").startswith(WORK) for n in rerun), where


def test_a_redrive_of_the_refine_state_starts_a_fresh_glue_run() -> None:
    pipeline = RENDERED[PIPELINE]["States"]
    refines = [s for s in pipeline.values() if s.get("Resource", "").startswith(WORK[1])]
    assert len(refines) == 2
    assert all("Catch" not in s and s["Retry"] for s in refines)
    assert {s["Arguments"]["StateMachineArn"] for s in refines} == {REFINE_ARN}
    refine = RENDERED[REFINE]
    walked = redriven(refine["States"], refine["StartAt"])
    assert refine["States"][walked[-1]]["Resource"] == WORK[2]  # a new Glue run, first


def test_a_caught_failure_is_recorded_in_its_iteration_never_a_fail_state() -> None:
    for where, states, _ in machines():
        for state in states.values():
            for catch in state.get("Catch", []):
                rerun = redriven(states, catch["Next"])
                assert all(states[name]["Type"] != "Fail" for name in rerun), (where, rerun)
                assert states[catch["Next"]].get("End"), (where, catch["Next"])


def test_every_lambda_task_retries_transient_errors_and_only_scrapes_retry_b3() -> None:
    for _, states, _ in machines():
        for name, state in states.items():
            if state.get("Resource") != WORK[0]:
                continue
            retried = [e for rule in state["Retry"] for e in rule["ErrorEquals"]]
            assert "Lambda.TooManyRequestsException" in retried, name
            scrapes = state["Arguments"]["FunctionName"] == SCRAPER
            assert ("B3Unavailable" in retried) == scrapes, name
            assert all(rule["JitterStrategy"] == "FULL" for rule in state["Retry"]), name


def evaluate(expression: str, **states: Any) -> Any:
    """A ``{% … %}`` expression of a definition, with ``$states`` (and variables) bound."""
    fields = ("input", "result", "errorOutput")
    bound = {"states": {k: v for k, v in states.items() if k in fields}}
    bound.update({k: v for k, v in states.items() if k not in fields})
    return jsonata.Jsonata(expression.removeprefix("{%").removesuffix("%}")).evaluate(None, bound)


def route(execution_input: dict[str, Any]) -> tuple[str, Any]:
    state = RENDERED[PIPELINE]["States"]["Route"]
    for rule in state["Choices"]:
        if evaluate(rule["Condition"], input=execution_input):
            return rule["Next"], evaluate(rule["Output"], input=execution_input)
    return state["Default"], execution_input


def test_route_sends_each_input_to_its_work() -> None:
    assert route({"indices": ["IBOV", "IBRA"]}) == ("ScrapeIndices", {"items": [
        {"target": code, "mode": "index", "ahead": ["theoretical"]} for code in ("IBOV", "IBRA")
    ]})  # fmt: skip
    assert route({"index": "IBOV", "ahead": []})[1] == {
        "items": [{"target": "IBOV", "mode": "index", "ahead": []}]
    }
    dropped = {"uri": "s3://lake/inbox/index=IBOV/dt=2025-07-10/portfolio.parquet", "version": "v1"}
    backfilled = {"uri": "s3://lake/raw/index=IBOV/dt=2025-07-11/portfolio.parquet"}
    assert route({"objects": [dropped, backfilled, dropped]})[1]["items"] == [
        {"target": dropped["uri"], "mode": "object", "version": "v1", "ahead": []},
        {"target": backfilled["uri"], "mode": "object", "ahead": []},
    ]
    assert route({"objects": [{"uri": f"s3://lake/k{n}"} for n in range(251)]})[0] == INPUT_FAULT
    # what a failed execution left: retried, then refined with the pins it had validated
    failed = [{"target": "IBXX", "mode": "index", "dataset": "day", "error": "B3Unavailable"}]
    left = {"failed": failed, "validated": [{"index": "IBOV"}], "ahead": []}
    state, given = route(left)
    assert (state, given["failed"]) == ("RetryFailed", failed)
    retried = RENDERED[PIPELINE]["States"]["RetryFailed"]["Output"]
    redone = [{"validated": {"index": "IBXX"}, "ahead": {"index": "IBXX", "dataset": "preview"}}]
    assert evaluate(retried, input=given, result=redone) == {
        "validated": [{"index": "IBOV"}, {"index": "IBXX"}],
        "ahead": [{"index": "IBXX", "dataset": "preview"}],
    }
    assert evaluate(retried, input={**left, "failed": failed}, result=redone)["validated"] == [
        {"index": "IBXX"}  # the first pass's pins were refined by then: not again
    ]
    nothing = {"failed": [], "validated": [], "ahead": []}
    assert route(nothing)[0] == route({"failed": failed})[0] == INPUT_FAULT
    assert route({"indices": "IBOV"})[0] == INPUT_FAULT
    names = [dataset.name for dataset in DATASETS]
    twice = route({"indices": ["IBOV", "IBRA", "IBOV"], "ahead": [*names, *names]})[1]
    assert [(i["target"], i["ahead"]) for i in twice["items"]] == [("IBOV", names), ("IBRA", names)]
    refused = [{"indices": []}, {"indices": ["IBOV", 5]}, {"index": ""}, {"uri": "/etc/passwd"},
               {"index": "IBOV", "ahead": ["day"]}, {"index": "IBOV", "ahead": "theoretical"},
               {"objects": [{"uri": 123}]}, {"objects": [{"uri": "s3://b/k", "version": 7}]},
               {"objects": ["s3://b/k"]}, {"objects": {"uri": "s3://b/k"}}, {"objects": []},
               {"uri": "s3://b/k"}]  # fmt: skip
    assert [route(bad)[0] for bad in refused] == [INPUT_FAULT] * len(refused)


def test_a_landed_four_month_download_is_refined_as_a_dataset_ahead_not_a_day() -> None:
    states = RENDERED[PIPELINE]["States"]
    item = states["ScrapeIndices"]["ItemProcessor"]["States"]
    redo = states["RetryFailed"]["ItemProcessor"]["States"]["RedoValidate"]["Output"]
    day = {"index": "IBOV", "dt": "2025-07-10", "sha256": "a" * 64}
    quad = {"index": "IBOV", "dt": "2025-01-02", "dataset": "theoretical", "status": "stored"}
    given = {"target": "s3://lake/inbox/IBOVQuad_1-2025.csv", "mode": "object", "ahead": []}
    for pin, split in (
        (day, {"validated": [day], "ahead": []}),
        (quad, {"validated": [], "ahead": [quad]}),
    ):
        validated = evaluate(item["Validate"]["Output"], input=given, result={"Payload": pin})
        done = evaluate(item["ScrapeAhead"]["Output"], input=validated, result=[])
        assert done == {**split, "failed": []}
        assert evaluate(redo, result={"Payload": pin}) == split
    refine = states["AnyValidated?"]["Choices"][0]["Condition"]
    assert evaluate(refine, input={"validated": [], "ahead": [quad]}) is True
    none = {"dataset": "preview", "status": "none"}
    assert evaluate(refine, input={"validated": [], "ahead": [none]}) is False


def test_codes_b3_does_not_publish_fail_at_once_and_the_others_are_retried() -> None:
    states = RENDERED[PIPELINE]["States"]

    def after(*errors: str) -> tuple[str, Any]:
        failed = [{"target": f"X{n}", "error": error} for n, error in enumerate(errors)]
        data = {"failed": failed, "validated": []}
        choice = states["AnyFailed?"]
        chosen = [c["Next"] for c in choice["Choices"] if evaluate(c["Condition"], input=data)]
        nxt = (chosen or [choice["Default"]])[0]
        return nxt, evaluate(states[nxt]["Cause"], input=data) if nxt == "UnknownIndices" else None

    unknown = "B3 publishes no index by X0, X1: not retried"
    assert after("UnknownIndex", "UnknownIndex") == ("UnknownIndices", unknown)
    assert after("UnknownIndex")[0] == "UnknownIndices"
    assert after("UnknownIndex", "B3Unavailable")[0] == "WaitBeforeRetry"
    assert after("B3Unavailable")[0] == "WaitBeforeRetry"
    assert after()[0] == "Done"


def test_the_check_refuses_any_count_that_differs_or_is_missing() -> None:
    check = RENDERED[REFINE]["States"]["Check"]["Choices"][0]["Condition"]
    cause = RENDERED[REFINE]["States"]["CountMismatch"]["Cause"]
    objects = [{"index": "IBOV", "dt": "2025-07-10", "rows": 84},
               {"index": "IBRA", "dt": "2021-06-22", "rows": 179}]  # fmt: skip
    exact = {"IBOV/2025-07-10": 84, "IBRA/2021-06-22": 179}
    assert evaluate(check, input={"objects": objects, "counts": exact}) is True
    for counts in ({**exact, "IBRA/2021-06-22": 178}, {"IBOV/2025-07-10": 84}, {}):
        assert evaluate(check, input={"objects": objects, "counts": counts}) is False
    told = evaluate(cause, input={"objects": objects, "counts": {"IBOV/2025-07-10": 83}})
    assert "IBOV 2025-07-10 validated 84, refined 83" in told
    assert "IBRA 2021-06-22 validated 179" in told


def test_the_smoke_query_reads_exactly_the_refined_days_partitions() -> None:
    query = RENDERED[REFINE]["States"]["SmokeQuery"]["Arguments"]["QueryString"]
    objects = [{"index": "IBOV", "dt": "2025-07-10"}, {"index": "IBRA", "dt": "2025-07-10"}]
    assert evaluate(query, input={"objects": objects}) == (
        f'SELECT index_code, dt, count(*) AS refined FROM "default"."{DEPLOYMENT.table}" '
        "WHERE dt IN ('2025-07-10') AND index_code IN ('IBOV', 'IBRA') "
        "GROUP BY index_code, dt"
    )


def test_every_index_failing_stays_far_below_the_256_kb_a_state_may_pass() -> None:
    """Step Functions refuses a state's input or output over 256 KB (``States.DataLimitExceeded``,
    which no Catch sees): 34 failure records, each from a long error cut to 300 characters,
    stay under 64 KB."""
    states = RENDERED[PIPELINE]["States"]
    catch = states["ScrapeIndices"]["ItemProcessor"]["States"]["Scrape"]["Catch"][0]["Output"]
    error = {"Error": "B3Unavailable", "Cause": json.dumps({"errorMessage": "x" * 100_000})}
    args = [{"target": code, "mode": "index"} for code in INDICES]
    records = [evaluate(catch, input=arg, errorOutput=error) for arg in args]
    assert len(records[0]["failed"][0]["cause"]) == 300
    assert {(f["target"], f["dataset"], f["error"]) for r in records for f in r["failed"]} == {
        (code, "day", "B3Unavailable") for code in INDICES
    }
    collected = evaluate(states["ScrapeIndices"]["Output"], result=records)
    waited = evaluate(states["WaitBeforeRetry"]["Output"], input=collected)
    assert waited["summary"].startswith(f"{len(INDICES)} failed, 0 validated and refined; ")
    assert all(f"{code} day: B3Unavailable" in waited["summary"] for code in INDICES)
    for data in (collected, waited):
        assert 10_000 < len(json.dumps(data)) <= 64 * 1024


def test_the_local_glue_poll_fails_the_task_as_sync_does_with_the_run_as_cause() -> None:
    """The local stand-in for ``glue:startJobRun.sync`` (``services/tool/local/sync.py``)."""
    states = without_sync(RENDERED[REFINE])["States"]
    done = states["GlueJobDone?"]

    def after(run: dict[str, Any]) -> str:
        chosen = (r["Next"] for r in done["Choices"] if evaluate(r["Condition"], GlueJobRun=run))
        return next(chosen, done["Default"])

    failed = {"Id": "jr_1", "JobRunState": "FAILED", "ErrorMessage": "NoSuchBucket: lake"}
    running = [after({"JobRunState": s}) for s in ("RUNNING", "WAITING", "SUCCEEDED")]
    assert running == ["GlueJobWait", "GlueJobWait", "GlueJobResult"]
    assert after(failed) == after({"JobRunState": "TIMEOUT"}) == "GlueJobFailed"
    assert states["GlueJobFailed"]["Error"] == "States.TaskFailed"
    assert json.loads(evaluate(states["GlueJobFailed"]["Cause"], GlueJobRun=failed)) == failed
    result = evaluate(states["GlueJobResult"]["Output"], input={"objects": []}, GlueJobRun=failed)
    assert result == {"objects": [], "glue_run": "jr_1"}

"""``.sync`` service integrations for an emulator that has none (MiniStack 1.5.33): each such
Task becomes what Step Functions does for it ("Run a Job (.sync)", Step Functions Developer
Guide): the start call, a poll every 30 s, and the same result or ``States.TaskFailed``. The
Task's ``Output`` and ``Assign`` read the run where they read ``$states.result``."""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Poll:
    """How Step Functions waits for one service's run."""

    get: str
    #: The get call's arguments, from the start call's result (``$states.result``).
    get_arguments: dict[str, str]
    #: The run as ``.sync`` returns it, and its state, from the get call's result.
    run: str
    state: str
    running: tuple[str, ...]


POLLS = {
    "arn:aws:states:::glue:startJobRun.sync": Poll(
        get="arn:aws:states:::aws-sdk:glue:getJobRun",
        get_arguments={"RunId": "{% $states.result.JobRunId %}"},
        run="$states.result.JobRun",
        state="JobRunState",
        running=("STARTING", "RUNNING", "STOPPING", "WAITING"),
    ),
    "arn:aws:states:::athena:startQueryExecution.sync": Poll(
        get="arn:aws:states:::aws-sdk:athena:getQueryExecution",
        get_arguments={"QueryExecutionId": "{% $states.result.QueryExecutionId %}"},
        run="$states.result",
        state="QueryExecution.Status.State",
        running=("QUEUED", "RUNNING"),
    ),
}


def without_sync(definition: dict[str, Any]) -> dict[str, Any]:
    """``definition`` (JSONata, top-level states) with every ``.sync`` Task of :data:`POLLS`
    replaced by its start call and poll loop."""
    states: dict[str, Any] = {}
    for name, state in definition["States"].items():
        poll = POLLS.get(state.get("Resource", ""))
        states.update(_polled(name, state, poll) if poll else {name: state})
    return {**definition, "States": states}


def _polled(name: str, task: dict[str, Any], poll: Poll) -> dict[str, Any]:
    run = f"{name}Run"  # the variable that holds the run, as ``.sync`` returns it
    arguments = {key: value for key, value in task["Arguments"].items() if key == "JobName"}
    kept = {key: task[key] for key in ("Output", "Assign") if key in task}
    done = json.loads(json.dumps(kept).replace("$states.result", f"${run}"))
    running = " or ".join(f"${run}.{poll.state} = '{state}'" for state in poll.running)
    started = {
        k: v.replace("$states.result", f"${run}Start") for k, v in poll.get_arguments.items()
    }
    succeeded = f"{{% ${run}.{poll.state} = 'SUCCEEDED' %}}"
    failed = {"Type": "Fail", "Error": "States.TaskFailed", "Cause": f"{{% $string(${run}) %}}"}
    return {
        name: {
            **{key: copy.deepcopy(value) for key, value in task.items() if key not in kept},
            # the start call: ``…:::glue:startJobRun.sync`` -> ``…:::aws-sdk:glue:startJobRun``
            "Resource": task["Resource"].removesuffix(".sync").replace(":::", ":::aws-sdk:"),
            "Output": "{% $states.input %}",
            "Assign": {f"{run}Start": "{% $states.result %}"},
            "Next": f"{name}Wait",
        },
        f"{name}Wait": {"Type": "Wait", "Seconds": 30, "Next": f"{name}Poll"},
        f"{name}Poll": {
            "Type": "Task",
            "Resource": poll.get,
            "Arguments": {**arguments, **started},
            "Output": "{% $states.input %}",
            "Assign": {run: "{% " + poll.run + " %}"},
            "Next": f"{name}Done?",
        },
        f"{name}Done?": {
            "Type": "Choice",
            "Choices": [
                {"Condition": "{% " + running + " %}", "Next": f"{name}Wait"},
                {"Condition": succeeded, "Next": f"{name}Result"},
            ],
            "Default": f"{name}Failed",
        },
        f"{name}Failed": failed,
        f"{name}Result": {"Type": "Pass", **done, "Next": task["Next"]},
    }

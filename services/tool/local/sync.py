"""``.sync`` service integrations for an emulator that has none (MiniStack 1.5.33).

On AWS, a Task on ``arn:aws:states:::glue:startJobRun.sync`` (or Athena's
``startQueryExecution.sync``) starts the run and waits for it; it fails with
``States.TaskFailed`` and the run as its cause ("Run a Job (.sync)", Step Functions
Developer Guide: https://docs.aws.amazon.com/step-functions/latest/dg/connect-to-resource.html).
MiniStack runs neither, so the local deployment, and only it, replaces each such Task by what
Step Functions does for it: the start call, a poll every 30 s (scaled down locally by
``SFN_WAIT_SCALE``), and the same result or the same error. The original Task's ``Output``
and ``Assign`` are kept, reading the run where they read ``$states.result``.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Poll:
    """How Step Functions waits for one service's run."""

    start: str
    get: str
    #: The get call's arguments, from the start call's result (``$states.result``).
    get_arguments: dict[str, str]
    #: The run as ``.sync`` returns it, and its state, from the get call's result.
    run: str
    state: str
    running: tuple[str, ...]


POLLS = {
    "arn:aws:states:::glue:startJobRun.sync": Poll(
        start="arn:aws:states:::aws-sdk:glue:startJobRun",
        get="arn:aws:states:::aws-sdk:glue:getJobRun",
        get_arguments={"RunId": "{% $states.result.JobRunId %}"},
        run="$states.result.JobRun",
        state="JobRunState",
        running=("STARTING", "RUNNING", "STOPPING", "WAITING"),
    ),
    "arn:aws:states:::athena:startQueryExecution.sync": Poll(
        start="arn:aws:states:::aws-sdk:athena:startQueryExecution",
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
    return {
        name: {
            **{key: copy.deepcopy(value) for key, value in task.items() if key not in kept},
            "Resource": poll.start,
            "Output": "{% $states.input %}",
            "Assign": {f"{run}Start": "{% $states.result %}"},
            "Next": f"{name}Wait",
        },
        f"{name}Wait": {"Type": "Wait", "Seconds": 30, "Next": f"{name}Poll"},
        f"{name}Poll": {
            "Type": "Task",
            "Resource": poll.get,
            "Arguments": {
                **arguments,
                **{
                    key: value.replace("$states.result", f"${run}Start")
                    for key, value in poll.get_arguments.items()
                },
            },
            "Output": "{% $states.input %}",
            "Assign": {run: "{% " + poll.run + " %}"},
            "Next": f"{name}Done?",
        },
        f"{name}Done?": {
            "Type": "Choice",
            "Choices": [
                {"Condition": "{% " + running + " %}", "Next": f"{name}Wait"},
                {
                    "Condition": f"{{% ${run}.{poll.state} = 'SUCCEEDED' %}}",
                    "Next": f"{name}Result",
                },
            ],
            "Default": f"{name}Failed",
        },
        f"{name}Failed": {
            "Type": "Fail",
            "Error": "States.TaskFailed",
            "Cause": f"{{% $string(${run}) %}}",
        },
        f"{name}Result": {"Type": "Pass", **done, "Next": task["Next"]},
    }

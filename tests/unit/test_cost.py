"""The cost model on known inputs: billing minimums, designs, prices, the stacks it reads."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from services.deploy.asl import render
from services.deploy.cost import (
    ASSUMED,
    BASE_REGION,
    MB,
    MEASURED,
    MEASURED_FILE,
    PRICES,
    Measured,
    Stack,
    athena_billed_bytes,
    compare,
    crawler_billed_seconds,
    estimate,
    glue_billed_seconds,
    map_iteration_states,
    markdown_comparison,
    price,
    read_measured,
    read_stack,
    transitions,
)
from services.deploy.cost import usd as dollars
from services.deploy.deployment import FUNCTION_LIMITS
from services.pipeline import settings
from services.pipeline.b3.indices import INDICES
from services.tool.local.deploy import LOCAL
from tests.pulumi_mocks import CONFIG, run_program

US = Stack("test", "us-east-1", ("IBOV",))


def lines(design: str, stack: Stack = US, **kw: object) -> dict[str, Decimal]:
    return {line.service: line.quantity for line in estimate(stack, design, **kw).lines}  # type: ignore[arg-type]


def usd(design: str, service: str, stack: Stack = US, **kw: object) -> Decimal:
    (found,) = [
        line.usd
        for line in estimate(stack, design, **kw).lines  # type: ignore[arg-type]
        if line.service == service
    ]
    return found


def bench(seconds_for_ibov: float) -> Measured:
    """A bench whose Glue job takes ``seconds_for_ibov`` for IBOV's files, 1 s more per 100."""
    files = INDICES["IBOV"].members
    return Measured("test", ((files, seconds_for_ibov), (files + 100, seconds_for_ibov + 1)),
                    scrape_page_s=0.5, validate_s=0.5, athena_s=1.0)  # fmt: skip


def test_glue_bills_per_second_with_a_one_minute_minimum() -> None:
    assert glue_billed_seconds(75) == 75
    assert glue_billed_seconds(40) == 60
    assert glue_billed_seconds(60.2) == 61
    # a 75-second job on 2 G.1X workers (2 DPUs) bills 2 x 75 DPU-seconds; a 40-second one 2 x 60
    assert lines("per-index", measured=bench(75))["Glue job"] == 150
    assert lines("per-index", measured=bench(40))["Glue job"] == 120
    assert usd("per-index", "Glue job", measured=bench(75)) == Decimal("0.44") * 150 / 3600
    g2x = Stack("test", "us-east-1", ("IBOV",), glue_worker_type="G.2X", glue_workers=3)
    assert lines("per-index", g2x, measured=bench(75))["Glue job"] == 6 * 75


def test_flex_prices_the_same_seconds_lower() -> None:
    standard = usd("per-index", "Glue job", measured=bench(75))
    flex = usd("per-index", "Glue job", measured=bench(75), flex=True)
    assert flex == Decimal("0.29") * 150 / 3600 < standard


def test_a_crawl_bills_at_least_ten_minutes() -> None:
    assert crawler_billed_seconds(180) == 600
    assert crawler_billed_seconds(601) == 601
    dpus = ASSUMED["crawler_dpus"][0]
    assert lines("per-index")["Glue crawler"] == 600 * dpus


def test_an_athena_query_bills_at_least_ten_megabytes() -> None:
    assert athena_billed_bytes(0) == athena_billed_bytes(5 * MB) == 10 * MB
    assert athena_billed_bytes(11 * MB) == 11 * MB
    assert usd("per-index", "Athena") == Decimal("5.00") * 10 * MB / 1024**4


def test_one_execution_runs_one_job_one_crawl_one_query_for_every_index() -> None:
    five = ("IBOV", "IBXX", "IBXL", "SMLL", "IDIV")
    today = lines("per-index", indices=five, measured=bench(40))
    proposed = lines("one-execution", indices=five, measured=bench(40))
    assert today["Glue job"] == 5 * 120  # five runs, each at the minimum
    assert proposed["Glue job"] == 120  # one run, still under a minute here
    assert today["Glue crawler"] == 5 * proposed["Glue crawler"]
    assert today["Athena"] == 5 * 10 * MB
    assert proposed["Athena"] == 10 * MB
    # the scrapes (the day and two datasets ahead), validations and triggers are the same
    # in both designs
    assert today["Lambda requests"] == proposed["Lambda requests"] == 5 * (1 + 2 + 1 + 1)
    assert today["Lambda duration"] == proposed["Lambda duration"]
    one, many = (estimate(US, d, five, measured=bench(40)) for d in ("one-execution", "per-index"))
    assert one.per_run < many.per_run
    assert one.per_month < many.per_month


def test_a_month_is_21_sessions_plus_what_is_stored() -> None:
    run = estimate(US, "per-index")
    stored = sum(line.usd for line in run.lines if line.monthly_only)
    assert run.per_month == run.per_run * 21 + stored


def test_an_index_of_two_pages_scrapes_twice_as_long() -> None:
    ibov, ibra = (
        lines("per-index", indices=(code,))["Lambda duration"] for code in ("IBOV", "IBRA")
    )
    scrape = (
        Decimal(FUNCTION_LIMITS["scraper"].memory_mb) / 1024 * Decimal(str(MEASURED.scrape_page_s))
    )
    assert ibra - ibov == scrape


def walk(machine: dict[str, Any], picks: list[str], maps: dict[str, tuple[int, list[str]]]) -> int:
    """States entered by one execution of ``machine``, taking ``picks`` at each Choice in
    order; a Map in ``maps`` runs its iteration ``count`` times with its own picks."""
    states: dict[str, Any] = machine["States"]
    name, entered, choices = str(machine["StartAt"]), 0, iter(picks)
    while True:
        state = states[name]
        entered += 1
        if state["Type"] == "Map":
            count, inner = maps[name]
            entered += count * walk(state["ItemProcessor"], inner, maps)
        if state["Type"] == "Succeed" or state.get("End"):
            return entered
        if state["Type"] == "Choice":
            pick = next(choices)
            options = [c["Next"] for c in state["Choices"]] + [state.get("Default")]
            assert pick in options, (name, pick, options)
            name = pick
        else:
            name = str(state["Next"])


@pytest.mark.parametrize(
    ("indices", "ahead", "glue", "crawler", "athena"),
    [(1, 0, 1, 1, 1), (3, 2, 3, 2, 1), (5, 1, 2, 5, 4)],
)
def test_transitions_are_the_states_a_successful_execution_enters(
    indices: int, ahead: int, glue: int, crawler: int, athena: int
) -> None:
    machine = render(LOCAL.state_machine_values("arn:scraper", "arn:validate"))
    picks = (
        ["ConfiguredAhead", "StartGlueJob"]
        + ["CountGlueJobPoll"] * (glue - 1) + ["StartCrawler"]
        + ["CountCrawlerPoll"] * (crawler - 1)
        + ["GetLastCrawl", "AnyDayToCount?", "SmokeQueryColumns"]
        + ["SmokeQueryAddRow"] * (indices - 1) + ["StartSmokeQuery"]
        + ["CountSmokeQueryPoll"] * (athena - 1) + ["GetSmokeResult", "AnyFailed?", "Done"]
    )  # fmt: skip
    maps = {"ScrapeIndices": (indices, ["Scrape"]), "ScrapeAhead": (ahead, [])}
    assert walk(machine, picks, maps) == transitions(indices, ahead, glue, crawler, athena)
    # the iteration of an index: its route, Scrape, Validate, the Map ahead and its end
    assert map_iteration_states(ahead) == 5 + 2 * ahead


def test_every_price_has_a_source_and_us_east_1_has_them_all() -> None:
    keys = [(p.item, p.region) for p in PRICES]
    assert len(keys) == len(set(keys))
    items = {p.item for p in PRICES}
    assert {p.item for p in PRICES if p.region == BASE_REGION} == items
    assert all(p.source.startswith("https://") and p.usd > 0 for p in PRICES)


def test_sao_paulo_prices_where_recorded_and_marked_where_not() -> None:
    s3, assumed = price("s3_gb_month", "sa-east-1")
    assert (s3.usd, s3.region, assumed) == (Decimal("0.0405"), "sa-east-1", False)
    glue, assumed = price("glue_dpu_hour", "sa-east-1")
    assert (glue.region, assumed) == ("us-east-1", True)
    sp = Stack("sp", "sa-east-1", ("IBOV",))
    marked = {line.service for line in estimate(sp, "per-index").lines if line.assumed_price}
    assert "Glue job" in marked
    assert "S3 PUT, LIST" not in marked


def test_the_example_stacks_are_read_as_pulumi_reads_them() -> None:
    dev, prod = read_stack("dev"), read_stack("prod")
    assert (dev.region, dev.indices, dev.glue_worker_type, dev.dpus) == (
        "us-east-1", ("IBOV",), "G.1X", 2,
    )  # fmt: skip
    assert (prod.region, prod.indices) == ("sa-east-1", ("IBOV", "IBXX", "IBXL", "SMLL", "IDIV"))


def test_defaults_agree_with_the_pulumi_program(tmp_path: Path) -> None:
    (tmp_path / "Pulumi.bare.yaml").write_text("config:\n  aws:region: us-east-1\n")
    bare = read_stack("bare", tmp_path)
    declared = run_program({"prefix": "bovespa-bare"})
    job = declared.one("aws:glue/job:Job").inputs
    assert (job["workerType"], job["numberOfWorkers"]) == (bare.glue_worker_type, bare.glue_workers)
    (schedule,) = declared.of_type("aws:scheduler/schedule:Schedule")
    assert json.loads(schedule.inputs["target"]["input"])["indices"] == list(bare.indices)
    definition = json.loads(declared.one("aws:sfn/stateMachine:StateMachine").inputs["definition"])
    ahead = definition["States"]["ConfiguredAhead"]["Parameters"]["ahead"]
    assert len(ahead) == bare.ahead_datasets


def test_lambda_memory_is_what_the_pulumi_program_declares() -> None:
    declared = run_program(CONFIG)
    memory = {
        f.inputs["name"].rsplit("-", 1)[1]: f.inputs["memorySize"]
        for f in declared.of_type("aws:lambda/function:Function")
    }
    assert memory == {name: limits.memory_mb for name, limits in FUNCTION_LIMITS.items()}


def test_a_missing_stack_or_worker_type_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="no stack 'nope': Pulumi.nope.yaml not found"):
        read_stack("nope", tmp_path)
    (tmp_path / "Pulumi.odd.yaml").write_text("config:\n  bovespa-pipeline:glueWorkerType: Z.9X\n")
    with pytest.raises(ValueError, match="'Z.9X' is not a Glue worker type"):
        read_stack("odd", tmp_path)


def test_the_readme_shows_the_models_figures() -> None:
    readme = (settings.REPO_ROOT / "README.md").read_text()
    assert markdown_comparison(read_stack("dev")) in readme


def test_the_readmes_prod_row_is_the_prod_stacks_indices(tmp_path: Path) -> None:
    """The row once spelled prod's five indices again; it reads ``Pulumi.prod.yaml``."""
    (tmp_path / "Pulumi.prod.yaml").write_text(
        "config:\n  bovespa-pipeline:indices:\n    - IBOV\n    - SMLL\n"
    )
    rows = markdown_comparison(US, tmp_path).splitlines()
    (prod,) = [row for row in rows if "Pulumi.prod.yaml" in row]
    (two,) = compare(US, [("", ("IBOV", "SMLL"))])
    assert prod.startswith(f"| 2: Pulumi.prod.yaml's | {dollars(two['per_index_run'])} |")


def test_the_glue_job_duration_follows_the_bench_between_and_beyond_its_runs() -> None:
    runs = Measured("t", ((2_000, 40.0), (100, 10.0), (1_000, 20.0)), 0.5, 0.5, 1.0)
    assert runs.glue_seconds(100) == 10.0
    assert runs.glue_seconds(550) == 15.0
    assert runs.glue_seconds(1_500) == 30.0
    assert runs.glue_seconds(3_000) == 60.0  # the last segment, extended


def test_the_model_reads_the_one_record_make_bench_writes(tmp_path: Path) -> None:
    import services.tool.bench

    # one file: the bench writes where the model reads, and names no other
    assert '"measured.json"' not in Path(services.tool.bench.__file__).read_text()
    assert read_measured(MEASURED_FILE) == MEASURED
    assert MEASURED.source.startswith("make bench, ")
    record = json.loads(MEASURED_FILE.read_text())
    record["glue_runs"] = [[84, 9.5], [2_698, 31.0]]
    (tmp_path / "measured.json").write_text(json.dumps(record))
    assert read_measured(tmp_path / "measured.json").glue_runs == ((84, 9.5), (2_698, 31.0))

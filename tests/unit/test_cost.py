"""The cost model on known inputs: billing minimums, the state transitions walked on the
definitions, a day in month 1 against month 12, prices, the stacks it reads."""

from __future__ import annotations

import json
import re
from decimal import Decimal
from pathlib import Path

import pytest

from services.deploy.asl import PIPELINE, REFINE, all_states
from services.deploy.cost import (
    ASSUMED,
    BASE_REGION,
    GB,
    MB,
    MEASURED,
    MEASURED_FILE,
    PIPELINE_ROUTE,
    PRICES,
    Line,
    Measured,
    Stack,
    athena_billed_bytes,
    crawl_polls,
    crawler_billed_seconds,
    definition,
    entered,
    estimate,
    estimates,
    glue_billed_seconds,
    markdown_table,
    price,
    read_measured,
    read_stack,
    transitions,
    usd,
)
from services.deploy.deployment import FUNCTION_LIMITS
from services.pipeline import settings
from services.pipeline.b3.indices import INDICES
from tests.pulumi_mocks import CONFIG, run_program

US = Stack("test", "us-east-1", ("IBOV",))


def lines(stack: Stack = US, month: int = 1, **kw: object) -> dict[str, Line]:
    return {line.service: line for line in estimate(stack, month, **kw).lines}  # type: ignore[arg-type]


def bench(seconds_for_ibov: float) -> Measured:
    """A bench whose Glue job takes ``seconds_for_ibov`` for IBOV's files, 1 s more per 100."""
    files = INDICES["IBOV"].members
    return Measured("test", ((files, seconds_for_ibov), (files + 100, seconds_for_ibov + 1)),
                    scrape_page_s=0.5, validate_s=0.5)  # fmt: skip


def test_glue_bills_per_second_with_a_one_minute_minimum() -> None:
    assert (glue_billed_seconds(75), glue_billed_seconds(40), glue_billed_seconds(60.2)) == (
        75, 60, 61,
    )  # fmt: skip
    # a 75-second job on 2 G.1X workers (2 DPUs) bills 2 x 75 DPU-seconds; a 40-second one 2 x 60
    assert lines(measured=bench(75))["Glue job"].quantity == 150
    assert lines(measured=bench(40))["Glue job"].quantity == 120
    assert lines(measured=bench(75))["Glue job"].usd == Decimal("0.44") * 150 / 3600
    g2x = Stack("test", "us-east-1", ("IBOV",), glue_worker_type="G.2X", glue_workers=3)
    assert lines(g2x, measured=bench(75))["Glue job"].quantity == 6 * 75
    flex = lines(measured=bench(75), flex=True)["Glue job"].usd
    assert flex == Decimal("0.29") * 150 / 3600


def test_a_crawl_bills_ten_minutes_and_a_query_ten_megabytes_at_least() -> None:
    assert (crawler_billed_seconds(180), crawler_billed_seconds(601)) == (600, 601)
    assert lines()["Glue crawler"].quantity == 600 * ASSUMED["crawler_dpus"][0]
    assert athena_billed_bytes(0) == athena_billed_bytes(5 * MB) == 10 * MB
    assert athena_billed_bytes(11 * MB) == 11 * MB
    assert lines()["Athena"].usd == Decimal("5.00") * 10 * MB / 1024**4
    # all 34 indices: the query reads the day's refined files only, over the minimum
    files = sum(index.members for index in INDICES.values())
    assert lines(indices=tuple(INDICES))["Athena"].quantity == files * MEASURED.refined_file_bytes


def test_a_successful_day_enters_these_states() -> None:
    """One index, two datasets ahead, a crawl seen done at its second poll: named by hand."""
    pipeline = ["Route", "ScrapeIndices", "Dropped?", "Scrape", "Validate", "ScrapeAhead",
                "ScrapeAheadDataset", "ScrapeAheadDataset", "AnyValidated?", "Refine",
                "AnyFailed?", "Done"]  # fmt: skip
    refine = ["GlueJob", "Crawl"] + ["WaitForCrawl", "GetCrawler", "Crawled?"] * 2
    refine += ["AnyDay?", "SmokeQuery", "SmokeResult", "Check", "Refined"]
    for name, walked in ((PIPELINE, pipeline), (REFINE, refine)):
        assert set(walked) <= {state for state, _ in all_states(definition(name))}
    assert transitions(1, 2, 2) == len(pipeline) + len(refine) == 25
    # Step Functions waits for the Glue run, the child execution and the query itself
    resources = {name: s.get("Resource", "") for name, s in all_states(definition(REFINE))}
    assert resources["GlueJob"].endswith(":glue:startJobRun.sync")
    assert resources["SmokeQuery"].endswith(":athena:startQueryExecution.sync")
    refine_task = definition(PIPELINE)["States"]["Refine"]["Resource"]
    assert refine_task.endswith(":states:startExecution.sync:2")


@pytest.mark.parametrize(("indices", "ahead", "polls"), [(3, 0, 1), (5, 2, 4), (34, 1, 3)])
def test_transitions_grow_by_the_iterations_and_the_polls(
    indices: int, ahead: int, polls: int
) -> None:
    # 6 pipeline states, 4 per index and 1 per dataset ahead; 7 refine states, 3 per poll
    assert transitions(indices, ahead, polls) == 6 + indices * (4 + ahead) + 7 + 3 * polls


def test_the_crawl_is_polled_every_30_seconds_and_the_walk_keeps_to_the_definition() -> None:
    assert (crawl_polls(1), crawl_polls(60), crawl_polls(61)) == (1, 2, 3)
    polls = crawl_polls(ASSUMED["crawl_s"][0])
    assert lines()["Step Functions"].quantity == transitions(1, 2, polls)
    wrong = {**PIPELINE_ROUTE, "AnyFailed?": "Refine"}
    with pytest.raises(ValueError, match="AnyFailed\\? does not go to Refine"):
        entered(definition(PIPELINE), wrong, {"ScrapeIndices": 1, "ScrapeAhead": 0})


def test_month_12_costs_what_month_1_does_but_the_storage() -> None:
    """The crawl lists only the day's new folders: its cost does not grow with the lake."""
    for stack in (US, read_stack("prod")):
        first, twelfth = (lines(stack, month) for month in (1, 12))
        assert twelfth["Glue crawler"].usd == first["Glue crawler"].usd > 0
        for service in set(first) - {"S3 storage"}:
            assert twelfth[service] == first[service], service
        assert twelfth["S3 storage"].quantity == 12 * first["S3 storage"].quantity
    stored = 21 * INDICES["IBOV"].members * (MEASURED.refined_file_bytes + MEASURED.raw_asset_bytes)
    storage = lines()["S3 storage"]
    assert storage.quantity == Decimal(stored) / GB
    # a day bears 1/21 of the month's GB-months: the month pays them whole
    assert abs(storage.per_month - storage.quantity * Decimal("0.023")) < Decimal("1e-20")
    one, twelve = estimates(US)
    assert (one.month, twelve.month) == (1, 12)
    assert twelve.per_day > one.per_day
    assert one.per_month == one.per_day * 21


def test_lambda_runs_the_scrapes_and_validate_but_not_the_trigger() -> None:
    # the day's scrape, two datasets ahead, Validate; the trigger wakes for inbox/ only
    assert lines()["Lambda requests"].quantity == 4
    ibov, ibra = (lines(indices=(code,))["Lambda duration"].quantity for code in ("IBOV", "IBRA"))
    scrape = Decimal(FUNCTION_LIMITS["scraper"].memory_mb) / 1024
    assert ibra - ibov == scrape * Decimal(str(MEASURED.scrape_page_s))  # a second B3 page


def test_every_price_has_a_source_and_us_east_1_has_them_all() -> None:
    keys = [(p.item, p.region) for p in PRICES]
    assert len(keys) == len(set(keys))
    assert {p.item for p in PRICES if p.region == BASE_REGION} == {p.item for p in PRICES}
    assert all(p.source.startswith("https://") and p.usd > 0 for p in PRICES)


def test_sao_paulo_prices_where_recorded_and_marked_where_not() -> None:
    s3, assumed = price("s3_gb_month", "sa-east-1")
    assert (s3.usd, s3.region, assumed) == (Decimal("0.0405"), "sa-east-1", False)
    glue, assumed = price("glue_dpu_hour", "sa-east-1")
    assert (glue.region, assumed) == ("us-east-1", True)
    sp = lines(Stack("sp", "sa-east-1", ("IBOV",)))
    assert sp["Glue job"].assumed_price
    assert not sp["S3 PUT, LIST"].assumed_price


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
    machine = declared.one("aws:sfn/stateMachine:StateMachine", "bovespa-bare-pipeline")
    ahead = re.search(r"\$split\('([^']*)', ','\)", machine.inputs["definition"])
    assert ahead is not None
    assert len(ahead[1].split(",")) == bare.ahead_datasets


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
    assert markdown_table(read_stack("dev")) in readme


def test_the_readmes_prod_row_is_the_prod_stacks_indices(tmp_path: Path) -> None:
    (tmp_path / "Pulumi.prod.yaml").write_text(
        "config:\n  bovespa-pipeline:indices:\n    - IBOV\n    - SMLL\n"
    )
    (prod,) = [row for row in markdown_table(US, tmp_path).splitlines() if "Pulumi.prod" in row]
    one, twelve = estimates(US, ("IBOV", "SMLL"))
    assert prod.startswith(f"| 2: Pulumi.prod.yaml's | {usd(one.per_day)} |")
    assert prod.endswith(f"| {usd(twelve.per_month, '0.01')} |")


def test_the_glue_job_duration_follows_the_bench_between_and_beyond_its_runs() -> None:
    runs = Measured("t", ((2_000, 40.0), (100, 10.0), (1_000, 20.0)), 0.5, 0.5)
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

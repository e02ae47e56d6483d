"""The cost model on known inputs: billing minimums, the state transitions walked on the
definitions, month 1 against month 12, prices by region."""

from __future__ import annotations

from decimal import Decimal

import pytest
import yaml

from services.deploy.asl import PIPELINE, REFINE, all_states
from services.deploy.cost import (
    GB,
    MB,
    MEASURED,
    PIPELINE_ROUTE,
    Line,
    Measured,
    Stack,
    definition,
    entered,
    estimate,
    read_stack,
    transitions,
)
from services.deploy.stack_settings import EXAMPLES, StackConfig
from services.pipeline import settings
from services.pipeline.b3.indices import INDICES

US = Stack("test", "us-east-1", StackConfig(indices=("IBOV",)))


def lines(stack: Stack = US, month: int = 1, **kw: object) -> dict[str, Line]:
    return {line.service: line for line in estimate(stack, month, **kw).lines}  # type: ignore[arg-type]


def bench(seconds_for_ibov: float) -> Measured:
    """A bench whose Glue job takes ``seconds_for_ibov`` for IBOV's files, 1 s more per 100."""
    files = INDICES["IBOV"].members
    return Measured("test", ((files, seconds_for_ibov), (files + 100, seconds_for_ibov + 1)),
                    scrape_page_s=0.5, validate_s=0.5)  # fmt: skip


def test_glue_bills_dpu_seconds_with_a_one_minute_minimum() -> None:
    # 75 s on 2 G.1X workers (2 DPUs) bills 2 x 75 DPU-seconds; 40 s bills 2 x 60
    assert lines(measured=bench(75))["Glue job"].quantity == 150
    assert lines(measured=bench(40))["Glue job"].quantity == 120
    assert lines(measured=bench(75))["Glue job"].usd == Decimal("0.44") * 150 / 3600
    g2x = Stack("test", "us-east-1", StackConfig(glue_worker_type="G.2X", glue_workers=3))
    assert lines(g2x, measured=bench(75))["Glue job"].quantity == 6 * 75
    assert lines(measured=bench(75), flex=True)["Glue job"].usd == Decimal("0.29") * 150 / 3600


def test_a_crawl_bills_ten_minutes_and_a_query_ten_megabytes_at_least() -> None:
    assert lines()["Glue crawler"].quantity == 600 * 2
    assert lines()["Athena"].quantity == 10 * MB
    assert lines()["Athena"].usd == Decimal("5.00") * 10 * MB / 1024**4
    files = sum(index.members for index in INDICES.values())  # all 34: over the minimum
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
    assert transitions(1, 2, 60) == len(pipeline) + len(refine) == 25
    assert lines()["Step Functions"].quantity == 25  # a 60 s crawl: two 30 s polls
    # 6 pipeline states, 4 per index and 1 per dataset ahead; 7 refine states, 3 per poll
    assert transitions(34, 1, 90) == 6 + 34 * (4 + 1) + 7 + 3 * 3
    wrong = {**PIPELINE_ROUTE, "AnyFailed?": "Refine"}
    with pytest.raises(ValueError, match="AnyFailed\\? does not go to Refine"):
        entered(definition(PIPELINE), wrong, {"ScrapeIndices": 1, "ScrapeAhead": 0})


def test_the_example_stacks_are_not_where_pulumi_config_set_writes() -> None:
    """Else a user's ``pulumi config set`` would change what ``bovespa cost`` prints."""
    project = yaml.safe_load((settings.REPO_ROOT / "Pulumi.yaml").read_text("utf-8"))
    assert (settings.REPO_ROOT / project.get("stackConfigDir", "")).resolve() != EXAMPLES.resolve()


def test_month_12_costs_what_month_1_does_but_the_storage() -> None:
    """The crawl lists only the day's new folders: its cost does not grow with the lake."""
    for stack in (US, read_stack("prod")):
        first, twelfth = (lines(stack, month) for month in (1, 12))
        for service in set(first) - {"S3 storage"}:
            assert twelfth[service] == first[service], service
        assert twelfth["S3 storage"].quantity == 12 * first["S3 storage"].quantity
    stored = 21 * INDICES["IBOV"].members * (MEASURED.refined_file_bytes + MEASURED.raw_asset_bytes)
    storage = lines()["S3 storage"]
    assert storage.quantity == Decimal(stored) / GB
    # a day bears 1/21 of the month's GB-months
    assert abs(storage.usd * 21 - storage.quantity * Decimal("0.023")) < Decimal("1e-20")


def test_lambda_runs_the_scrapes_and_validate_but_not_the_trigger() -> None:
    # the day's scrape, two datasets ahead, Validate; the trigger wakes for inbox/ only
    assert lines()["Lambda requests"].quantity == 4
    ibov, ibra = (lines(indices=(code,))["Lambda duration"].quantity for code in ("IBOV", "IBRA"))
    assert ibra - ibov == Decimal(str(MEASURED.scrape_page_s))  # a second B3 page, 1 GB


def test_sao_paulo_prices_where_recorded_and_marked_where_not() -> None:
    sp = lines(Stack("sp", "sa-east-1", US.config))
    assert (sp["S3 storage"].price, sp["S3 storage"].assumed_price) == (Decimal("0.0405"), False)
    assert (sp["Glue job"].price_region, sp["Glue job"].assumed_price) == ("us-east-1", True)
    assert not [line for line in lines().values() if line.assumed_price]


def test_the_glue_job_duration_follows_the_bench_between_and_beyond_its_runs() -> None:
    runs = Measured("t", ((2_000, 40.0), (100, 10.0), (1_000, 20.0)), 0.5, 0.5)
    assert runs.glue_seconds(550) == 15.0
    assert runs.glue_seconds(1_500) == 30.0
    assert runs.glue_seconds(3_000) == 60.0  # the last segment, extended

"""The modelled AWS cost of one daily run and of a month, for both designs of the schedule.

* **per index** (the schedule before issue #13): one execution per configured index,
  each with its own Glue job run, crawl and Athena smoke query;
* **one execution** (the schedule since): a ``Map`` scrapes and validates every index,
  then one Glue job run, one crawl and one smoke query serve them all.

The model multiplies quantities by list prices. Quantities come from the stack's
settings (``Pulumi.<stack>.yaml``: region, indices, Glue worker type and count, polling),
from durations measured by ``make bench`` (:data:`MEASURED`, read from
``services/tool/measured.json``, which the bench writes), from state counts walked on the
definition, from sizes measured on the recorded portfolios, and from a few named assumptions
(:data:`ASSUMED`), each with why.
Every list price is in :data:`PRICES`, the one table, with its source. Free tiers are
ignored (list prices only); CloudWatch Logs, X-Ray, EventBridge (AWS service events and
14 M scheduler invocations a month are free) and data transfer are not modelled.

Billing rules (from the pricing pages in :data:`PRICES`):

* Glue Spark jobs bill DPU-seconds, per second, with a 1-minute minimum per run; a G.1X
  worker is 1 DPU, G.2X 2 DPUs; Flex runs bill the same way at a lower rate.
* Crawlers bill DPU-seconds with a 10-minute minimum per run.
* Lambda bills GB-seconds (memory x duration, per ms) and requests.
* Standard workflows bill each state transition.
* Athena bills bytes scanned, at least 10 MB per query.
* S3 bills requests (PUT/COPY/POST/LIST; GET/HEAD) and GB-months stored; ECR GB-months.
"""

from __future__ import annotations

import itertools
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from decimal import ROUND_HALF_UP, Decimal
from functools import partial
from pathlib import Path
from typing import Any, Final

from rich.table import Table

from services.deploy.deployment import (
    AHEAD_DATASETS,
    FUNCTION_LIMITS,
    GLUE_WORKER_TYPE,
    GLUE_WORKERS,
    IMAGE_HISTORY,
    Deployment,
)
from services.deploy.stack_settings import (
    REGION_KEY,
    Key,
    project_settings,
    read_config,
    stack_file,
    stack_names,
)
from services.pipeline import settings
from services.pipeline.b3.indices import INDICES, resolve
from services.pipeline.errors import BadArgument

D = Decimal
SESSIONS_PER_MONTH: Final = 21
MB: Final = 1024**2
TB: Final = 1024**4
GB: Final = 1024**3
BASE_REGION: Final = "us-east-1"

GLUE_PRICING = "https://aws.amazon.com/glue/pricing/"
LAMBDA_PRICING = "https://aws.amazon.com/lambda/pricing/"
SFN_PRICING = "https://aws.amazon.com/step-functions/pricing/"
ATHENA_PRICING = "https://aws.amazon.com/athena/pricing/"
S3_PRICING = "https://aws.amazon.com/s3/pricing/"
ECR_PRICING = "https://aws.amazon.com/ecr/pricing/"
PRICE_LIST = (
    "https://pricing.us-east-1.amazonaws.com/offers/v1.0/aws/{service}/current/{region}/index.csv"
)


@dataclass(frozen=True)
class Price:
    """One list price: USD per ``unit`` in ``region``, and where it is published."""

    item: str
    region: str
    usd: Decimal
    unit: str
    source: str


#: Every list price the model uses (USD, on demand, no free tier). Where the São Paulo
#: price of an item is not here, the model uses us-east-1's and marks the line.
PRICES: Final[tuple[Price, ...]] = (
    Price("glue_dpu_hour", BASE_REGION, D("0.44"), "DPU-hour", GLUE_PRICING),
    Price("glue_flex_dpu_hour", BASE_REGION, D("0.29"), "DPU-hour", GLUE_PRICING),
    Price("crawler_dpu_hour", BASE_REGION, D("0.44"), "DPU-hour", GLUE_PRICING),
    Price("lambda_gb_second", BASE_REGION, D("0.0000166667"), "GB-second (x86)", LAMBDA_PRICING),
    Price("lambda_request", BASE_REGION, D("0.0000002"), "request", LAMBDA_PRICING),
    Price("sfn_transition", BASE_REGION, D("0.000025"), "state transition", SFN_PRICING),
    Price("sfn_transition", "sa-east-1", D("0.0000375"), "state transition",
          PRICE_LIST.format(service="AWSStepFunctions", region="sa-east-1")
          + " (usage type SAE1-StateTransition)"),
    Price("athena_tb", BASE_REGION, D("5.00"), "TB scanned", ATHENA_PRICING),
    Price("s3_put", BASE_REGION, D("0.000005"), "request", S3_PRICING),
    Price("s3_put", "sa-east-1", D("0.000007"), "request",
          PRICE_LIST.format(service="AmazonS3", region="sa-east-1")
          + " (usage type SAE1-Requests-Tier1)"),
    Price("s3_get", BASE_REGION, D("0.0000004"), "request", S3_PRICING),
    Price("s3_get", "sa-east-1", D("0.00000056"), "request",
          PRICE_LIST.format(service="AmazonS3", region="sa-east-1")
          + " (usage type SAE1-Requests-Tier2)"),
    Price("s3_gb_month", BASE_REGION, D("0.023"), "GB-month", S3_PRICING),
    Price("s3_gb_month", "sa-east-1", D("0.0405"), "GB-month",
          PRICE_LIST.format(service="AmazonS3", region="sa-east-1")
          + " (usage type SAE1-TimedStorage-ByteHrs)"),
    Price("ecr_gb_month", BASE_REGION, D("0.10"), "GB-month", ECR_PRICING),
    Price("ecr_gb_month", "sa-east-1", D("0.10"), "GB-month", ECR_PRICING),
)  # fmt: skip

#: DPUs per worker of each Glue worker type (G.1X: 4 vCPU, 16 GB = 1 DPU).
DPU_PER_WORKER: Final[Mapping[str, int]] = {"G.1X": 1, "G.2X": 2, "G.4X": 4, "G.8X": 8}
GLUE_MINIMUM_S: Final = 60
CRAWLER_MINIMUM_S: Final = 600
ATHENA_MINIMUM_BYTES: Final = 10 * MB


@dataclass(frozen=True)
class Measured:
    """Durations from ``make bench`` and sizes measured on the recorded portfolios."""

    source: str
    #: The Glue job, local Spark, fresh process: (refined files written, wall seconds), for
    #: a day of IBOV, 20 and 250 days of it, and one day of every index in one run.
    glue_runs: tuple[tuple[int, float], ...]
    #: The scraper's work per B3 page and Validate's per object (warm), seconds.
    scrape_page_s: float
    validate_s: float
    #: The Athena smoke query state, seconds.
    athena_s: float
    #: Bytes per refined file (one ticker's partition) and raw bytes per asset (Parquet
    #: and archived B3 bodies): IBOV of 2025-07-10 and IBRA of 2021-06-22 run through the
    #: scraper and the Glue job locally (8,642 and 8,638 B a file; 303 and 252 B an asset).
    refined_file_bytes: int = 8_640
    raw_asset_bytes: int = 280

    def glue_seconds(self, files: int) -> float:
        """The job's wall time for ``files`` refined files: straight lines between the
        bench's runs (sorted by files), the outer ones extended beyond them."""
        runs = sorted(self.glue_runs)
        segment = next(
            (pair for pair in itertools.pairwise(runs) if files <= pair[1][0]),
            (runs[-2], runs[-1]),
        )
        (f0, s0), (f1, s1) = segment
        return s0 + (s1 - s0) / (f1 - f0) * (files - f0)


#: Where ``make bench`` writes what it measured (services/tool/bench.py), and the model reads it.
MEASURED_FILE: Final = settings.REPO_ROOT / "services" / "tool" / "measured.json"


def read_measured(path: Path = MEASURED_FILE) -> Measured:
    """The durations and sizes ``make bench`` measured last (its one record)."""
    raw = json.loads(path.read_text(encoding="utf-8"))
    return Measured(
        source=str(raw["source"]),
        glue_runs=tuple((int(files), float(seconds)) for files, seconds in raw["glue_runs"]),
        scrape_page_s=float(raw["scrape_page_s"]),
        validate_s=float(raw["validate_s"]),
        athena_s=float(raw["athena_s"]),
        refined_file_bytes=int(raw["refined_file_bytes"]),
        raw_asset_bytes=int(raw["raw_asset_bytes"]),
    )


#: The last ``make bench`` on the development machine (README, "Measured").
MEASURED: Final = read_measured()

#: What neither the stack nor the bench can tell, and why each value.
ASSUMED: Final[Mapping[str, tuple[float, str]]] = {
    "crawler_dpus": (2, "AWS's crawler pricing example uses 2 DPUs; a crawler's DPUs are not set"),
    "crawl_s": (60, "a catalog-target crawl of one table; the emulator's crawler is a timer"),
    "trigger_s": (0.1, "one HeadObject and a return; not measured"),
    "glue_puts_per_file": (3, "the S3-optimized committer writes a file as a multipart upload"),
    "glue_gets_per_raw_object": (2, "Spark reads a Parquet footer, then its row group"),
    "athena_gets_per_file": (2, "Athena reads a Parquet footer, then the column it counts"),
    "ecr_image_gb": (0.25, "compressed Lambda Python base plus pyarrow; no Docker to measure"),
    "ahead_requests": (2, "a dataset ahead asks GetPortfolioDay for the session, then its call"),
    "ahead_puts": (3, "its archived bodies (its page or GetConfigurations, the session) and data"),
}


@dataclass(frozen=True)
class Stack:
    """The settings of a stack that cost something (defaults: the stack's, from
    services/deploy/deployment.py)."""

    name: str
    region: str
    indices: tuple[str, ...]
    glue_worker_type: str = GLUE_WORKER_TYPE
    glue_workers: int = GLUE_WORKERS
    poll_seconds: int = Deployment.poll_seconds
    image_history: int = IMAGE_HISTORY
    #: Datasets ahead scraped for each index (``aheadDatasets``: theoretical, preview).
    ahead_datasets: int = len(AHEAD_DATASETS)

    @property
    def dpus(self) -> int:
        return DPU_PER_WORKER[self.glue_worker_type] * self.glue_workers


def read_stack(name: str, root: Path = settings.REPO_ROOT) -> Stack:
    """The cost-relevant settings of ``Pulumi.<name>.yaml``."""
    path = stack_file(name, root)
    if not path.is_file():
        stacks = ", ".join(stack_names(root))
        raise BadArgument(f"no stack {name!r}: {path.name} not found (stacks: {stacks})")
    config = read_config(path)
    own = project_settings(config)
    defaults = Stack(name, BASE_REGION, Deployment.indices)
    worker_type = str(own.get(Key.GLUE_WORKER_TYPE) or defaults.glue_worker_type)
    if worker_type not in DPU_PER_WORKER:
        raise BadArgument(
            f"{path.name}: {Key.GLUE_WORKER_TYPE} {worker_type!r} is not a Glue worker type"
        )
    indices = own.get(Key.INDICES)
    return Stack(
        name=name,
        region=str(config.get(REGION_KEY) or defaults.region),
        indices=resolve(indices).codes if indices else defaults.indices,
        glue_worker_type=worker_type,
        glue_workers=int(own.get(Key.GLUE_WORKERS) or defaults.glue_workers),
        poll_seconds=int(own.get(Key.POLL_SECONDS) or defaults.poll_seconds),
        image_history=int(own.get(Key.IMAGE_HISTORY) or defaults.image_history),
        ahead_datasets=len(own[Key.AHEAD_DATASETS])
        if Key.AHEAD_DATASETS in own
        else defaults.ahead_datasets,
    )


def price(item: str, region: str) -> tuple[Price, bool]:
    """The list price of ``item`` in ``region``; ``True`` if us-east-1's stands in for it."""
    found = {(p.item, p.region): p for p in PRICES}
    if (item, region) in found:
        return found[item, region], False
    return found[item, BASE_REGION], region != BASE_REGION


def glue_billed_seconds(seconds: float) -> int:
    """Seconds a Glue job run is billed for: per second, at least one minute."""
    return max(GLUE_MINIMUM_S, math.ceil(seconds))


def crawler_billed_seconds(seconds: float) -> int:
    """Seconds a crawler run is billed for: per second, at least ten minutes."""
    return max(CRAWLER_MINIMUM_S, math.ceil(seconds))


def athena_billed_bytes(scanned: int) -> int:
    """Bytes an Athena query is billed for: at least 10 MB."""
    return max(ATHENA_MINIMUM_BYTES, scanned)


def poll_count(seconds: float, poll_seconds: int) -> int:
    """How often the state machine asks whether a step of ``seconds`` is done."""
    return max(1, math.ceil(seconds / poll_seconds))


def map_iteration_states(ahead: int) -> int:
    """States one index's iteration of the Map enters when it succeeds, with ``ahead``
    datasets ahead: walked on ``statemachine/pipeline.asl.json`` (the Choice's default is
    the schedule's way, every Task goes on to its ``Next``, an inner Map runs per item)."""
    from services.deploy.asl import expanded  # the definition, read on use

    processor = expanded()["States"]["ScrapeIndices"]["ItemProcessor"]
    return _entered(processor, ahead)


def _entered(processor: Mapping[str, Any], items: int) -> int:
    states: Mapping[str, Any] = processor["States"]
    name: str | None = processor["StartAt"]
    entered = 0
    while name is not None:
        state = states[name]
        entered += 1
        if state["Type"] == "Map":
            entered += items * _entered(state["ItemProcessor"], 0)
        name = state.get("Default") if state["Type"] == "Choice" else state.get("Next")
    return entered


def transitions(
    indices: int, ahead: int, glue_polls: int, crawler_polls: int, athena_polls: int
) -> int:
    """State transitions of one successful execution for ``indices`` indices.

    17 top-level states are entered once (Route, ConfiguredAhead, ScrapeIndices,
    Collect, Count, AnyValidated?, StartGlueJob, StartCrawler, GetLastCrawl,
    CrawlSucceeded?, AnyDayToCount?, SmokeQueryColumns, SmokeQueryFirstRow,
    StartSmokeQuery, GetSmokeResult, Check, AnyFailed? -- and Done is the 18th); each
    index adds its Map iteration (:func:`map_iteration_states`) and two states of the walk
    that builds the smoke query (one the last time); each polling loop enters Wait, Get
    and the Choice per poll and its counter between polls. A test walks the definition to
    check it.
    """
    polls_ = sum(4 * p - 1 for p in (glue_polls, crawler_polls, athena_polls))
    return 18 + indices * (map_iteration_states(ahead) + 2) - 1 + polls_


#: The two designs: an execution per index (today), or one for all (issue #13).
DESIGNS: Final = ("per-index", "one-execution")


@dataclass(frozen=True)
class Line:
    """One billed item of a design: quantity per run (or per month for storage) and cost."""

    service: str
    quantity: Decimal
    unit: str
    price: Price
    assumed_price: bool
    #: How many of ``unit`` make one of the price's unit (3,600 DPU-seconds a DPU-hour).
    per_price_unit: int = 1
    monthly_only: bool = False

    @property
    def usd(self) -> Decimal:
        return self.quantity * self.price.usd / self.per_price_unit

    @property
    def per_month(self) -> Decimal:
        return self.usd if self.monthly_only else self.usd * SESSIONS_PER_MONTH


@dataclass(frozen=True)
class Estimate:
    """A design's billed lines for one daily run of ``indices``."""

    design: str
    indices: tuple[str, ...]
    region: str
    lines: tuple[Line, ...] = field(default_factory=tuple)

    @property
    def per_run(self) -> Decimal:
        return sum((line.usd for line in self.lines if not line.monthly_only), D(0))

    @property
    def per_month(self) -> Decimal:
        return sum((line.per_month for line in self.lines), D(0))


def estimate(
    stack: Stack,
    design: str,
    indices: Sequence[str] | None = None,
    *,
    measured: Measured = MEASURED,
    flex: bool = False,
) -> Estimate:
    """The billed lines of one daily run under ``design`` (``per-index`` or ``one-execution``)."""
    if design not in DESIGNS:
        raise BadArgument(f"design must be one of {', '.join(DESIGNS)}, not {design!r}")
    codes = tuple(indices) if indices is not None else stack.indices
    assets = [INDICES[code].members for code in codes]
    pages = [math.ceil(n / settings.B3_PAGE_SIZE) for n in assets]
    one = design == "one-execution"
    jobs = [sum(assets)] if one else assets  # refined files each Glue run writes
    crawl_s = ASSUMED["crawl_s"][0]
    region = stack.region
    line = partial(_line, region)
    glue_s = [measured.glue_seconds(files) for files in jobs]
    glue_item = "glue_flex_dpu_hour" if flex else "glue_dpu_hour"
    ahead = stack.ahead_datasets
    # one execution walks every index's Map iteration; per index, one execution each
    executions = [(len(codes), glue_s[0])] if one else [(1, s) for s in glue_s]
    state_transitions = sum(
        transitions(n, ahead, *_poll_counts(s, crawl_s, measured, stack)) for n, s in executions
    )
    queries = 1 if one else len(codes)
    # the smoke query reads at most the day's refined files of its indices
    scanned = sum(athena_billed_bytes(n * measured.refined_file_bytes) for n in jobs)
    puts, gets = _s3_requests(pages, assets, ahead, queries)
    lines = [
        line("Glue job", sum(glue_billed_seconds(s) for s in glue_s) * stack.dpus,
             "DPU-second", glue_item, 3600),
        line("Glue crawler",
             len(jobs) * crawler_billed_seconds(crawl_s) * ASSUMED["crawler_dpus"][0],
             "DPU-second", "crawler_dpu_hour", 3600),
        line("Lambda duration", _lambda_gb_seconds(pages, ahead, measured), "GB-second",
             "lambda_gb_second"),
        # scraper (the day, each dataset ahead), validate, and the trigger the day's write wakes
        line("Lambda requests", (3 + ahead) * len(codes), "request", "lambda_request"),
        line("Step Functions", state_transitions, "state transition", "sfn_transition"),
        line("Athena", scanned, "byte scanned", "athena_tb", TB),
        line("S3 PUT, LIST", puts, "request", "s3_put"),
        line("S3 GET, HEAD", gets, "request", "s3_get"),
    ]  # fmt: skip
    return Estimate(design, codes, region, (*lines, *_monthly(stack, assets, measured)))


def _line(
    region: str,
    service: str,
    quantity: float | Decimal,
    unit: str,
    item: str,
    per_price_unit: int = 1,
) -> Line:
    found, assumed = price(item, region)
    return Line(service, D(str(quantity)), unit, found, assumed, per_price_unit)


def _monthly(stack: Stack, assets: Sequence[int], measured: Measured) -> list[Line]:
    """What a month of the stack stores: its data in S3, its images in ECR."""
    stored = SESSIONS_PER_MONTH * sum(
        n * (measured.refined_file_bytes + measured.raw_asset_bytes) for n in assets
    )
    ecr_gb = 2 * stack.image_history * ASSUMED["ecr_image_gb"][0]
    line = partial(_line, stack.region)
    return [
        replace(line("S3 storage, a month's data", D(stored) / GB, "GB-month", "s3_gb_month"),
                monthly_only=True),
        replace(line("ECR storage", ecr_gb, "GB-month", "ecr_gb_month"), monthly_only=True),
    ]  # fmt: skip


def _lambda_gb_seconds(pages: Sequence[int], ahead: int, measured: Measured) -> Decimal:
    """GB-seconds of the three functions for indices of ``pages`` B3 pages each."""
    memory = {name: D(limits.memory_mb) / 1024 for name, limits in FUNCTION_LIMITS.items()}
    ahead_requests = ahead * int(ASSUMED["ahead_requests"][0])
    return sum(
        (
            memory["scraper"] * D(str(measured.scrape_page_s)) * (p + ahead_requests)
            + memory["validate"] * D(str(measured.validate_s))
            + memory["trigger"] * D(str(ASSUMED["trigger_s"][0]))
            for p in pages
        ),
        D(0),
    )


def _s3_requests(
    pages: Sequence[int], assets: Sequence[int], ahead: int, queries: int
) -> tuple[int, int]:
    """S3 (PUT and LIST, GET and HEAD) requests of one run for indices of ``assets`` assets
    on ``pages`` pages, with ``ahead`` datasets ahead and ``queries`` smoke queries."""
    puts = sum(p + 1 for p in pages) + int(ASSUMED["glue_puts_per_file"][0]) * sum(assets)
    puts += len(assets) * ahead * int(ASSUMED["ahead_puts"][0])
    puts += queries  # Athena writes each query's result to S3
    gets = len(assets) * (2 + int(ASSUMED["glue_gets_per_raw_object"][0]))  # trigger, validate
    gets += int(ASSUMED["athena_gets_per_file"][0]) * sum(assets)
    return puts, gets


def _poll_counts(
    glue_s: float, crawl_s: float, measured: Measured, stack: Stack
) -> tuple[int, int, int]:
    return (
        poll_count(glue_s, stack.poll_seconds),
        poll_count(crawl_s, stack.poll_seconds),
        poll_count(measured.athena_s, stack.poll_seconds),
    )


def usd(value: Decimal, places: str = "0.0001") -> str:
    """``value`` in dollars, rounded half up to ``places``."""
    return f"${value.quantize(D(places), rounding=ROUND_HALF_UP)}"


def compare(stack: Stack, counts: Sequence[tuple[str, Sequence[str]]]) -> list[dict[str, Any]]:
    """Both designs for each named selection of indices: per run and per month, in USD."""
    rows = []
    for label, codes in counts:
        today, proposed = (estimate(stack, design, codes) for design in DESIGNS)
        rows.append({
            "indices": label,
            "count": len(codes),
            "per_index_run": today.per_run,
            "per_index_month": today.per_month,
            "one_execution_run": proposed.per_run,
            "one_execution_month": proposed.per_month,
        })  # fmt: skip
    return rows


def markdown_comparison(stack: Stack, root: Path = settings.REPO_ROOT) -> str:
    """The README's table: 1 index, the prod stack's (``Pulumi.prod.yaml`` in ``root``),
    and all, in both designs."""
    prod = read_stack("prod", root)
    rows = compare(
        stack,
        [("1: IBOV", ("IBOV",)),
         (f"{len(prod.indices)}: {stack_file(prod.name).name}'s", prod.indices),
         (f"{len(INDICES)}: all", tuple(INDICES))],
    )  # fmt: skip
    out = [
        "| indices | one execution per index: a run | a month | one execution for all: a run "
        "| a month |",
        "|---|---:|---:|---:|---:|",
    ]
    for row in rows:
        out.append(
            f"| {row['indices']} | {usd(row['per_index_run'])} "
            f"| {usd(row['per_index_month'], '0.01')} | {usd(row['one_execution_run'])} "
            f"| {usd(row['one_execution_month'], '0.01')} |"
        )
    return "\n".join(out)


def render(estimates: Sequence[Estimate], stack: Stack, measured: Measured = MEASURED) -> Table:
    """The estimates side by side, one row per billed item (for the terminal)."""
    title = (
        f"Modelled AWS cost, stack {stack.name} ({stack.region}, {stack.dpus} DPU "
        f"{stack.glue_worker_type}), {len(estimates[0].indices)} indices: "
        f"a run, and a month of {SESSIONS_PER_MONTH} sessions"
    )
    table = Table(title=title, title_justify="left")
    for name in ("item", "unit", "list price"):
        table.add_column(name)
    for estimate_ in estimates:
        table.add_column(estimate_.design, justify="right")
        table.add_column("a run", justify="right")
        table.add_column("a month", justify="right")
    for rows in zip(*(e.lines for e in estimates), strict=True):
        first = rows[0]
        mark = " *" if first.assumed_price else ""
        cells = [first.service, first.unit, f"${first.price.usd:f} / {first.price.unit}{mark}"]
        for item in rows:
            run = "" if item.monthly_only else usd(item.usd, "0.000001")
            cells += [_quantity(item.quantity), run, usd(item.per_month)]
        table.add_row(*cells)
    totals = ["total", "", ""]
    for estimate_ in estimates:
        totals += ["", usd(estimate_.per_run), usd(estimate_.per_month)]
    table.add_row(*totals, style="bold")
    notes = [f"durations: {measured.source}; prices: services/deploy/cost.py PRICES"]
    if any(line.assumed_price for e in estimates for line in e.lines):
        notes.append(f"* no {stack.region} list price recorded: {BASE_REGION}'s is used")
    table.caption = "; ".join(notes)
    return table


def _quantity(value: Decimal) -> str:
    if value == value.to_integral_value():
        return f"{value:,.0f}"
    return f"{value:,.4f}"


def as_json(estimates: Sequence[Estimate]) -> str:
    """The estimates as one JSON line (amounts as strings, exact)."""
    return json.dumps([
        {
            "design": e.design,
            "region": e.region,
            "indices": list(e.indices),
            "per_run_usd": _exact(e.per_run),
            "per_month_usd": _exact(e.per_month),
            "lines": [
                {"service": line.service, "quantity": _exact(line.quantity), "unit": line.unit,
                 "usd_per_run": None if line.monthly_only else _exact(line.usd),
                 "usd_per_month": _exact(line.per_month), "price_usd": f"{line.price.usd:f}",
                 "price_unit": line.price.unit, "price_region": line.price.region,
                 "price_source": line.price.source}
                for line in e.lines
            ],
        }
        for e in estimates
    ])  # fmt: skip


def _exact(value: Decimal) -> str:
    return f"{value.quantize(D('1e-10'), rounding=ROUND_HALF_UP).normalize():f}"

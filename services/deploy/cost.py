"""The modelled AWS cost of a day and of a month of the daily schedule, in month 1 and month 12.

A day is one pipeline execution for every configured index, which starts one refine
execution: one Glue job run and one Athena query (``.sync``: Step Functions waits for them
with no state transitions) and one crawl, polled every 30 s. State transitions are counted
by walking both definitions in ``statemachine/`` (:func:`entered`). The crawler crawls
``raw/`` with ``CRAWL_NEW_FOLDERS_ONLY``, so it lists only the day's new folders and its
cost does not grow with the lake (https://docs.aws.amazon.com/glue/latest/dg/incremental-crawls.html);
what grows is the data stored in S3. Quantities come from the stack's settings, ``make
bench`` (:data:`MEASURED`), the definitions and named assumptions (:data:`ASSUMED`); list
prices, no free tier, from :data:`PRICES`. How and why: docs/cost.md.
"""

from __future__ import annotations

import itertools
import json
import math
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from functools import partial
from pathlib import Path
from typing import Any, Final

from rich.table import Table

from services.deploy import asl
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
MONTHS: Final = (1, 12)
MB: Final = 1024**2
GB: Final = 1024**3
TB: Final = 1024**4
BASE_REGION: Final = "us-east-1"

GLUE_PRICING = "https://aws.amazon.com/glue/pricing/"
LAMBDA_PRICING = "https://aws.amazon.com/lambda/pricing/"
SFN_PRICING = "https://aws.amazon.com/step-functions/pricing/"
ATHENA_PRICING = "https://aws.amazon.com/athena/pricing/"
S3_PRICING = "https://aws.amazon.com/s3/pricing/"
ECR_PRICING = "https://aws.amazon.com/ecr/pricing/"
SAE1 = "https://pricing.us-east-1.amazonaws.com/offers/v1.0/aws/{}/current/sa-east-1/index.csv"


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
          SAE1.format("AWSStepFunctions") + " (usage type SAE1-StateTransition)"),
    Price("athena_tb", BASE_REGION, D("5.00"), "TB scanned", ATHENA_PRICING),
    Price("s3_put", BASE_REGION, D("0.000005"), "request", S3_PRICING),
    Price("s3_put", "sa-east-1", D("0.000007"), "request",
          SAE1.format("AmazonS3") + " (usage type SAE1-Requests-Tier1)"),
    Price("s3_get", BASE_REGION, D("0.0000004"), "request", S3_PRICING),
    Price("s3_get", "sa-east-1", D("0.00000056"), "request",
          SAE1.format("AmazonS3") + " (usage type SAE1-Requests-Tier2)"),
    Price("s3_gb_month", BASE_REGION, D("0.023"), "GB-month", S3_PRICING),
    Price("s3_gb_month", "sa-east-1", D("0.0405"), "GB-month",
          SAE1.format("AmazonS3") + " (usage type SAE1-TimedStorage-ByteHrs)"),
    Price("ecr_gb_month", BASE_REGION, D("0.10"), "GB-month", ECR_PRICING),
    Price("ecr_gb_month", "sa-east-1", D("0.10"), "GB-month", ECR_PRICING),
)  # fmt: skip

#: DPUs per worker of each Glue worker type (G.1X: 4 vCPU, 16 GB = 1 DPU).
DPU_PER_WORKER: Final[Mapping[str, int]] = {"G.1X": 1, "G.2X": 2, "G.4X": 4, "G.8X": 8}


@dataclass(frozen=True)
class Measured:
    """Durations from ``make bench`` and sizes measured on the recorded portfolios."""

    source: str
    #: The Glue job, local Spark, fresh process: (refined files written, wall seconds).
    glue_runs: tuple[tuple[int, float], ...]
    #: The scraper's work per B3 page and Validate's per object (warm), seconds.
    scrape_page_s: float
    validate_s: float
    #: Bytes per refined file (one ticker's partition) and raw bytes per asset (Parquet and
    #: archived B3 bodies), measured on IBOV of 2025-07-10 and IBRA of 2021-06-22.
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
    known = {key: raw[key] for key in Measured.__dataclass_fields__}
    return Measured(**{**known, "glue_runs": tuple(map(tuple, raw["glue_runs"]))})


#: The last ``make bench`` on the development machine (README, "Measured").
MEASURED: Final = read_measured()

#: What neither the stack nor the bench can tell, and why each value.
ASSUMED: Final[Mapping[str, tuple[float, str]]] = {
    "crawler_dpus": (2, "AWS's crawler pricing example uses 2 DPUs; a crawler's DPUs are not set"),
    "crawl_s": (60, "an incremental crawl of the day's new folders; the emulator's is a timer"),
    "glue_puts_per_file": (3, "the S3-optimized committer writes a file as a multipart upload"),
    "glue_gets_per_raw_object": (2, "Spark reads a Parquet footer, then its row group"),
    "athena_gets_per_file": (2, "Athena reads a Parquet footer, then the column it counts"),
    "ecr_image_gb": (0.25, "compressed Lambda Python base plus pyarrow; no Docker to measure"),
    "ahead_requests": (2, "a dataset ahead asks GetPortfolioDay for the session, then its call"),
    "ahead_puts": (3, "its archived bodies (its page or GetConfigurations, the session) and data"),
}


@dataclass(frozen=True)
class Stack:
    """The settings of a stack that cost something (defaults: services/deploy/deployment.py's)."""

    name: str
    region: str
    indices: tuple[str, ...]
    glue_worker_type: str = GLUE_WORKER_TYPE
    glue_workers: int = GLUE_WORKERS
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
    worker_type = str(own.get(Key.GLUE_WORKER_TYPE) or GLUE_WORKER_TYPE)
    if worker_type not in DPU_PER_WORKER:
        raise BadArgument(
            f"{path.name}: {Key.GLUE_WORKER_TYPE} {worker_type!r} is not a Glue worker type"
        )
    indices = own.get(Key.INDICES)
    return Stack(
        name=name,
        region=str(config.get(REGION_KEY) or BASE_REGION),
        indices=resolve(indices).codes if indices else Deployment.indices,
        glue_worker_type=worker_type,
        glue_workers=int(own.get(Key.GLUE_WORKERS) or GLUE_WORKERS),
        image_history=int(own.get(Key.IMAGE_HISTORY) or IMAGE_HISTORY),
        ahead_datasets=len(own.get(Key.AHEAD_DATASETS, AHEAD_DATASETS)),
    )


def price(item: str, region: str) -> tuple[Price, bool]:
    """The list price of ``item`` in ``region``; ``True`` if us-east-1's stands in for it."""
    found = {(p.item, p.region): p for p in PRICES}
    if (item, region) in found:
        return found[item, region], False
    return found[item, BASE_REGION], region != BASE_REGION


def glue_billed_seconds(seconds: float) -> int:
    """Seconds a Glue job run is billed for: per second, at least one minute."""
    return max(60, math.ceil(seconds))


def crawler_billed_seconds(seconds: float) -> int:
    """Seconds a crawler run is billed for: per second, at least ten minutes."""
    return max(600, math.ceil(seconds))


def athena_billed_bytes(scanned: int) -> int:
    """Bytes an Athena query is billed for: at least 10 MB."""
    return max(10 * MB, scanned)


Route = Mapping[str, str | Sequence[str]]

#: Where each Choice of a successful scheduled execution goes: every index validated, nothing
#: failed; the refine machine's crawl poll is added by :func:`transitions`.
PIPELINE_ROUTE: Final[Route] = {
    "Route": "ScrapeIndices",
    "Dropped?": "Scrape",
    "AnyValidated?": "Refine",
    "AnyFailed?": "Done",
}
REFINE_ROUTE: Final[Route] = {"AnyDay?": "SmokeQuery", "Check": "Refined"}


def definition(name: str) -> dict[str, Any]:
    """``statemachine/<name>`` as committed (its ``${Name}`` placeholders are in strings)."""
    loaded: dict[str, Any] = json.loads(asl.template(name))
    return loaded


def entered(machine: Mapping[str, Any], route: Route, items: Mapping[str, int]) -> int:
    """States one execution of ``machine`` enters, each a state transition: a Choice goes
    where ``route`` says (a sequence: its n-th item on the n-th visit), a Map runs its
    iteration once per item (``items``, by the Map's name), a state with no ``Next`` ends."""
    states: Mapping[str, Any] = machine["States"]
    visits: Counter[str] = Counter()
    name: str | None = machine["StartAt"]
    count = 0
    while name is not None:
        state = states[name]
        count += 1
        if state["Type"] == "Map":
            count += items[name] * entered(state["ItemProcessor"], route, items)
        if state["Type"] != "Choice":
            name = state.get("Next")
            continue
        pick = route[name]
        chosen = pick if isinstance(pick, str) else pick[visits[name]]
        visits[name] += 1
        if chosen not in [c["Next"] for c in state["Choices"]] + [state.get("Default")]:
            raise ValueError(f"{name} does not go to {chosen}")
        name = chosen
    return count


def crawl_polls(crawl_s: float) -> int:
    """How often the refine machine asks whether a crawl of ``crawl_s`` seconds is done."""
    wait: int = definition(asl.REFINE)["States"]["WaitForCrawl"]["Seconds"]
    return max(1, math.ceil(crawl_s / wait))


def transitions(indices: int, ahead: int, polls: int) -> int:
    """State transitions of a successful day: the pipeline's execution for ``indices``
    indices with ``ahead`` datasets ahead each, and the refine execution it starts, whose
    crawl is polled ``polls`` times."""
    crawled = {"Crawled?": ["WaitForCrawl"] * (polls - 1) + ["AnyDay?"]}
    return entered(
        definition(asl.PIPELINE), PIPELINE_ROUTE, {"ScrapeIndices": indices, "ScrapeAhead": ahead}
    ) + entered(definition(asl.REFINE), {**REFINE_ROUTE, **crawled}, {})


@dataclass(frozen=True)
class Line:
    """One billed item: its quantity a day (storage: in the month) and its cost."""

    service: str
    quantity: Decimal
    unit: str
    price: Price
    assumed_price: bool
    #: How many of ``unit`` make one of the price's unit (3,600 DPU-seconds a DPU-hour;
    #: storage: 21, as a day bears its share of the month's GB-months).
    per_price_unit: int = 1

    @property
    def usd(self) -> Decimal:
        """A day's cost."""
        return self.quantity * self.price.usd / self.per_price_unit

    @property
    def per_month(self) -> Decimal:
        return self.usd * SESSIONS_PER_MONTH


@dataclass(frozen=True)
class Estimate:
    """The billed lines of a day of ``indices`` in month ``month``."""

    month: int
    indices: tuple[str, ...]
    region: str
    lines: tuple[Line, ...]

    @property
    def per_day(self) -> Decimal:
        return sum((line.usd for line in self.lines), D(0))

    @property
    def per_month(self) -> Decimal:
        return self.per_day * SESSIONS_PER_MONTH


def estimate(
    stack: Stack,
    month: int = 1,
    indices: Sequence[str] | None = None,
    *,
    measured: Measured = MEASURED,
    flex: bool = False,
) -> Estimate:
    """A day of ``indices`` (default: the stack's) in month ``month`` of the lake."""
    codes = tuple(indices) if indices is not None else stack.indices
    assets = [INDICES[code].members for code in codes]
    pages = [math.ceil(n / settings.B3_PAGE_SIZE) for n in assets]
    files, ahead = sum(assets), stack.ahead_datasets  # a refined file per asset
    n = len(codes)
    assumed = {key: value for key, (value, _) in ASSUMED.items()}
    memory = {name: D(limits.memory_mb) / 1024 for name, limits in FUNCTION_LIMITS.items()}
    scrapes = sum(pages) + n * ahead * int(assumed["ahead_requests"])
    scraper_gb_s = memory["scraper"] * D(str(measured.scrape_page_s)) * scrapes
    validate_gb_s = memory["validate"] * D(str(measured.validate_s)) * n
    # B3 bodies and Parquet, the datasets ahead, the job's files, the query's result
    puts = sum(pages) + n + n * ahead * int(assumed["ahead_puts"])
    puts += int(assumed["glue_puts_per_file"]) * files + 1
    # Validate's GET, the job's reads of each raw object, the query's of each refined file
    gets = n * (1 + int(assumed["glue_gets_per_raw_object"]))
    gets += int(assumed["athena_gets_per_file"]) * files
    # the lake at the month's end: a day's raw and refined bytes, every session so far
    day_bytes = files * (measured.refined_file_bytes + measured.raw_asset_bytes)
    stored = month * SESSIONS_PER_MONTH * day_bytes
    line = partial(_line, stack.region)
    lines = (
        line("Glue job", glue_billed_seconds(measured.glue_seconds(files)) * stack.dpus,
             "DPU-second", "glue_flex_dpu_hour" if flex else "glue_dpu_hour", 3600),
        line("Glue crawler", crawler_billed_seconds(assumed["crawl_s"]) * assumed["crawler_dpus"],
             "DPU-second", "crawler_dpu_hour", 3600),
        line("Lambda duration", scraper_gb_s + validate_gb_s, "GB-second", "lambda_gb_second"),
        # the day's scrape, each dataset ahead's, Validate (the trigger wakes for inbox/ only)
        line("Lambda requests", (2 + ahead) * n, "request", "lambda_request"),
        line("Step Functions", transitions(n, ahead, crawl_polls(assumed["crawl_s"])),
             "state transition", "sfn_transition"),
        line("Athena", athena_billed_bytes(files * measured.refined_file_bytes), "byte scanned",
             "athena_tb", TB),
        line("S3 PUT, LIST", puts, "request", "s3_put"),
        line("S3 GET, HEAD", gets, "request", "s3_get"),
        line("S3 storage", D(stored) / GB, "GB-month", "s3_gb_month", SESSIONS_PER_MONTH),
        line("ECR storage", 2 * stack.image_history * assumed["ecr_image_gb"], "GB-month",
             "ecr_gb_month", SESSIONS_PER_MONTH),
    )  # fmt: skip
    return Estimate(month, codes, stack.region, lines)


def _line(
    region: str, service: str, quantity: float | Decimal, unit: str, item: str, per: int = 1
) -> Line:
    found, assumed = price(item, region)
    return Line(service, D(str(quantity)), unit, found, assumed, per)


def estimates(stack: Stack, indices: Sequence[str] | None = None, **kw: Any) -> list[Estimate]:
    """A day in each of :data:`MONTHS`."""
    return [estimate(stack, month, indices, **kw) for month in MONTHS]


def usd(value: Decimal, places: str = "0.0001") -> str:
    """``value`` in dollars, rounded half up to ``places``."""
    return f"${value.quantize(D(places), rounding=ROUND_HALF_UP)}"


def markdown_table(stack: Stack, root: Path = settings.REPO_ROOT) -> str:
    """The README's table: 1 index, the prod stack's (``Pulumi.prod.yaml`` in ``root``), all."""
    prod = read_stack("prod", root)
    out = ["| indices | month 1: a day | a month | month 12: a day | a month |",
           "|---|---:|---:|---:|---:|"]  # fmt: skip
    for label, codes in (
        ("1: IBOV", ("IBOV",)),
        (f"{len(prod.indices)}: {stack_file(prod.name).name}'s", prod.indices),
        (f"{len(INDICES)}: all", tuple(INDICES)),
    ):
        cells = [f"{usd(e.per_day)} | {usd(e.per_month, '0.01')}" for e in estimates(stack, codes)]
        out.append(f"| {label} | {' | '.join(cells)} |")
    return "\n".join(out)


def render(estimates_: Sequence[Estimate], stack: Stack, measured: Measured = MEASURED) -> Table:
    """The estimates side by side, one row per billed item (for the terminal)."""
    table = Table(
        title=f"Modelled AWS cost, stack {stack.name} ({stack.region}, {stack.dpus} DPU "
        f"{stack.glue_worker_type}), {len(estimates_[0].indices)} indices: a day (its run and "
        f"its share of the month's storage) and a month of {SESSIONS_PER_MONTH} sessions",
        title_justify="left",
    )
    for name in ("item", "unit", "list price"):
        table.add_column(name)
    for e in estimates_:
        for name in (f"month {e.month}", "a day", "a month"):
            table.add_column(name, justify="right")
    for rows in zip(*(e.lines for e in estimates_), strict=True):
        first = rows[0]
        mark = " *" if first.assumed_price else ""
        cells = [first.service, first.unit, f"${first.price.usd:f} / {first.price.unit}{mark}"]
        for item in rows:
            cells += [_quantity(item.quantity), usd(item.usd, "0.000001"), usd(item.per_month)]
        table.add_row(*cells)
    totals = ["total", "", ""]
    for e in estimates_:
        totals += ["", usd(e.per_day), usd(e.per_month)]
    table.add_row(*totals, style="bold")
    notes = [f"durations: {measured.source}; prices: services/deploy/cost.py PRICES"]
    if any(line.assumed_price for e in estimates_ for line in e.lines):
        notes.append(f"* no {stack.region} list price recorded: {BASE_REGION}'s is used")
    table.caption = "; ".join(notes)
    return table


def _quantity(value: Decimal) -> str:
    return f"{value:,.0f}" if value == value.to_integral_value() else f"{value:,.4f}"


def as_json(estimates_: Sequence[Estimate]) -> str:
    """The estimates as one JSON line (amounts as strings, exact)."""
    return json.dumps([
        {"month": e.month, "region": e.region, "indices": list(e.indices),
         "per_day_usd": _exact(e.per_day), "per_month_usd": _exact(e.per_month),
         "lines": [{"service": line.service, "quantity": _exact(line.quantity),
                    "unit": line.unit, "usd_per_day": _exact(line.usd),
                    "usd_per_month": _exact(line.per_month), "price_usd": f"{line.price.usd:f}",
                    "price_unit": line.price.unit, "price_region": line.price.region,
                    "price_source": line.price.source} for line in e.lines]}
        for e in estimates_
    ])  # fmt: skip


def _exact(value: Decimal) -> str:
    return f"{value.quantize(D('1e-10'), rounding=ROUND_HALF_UP).normalize():f}"

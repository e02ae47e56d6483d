"""The modelled AWS cost of a day and a month of the schedule, in months 1 and 12: list
prices (:data:`ITEMS`) times quantities (:func:`quantities`). Why: docs/cost.md."""

from __future__ import annotations

import itertools
import json
import math
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Final

from rich.table import Table

from services.deploy import asl
from services.deploy.deployment import FUNCTION_LIMITS
from services.deploy.stack_settings import DEFAULTS, StackConfig, read_stack_file
from services.pipeline import settings
from services.pipeline.b3.indices import INDICES

D = Decimal
SESSIONS_PER_MONTH: Final = 21
MONTHS: Final = (1, 12)
MB, GB, TB = 1024**2, 1024**3, 1024**4
BASE_REGION: Final = "us-east-1"


def _sae1(offer: str, usage: str) -> str:
    return (f"https://pricing.us-east-1.amazonaws.com/offers/v1.0/aws/{offer}/current/sa-east-1/"
            f"index.csv (usage type {usage})")  # fmt: skip


#: Each billed item: the unit it is counted in, how many of those the price is for (a
#: day bears 1/21 of a month's GB-months), the price's unit, and the list price (USD, on
#: demand) in us-east-1 (https://aws.amazon.com/<page>/pricing/) and, where recorded, in
#: São Paulo with its source; elsewhere us-east-1's stands in, and the line is marked.
ITEMS: Final[Mapping[str, tuple[str, int, str, str, str, tuple[str, str] | None]]] = {
    "Glue job": ("DPU-second", 3600, "DPU-hour", "glue", "0.44", None),
    "Glue crawler": ("DPU-second", 3600, "DPU-hour", "glue", "0.44", None),
    "Lambda duration": ("GB-second", 1, "GB-second (x86)", "lambda", "0.0000166667", None),
    "Lambda requests": ("request", 1, "request", "lambda", "0.0000002", None),
    "Step Functions": ("state transition", 1, "state transition", "step-functions", "0.000025",
                       ("0.0000375", _sae1("AWSStepFunctions", "SAE1-StateTransition"))),
    "Athena": ("byte scanned", TB, "TB scanned", "athena", "5.00", None),
    "S3 PUT, LIST": ("request", 1, "request", "s3", "0.000005",
                     ("0.000007", _sae1("AmazonS3", "SAE1-Requests-Tier1"))),
    "S3 GET, HEAD": ("request", 1, "request", "s3", "0.0000004",
                     ("0.00000056", _sae1("AmazonS3", "SAE1-Requests-Tier2"))),
    "S3 storage": ("GB-month", SESSIONS_PER_MONTH, "GB-month", "s3", "0.023",
                   ("0.0405", _sae1("AmazonS3", "SAE1-TimedStorage-ByteHrs"))),
    "ECR storage": ("GB-month", SESSIONS_PER_MONTH, "GB-month", "ecr", "0.10",
                    ("0.10", "https://aws.amazon.com/ecr/pricing/")),
}  # fmt: skip
#: Glue Flex (``--flex``): spare capacity, no start-time guarantee.
FLEX_DPU_HOUR: Final = D("0.29")

#: Where ``make bench`` writes what it measured (services/tool/bench.py), and the model reads it.
MEASURED_FILE: Final = settings.REPO_ROOT / "services" / "tool" / "measured.json"


@dataclass(frozen=True)
class Measured:
    """Durations from ``make bench``; sizes measured on the recorded portfolios."""

    source: str
    #: The Glue job on local Spark: (refined files written, wall seconds).
    glue_runs: tuple[tuple[int, float], ...]
    #: The scraper's work per B3 page and Validate's per object (warm), seconds.
    scrape_page_s: float
    validate_s: float
    #: Bytes per refined file (one ticker's partition) and raw bytes per asset.
    refined_file_bytes: int = 8_640
    raw_asset_bytes: int = 280

    def glue_seconds(self, files: int) -> float:
        """Straight lines between the bench's runs, the outer ones extended beyond them."""
        runs = sorted(self.glue_runs)
        pairs = itertools.pairwise(runs)
        (f0, s0), (f1, s1) = next((p for p in pairs if files <= p[1][0]), (runs[-2], runs[-1]))
        return s0 + (s1 - s0) / (f1 - f0) * (files - f0)


_bench = json.loads(MEASURED_FILE.read_text(encoding="utf-8"))
MEASURED: Final = Measured(**{**{key: _bench[key] for key in Measured.__dataclass_fields__},
                              "glue_runs": tuple(map(tuple, _bench["glue_runs"]))})  # fmt: skip


@dataclass(frozen=True)
class Stack:
    name: str
    region: str = BASE_REGION
    config: StackConfig = DEFAULTS

    @property
    def indices(self) -> tuple[str, ...]:
        return self.config.indices


def read_stack(name: str) -> Stack:
    return Stack(name, *read_stack_file(name))


#: Where each Choice of a successful scheduled day goes (a sequence: on each visit).
Route = Mapping[str, str | Sequence[str]]
PIPELINE_ROUTE: Final[Route] = {
    "Route": "ScrapeIndices", "Dropped?": "Scrape", "AnyValidated?": "Refine", "AnyFailed?": "Done",
}  # fmt: skip
REFINE_ROUTE: Final[Route] = {"AnyDay?": "SmokeQuery", "Check": "Refined"}


def definition(name: str) -> Any:
    return json.loads(asl.template(name))  # as committed


def entered(machine: Mapping[str, Any], route: Route, items: Mapping[str, int]) -> int:
    """States one execution enters, each a billed transition: a Choice goes where ``route``
    says, a Map runs its iteration once per item (``items``, by the Map's name)."""
    states, visits = machine["States"], Counter[str]()
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


def transitions(indices: int, ahead: int, crawl_s: int) -> int:
    """State transitions of a successful day of ``indices`` indices, ``ahead`` datasets
    ahead each, and a crawl of ``crawl_s`` seconds (polled every ``WaitForCrawl``)."""
    refine = definition(asl.REFINE)
    polls = max(1, math.ceil(crawl_s / refine["States"]["WaitForCrawl"]["Seconds"]))
    crawled = {"Crawled?": ["WaitForCrawl"] * (polls - 1) + ["AnyDay?"]}
    return entered(
        definition(asl.PIPELINE), PIPELINE_ROUTE, {"ScrapeIndices": indices, "ScrapeAhead": ahead}
    ) + entered(refine, {**REFINE_ROUTE, **crawled}, {})


def quantities(
    stack: Stack, month: int, codes: Sequence[str], measured: Measured
) -> dict[str, Decimal]:
    """Each item's quantity in a day of ``codes`` in month ``month`` of the lake."""
    pages = sum(math.ceil(INDICES[c].members / settings.B3_PAGE_SIZE) for c in codes)
    files, n = sum(INDICES[c].members for c in codes), len(codes)
    ahead = len(stack.config.ahead_datasets)
    gb = {name: D(limits.memory_mb) / 1024 for name, limits in FUNCTION_LIMITS.items()}
    crawl_s, crawler_dpus = 60, 2  # an incremental crawl of the day's folders; AWS's example
    # B3 bodies and Parquet, a dataset ahead's two B3 bodies and data, the job's files as
    # 3-request multipart uploads, the query's result
    puts = pages + n + n * ahead * 3 + 3 * files + 1
    # Validate's GET, the job's two reads (footer, row group) of each raw object, Athena's
    # two of each refined file; a dataset ahead asks B3 twice (the session, then its call)
    gets = n * (1 + 2) + 2 * files
    file_bytes = measured.refined_file_bytes + measured.raw_asset_bytes
    return {
        # billed per second: a job run at least a minute, a crawl at least ten
        "Glue job": D(max(60, math.ceil(measured.glue_seconds(files))) * stack.config.dpus),
        "Glue crawler": D(max(600, crawl_s) * crawler_dpus),
        "Lambda duration": gb["scraper"] * D(str(measured.scrape_page_s)) * (pages + n * ahead * 2)
        + gb["validate"] * D(str(measured.validate_s)) * n,
        # the day's scrape, each dataset ahead's, Validate (the trigger wakes for inbox/ only)
        "Lambda requests": D((2 + ahead) * n),
        "Step Functions": D(transitions(n, ahead, crawl_s)),
        "Athena": D(max(10 * MB, files * measured.refined_file_bytes)),  # at least 10 MB a query
        "S3 PUT, LIST": D(puts),
        "S3 GET, HEAD": D(gets),
        # the lake at the month's end: every session so far
        "S3 storage": D(month * SESSIONS_PER_MONTH * files * file_bytes) / GB,
        # both images, the last imageHistory of each, at 0.25 GB (Lambda's base and pyarrow)
        "ECR storage": 2 * stack.config.image_history * D("0.25"),
    }


@dataclass(frozen=True)
class Line:
    """One billed item a day; ``assumed_price``: us-east-1's stands in for the region's."""

    service: str
    quantity: Decimal
    unit: str
    per_price_unit: int
    price: Decimal
    price_unit: str
    price_region: str
    price_source: str
    assumed_price: bool

    @property
    def usd(self) -> Decimal:
        return self.quantity * self.price / self.per_price_unit


@dataclass(frozen=True)
class Estimate:
    month: int
    indices: tuple[str, ...]
    region: str
    lines: tuple[Line, ...]

    @property
    def per_day(self) -> Decimal:
        return sum((line.usd for line in self.lines), D(0))


def estimate(
    stack: Stack, month: int = 1, indices: Sequence[str] | None = None, *,
    measured: Measured = MEASURED, flex: bool = False,
) -> Estimate:  # fmt: skip
    """A day of ``indices`` (default: the stack's) in month ``month`` of the lake."""
    codes = tuple(indices) if indices is not None else stack.indices
    lines = []
    for service, quantity in quantities(stack, month, codes, measured).items():
        unit, per, priced_in, page, usd, sao_paulo = ITEMS[service]
        region, source = BASE_REGION, f"https://aws.amazon.com/{page}/pricing/"
        if sao_paulo and stack.region == "sa-east-1":
            region, (usd, source) = stack.region, sao_paulo
        if flex and service == "Glue job":
            usd = str(FLEX_DPU_HOUR)
        assumed = region != stack.region
        lines.append(Line(service, quantity, unit, per, D(usd), priced_in, region, source, assumed))
    return Estimate(month, codes, stack.region, tuple(lines))


def estimates(stack: Stack, indices: Sequence[str] | None = None, **kw: Any) -> list[Estimate]:
    return [estimate(stack, month, indices, **kw) for month in MONTHS]


def usd(value: Decimal, places: str = "0.0001") -> str:
    return f"${value.quantize(D(places), rounding=ROUND_HALF_UP)}"


def render(estimates_: Sequence[Estimate], stack: Stack, measured: Measured = MEASURED) -> Table:
    table = Table(
        "item", "unit", "list price",
        *(f"{name}" for e in estimates_ for name in (f"month {e.month}", "a day", "a month")),
        title=f"Modelled AWS cost, stack {stack.name} ({stack.region}, {stack.config.dpus} DPU "
        f"{stack.config.glue_worker_type}), {(n := len(estimates_[0].indices))} "
        f"{'index' if n == 1 else 'indices'}: a day (its run "
        f"and its share of the month's storage) and a month of {SESSIONS_PER_MONTH} sessions",
        title_justify="left",
    )  # fmt: skip
    for column in table.columns[3:]:
        column.justify = "right"
    for rows in zip(*(e.lines for e in estimates_), strict=True):
        first = rows[0]
        mark = " *" if first.assumed_price else ""
        cells = [first.service, first.unit, f"${first.price:f} / {first.price_unit}{mark}"]
        for item in rows:
            quantity = f"{item.quantity:,.4f}".rstrip("0").rstrip(".")
            cells += [quantity, usd(item.usd, "0.000001"), usd(item.usd * SESSIONS_PER_MONTH)]
        table.add_row(*cells)
    days = [e.per_day for e in estimates_]
    totals = [c for day in days for c in ("", usd(day), usd(day * SESSIONS_PER_MONTH))]
    table.add_row("total", "", "", *totals, style="bold")
    table.caption = f"durations: {measured.source}; prices: services/deploy/cost.py ITEMS"
    if any(line.assumed_price for e in estimates_ for line in e.lines):
        table.caption += f"; * no {stack.region} list price recorded: {BASE_REGION}'s is used"
    return table


def as_json(estimates_: Sequence[Estimate]) -> str:
    """The estimates as one JSON line (amounts as exact strings)."""

    def exact(value: Decimal) -> str:
        return f"{value.quantize(D('1e-10'), rounding=ROUND_HALF_UP).normalize():f}"

    return json.dumps([
        {"month": e.month, "region": e.region, "indices": list(e.indices),
         "per_day_usd": exact(e.per_day), "per_month_usd": exact(e.per_day * SESSIONS_PER_MONTH),
         "lines": [{"service": line.service, "quantity": exact(line.quantity), "unit": line.unit,
                    "usd_per_day": exact(line.usd), "price_usd": f"{line.price:f}",
                    "price_unit": line.price_unit, "price_region": line.price_region,
                    "price_source": line.price_source} for line in e.lines]}
        for e in estimates_
    ])  # fmt: skip

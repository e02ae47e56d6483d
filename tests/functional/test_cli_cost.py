"""``bovespa cost``: a day in month 1 and month 12 of a stack's indices, JSON on the last
line, refusals."""

from __future__ import annotations

import json
from decimal import Decimal

from services.pipeline.b3.indices import INDICES
from tests.functional.test_cli import bovespa


def test_cost_of_the_prod_stack_in_month_1_and_month_12() -> None:
    done = bovespa("cost", "--stack", "prod")
    assert done.returncode == 0, done.stderr
    first, twelfth = json.loads(done.stdout.splitlines()[-1])
    assert (first["month"], twelfth["month"]) == (1, 12)
    assert first["indices"] == twelfth["indices"] == ["IBOV", "IBXX", "IBXL", "SMLL", "IDIV"]
    assert first["region"] == "sa-east-1"
    one, twelve = ({x["service"]: x for x in e["lines"]} for e in (first, twelfth))
    assert one["Glue job"]["quantity"] == twelve["Glue job"]["quantity"] == "120"
    assert one["Glue crawler"] == twelve["Glue crawler"]
    stored = (Decimal(e["S3 storage"]["quantity"]) for e in (one, twelve))
    assert abs(12 * next(stored) - next(stored)) < Decimal("1e-8")
    assert (one["Step Functions"]["price_usd"], one["Step Functions"]["price_region"]) == (
        "0.0000375", "sa-east-1",
    )  # fmt: skip
    assert Decimal(first["per_month_usd"]) < Decimal(twelfth["per_month_usd"])
    assert "month 12" in done.stderr
    assert "us-east-1's is used" in done.stderr  # Glue's São Paulo price is not recorded


def test_indices_can_be_given_as_users_type_them() -> None:
    done = bovespa("cost", "--indices", "all")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.splitlines()[-1])[0]["indices"] == list(INDICES)
    done = bovespa("cost", "--indices", "IBRX,XPTO")
    assert done.returncode == 2
    assert "error UnknownIndex: unknown B3 index code 'XPTO'" in done.stderr


def test_an_unknown_stack_exits_2_with_one_line() -> None:
    done = bovespa("cost", "--stack", "nope")
    assert done.returncode == 2
    errors = [line for line in done.stderr.splitlines() if line.startswith("error ")]
    assert errors == [
        "error BadArgument: no stack 'nope': Pulumi.nope.yaml not found (stacks: dev, prod)"
    ]

"""``bovespa cost``: both designs for a stack's indices, JSON on the last line, refusals."""

from __future__ import annotations

import json
from decimal import Decimal

from services.pipeline.b3.indices import INDICES
from tests.functional.test_cli import bovespa


def test_cost_of_the_prod_stack_in_both_designs() -> None:
    done = bovespa("cost", "--stack", "prod")
    assert done.returncode == 0, done.stderr
    today, proposed = json.loads(done.stdout.splitlines()[-1])
    assert (today["design"], proposed["design"]) == ("per-index", "one-execution")
    assert today["indices"] == proposed["indices"] == ["IBOV", "IBXX", "IBXL", "SMLL", "IDIV"]
    assert today["region"] == "sa-east-1"
    glue = {
        e["design"]: next(x for x in e["lines"] if x["service"] == "Glue job")
        for e in (today, proposed)
    }
    assert (glue["per-index"]["quantity"], glue["one-execution"]["quantity"]) == ("600", "120")
    sfn = next(x for x in today["lines"] if x["service"] == "Step Functions")
    assert (sfn["price_usd"], sfn["price_region"]) == ("0.0000375", "sa-east-1")
    assert Decimal(proposed["per_month_usd"]) < Decimal(today["per_month_usd"])
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

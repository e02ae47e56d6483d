"""``bovespa cost``: month 1 and month 12 of a stack's indices, JSON on the last line, refusals."""

from __future__ import annotations

import json
from decimal import Decimal

from tests.functional.test_cli import bovespa


def test_cost_of_the_prod_stack_in_month_1_and_month_12() -> None:
    done = bovespa("cost", "--stack", "prod")
    assert done.returncode == 0, done.stderr
    first, twelfth = json.loads(done.stdout.splitlines()[-1])
    assert (first["month"], twelfth["month"], first["region"]) == (1, 12, "sa-east-1")
    assert first["indices"] == ["IBOV", "IBXX", "IBXL", "SMLL", "IDIV"]
    assert Decimal(first["per_month_usd"]) < Decimal(twelfth["per_month_usd"])
    assert "us-east-1's is used" in done.stderr  # Glue's São Paulo price is not recorded


def test_an_unknown_stack_or_index_exits_2_with_one_line() -> None:
    done = bovespa("cost", "--stack", "nope")
    assert done.returncode == 2
    errors = [line for line in done.stderr.splitlines() if line.startswith("error ")]
    assert errors == [
        "error BadArgument: no stack 'nope': Pulumi.nope.yaml not found (stacks: dev, prod)"
    ]
    done = bovespa("cost", "--indices", "IBRX,XPTO")
    assert done.returncode == 2
    assert "error UnknownIndex: unknown B3 index code 'XPTO'" in done.stderr

"""Every error has its exit code, from one table; a code means one thing."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import pytest
import typer

import glue
import services
from services.pipeline.b3.errors import SchemaDrift, WeightTotalMismatch
from services.pipeline.errors import EXIT_CODES, UNEXPECTED, BadArgument, exit_code, one_line

#: Modules imported only inside the emulator's process (they patch or need its state).
EMULATOR_PROCESS_ONLY = {"local_launcher", "ministack_app"}


def project_errors() -> list[type[BaseException]]:
    found: dict[str, type[BaseException]] = {}
    for package in (services, glue):
        for module in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
            if module.name.rsplit(".", 1)[-1] in EMULATOR_PROCESS_ONLY:
                continue
            loaded = importlib.import_module(module.name)
            for name, value in vars(loaded).items():
                if (
                    inspect.isclass(value)
                    and issubclass(value, BaseException)
                    and value.__module__ == loaded.__name__
                    and not name.startswith("_")
                ):
                    found[f"{value.__module__}.{name}"] = value
    return sorted(found.values(), key=lambda kind: kind.__name__)


#: Base classes that are never raised themselves; their subclasses have codes.
BASES = {"B3Error", "LimitExceeded"}


@pytest.mark.parametrize(
    "kind",
    [kind for kind in project_errors() if kind.__name__ not in BASES],
    ids=lambda kind: kind.__name__,
)
def test_every_project_error_has_an_exit_code_of_its_own_kind(kind: type[BaseException]) -> None:
    assert any(k.__name__ in EXIT_CODES for k in kind.__mro__), f"{kind.__name__}: no exit code"


def test_codes_follow_the_class_tree() -> None:
    assert exit_code(WeightTotalMismatch("x")) == EXIT_CODES["TotalsMismatch"].code == 6
    assert exit_code(SchemaDrift("x")) == 4
    assert exit_code(BadArgument("x")) == 2
    assert exit_code(typer.BadParameter("x")) == 2  # a click UsageError
    assert exit_code(ValueError("some library's")) == UNEXPECTED == 1
    assert exit_code(KeyError("x")) == 1


def test_a_code_means_one_thing() -> None:
    codes = [entry.code for name, entry in EXIT_CODES.items() if name != "UsageError"]
    assert len(codes) == len(set(codes))
    assert UNEXPECTED not in codes


def test_one_line_takes_the_first_line_and_bounds_it() -> None:
    assert one_line(ValueError("first\nsecond")) == "ValueError: first"
    assert one_line(KeyError()) == "KeyError"
    assert len(one_line(ValueError("x" * 10_000))) == 500

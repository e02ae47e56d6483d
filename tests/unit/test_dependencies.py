"""pyproject.toml's extras, one per deployable, hold what each part needs and no more.

The Lambda images' requirements are checked against ``[lambda]`` in ``test_docker.py``.
"""

from __future__ import annotations

import ast
import json
import sys
import tomllib

import pytest

from services.deploy.packaging import (
    GLUE_ADDITIONAL_MODULES,
    PYPROJECT,
    PackagingError,
    canonical,
    extra_pins,
    images,
    pyproject_pins,
    requirement_pins,
)

PROJECT = tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))["project"]
EXTRAS = set(PROJECT["optional-dependencies"])


def test_there_is_an_extra_per_deployable() -> None:
    assert {"lambda", "glue", "local", "analysis", "infra", "dev"} == EXTRAS


def test_the_glue_extra_is_what_the_job_installs_besides_glues_own() -> None:
    declared = {canonical(name) for name in GLUE_ADDITIONAL_MODULES}
    glue = {canonical(spec.split("==")[0]) for spec in PROJECT["optional-dependencies"]["glue"]}
    assert glue == declared


def test_no_test_or_tool_package_is_installed_in_a_function_image() -> None:
    deployed = set(extra_pins("lambda"))
    tools = set().union(*(extra_pins(extra) for extra in EXTRAS - {"lambda", "glue"}))
    in_images = {pin.name for i in images().values() for pin in requirement_pins(i.requirements)}
    assert {"pytest", "pyspark", "ministack", "duckdb", "matplotlib", "pulumi"} <= tools
    assert not (tools - deployed) & in_images


def test_an_extra_brings_the_extras_it_names() -> None:
    # [local] runs the functions' code and writes the report: pip installs both with it.
    assert set(extra_pins("lambda")) | set(extra_pins("analysis")) <= set(extra_pins("local"))
    everything = set().union(*(extra_pins(extra) for extra in EXTRAS))
    assert set(extra_pins("dev")) == everything
    with pytest.raises(PackagingError, match=r"no extra \[gpu\]"):
        extra_pins("gpu")


def test_every_function_image_installs_the_base() -> None:
    # The base is what every part needs: each image names it as its own (not "via").
    base = {canonical(spec.split("==")[0]) for spec in PROJECT["dependencies"]}
    for image in images().values():
        own = {pin.name for pin in requirement_pins(image.requirements) if not pin.via}
        assert base <= own, image.requirements.name


#: The module a distribution is imported as, where the names differ.
IMPORT_NAME = {
    "aws-lambda-powertools": "aws_lambda_powertools",
    "pulumi-aws": "pulumi_aws",
    "pulumi-docker-build": "pulumi_docker_build",
    "pyyaml": "yaml",
    "localstack-client": "localstack_client",
    "exchange-calendars": "exchange_calendars",
    "grpcio": "grpc",
}
#: Distributions used without an ``import`` in the repository's code, and how they are used.
USED_WITHOUT_IMPORT = {
    "tzdata": "zoneinfo reads its time zones where the OS has none (the Lambda images)",
    "ipykernel": "the kernel the analysis notebook runs on (nbclient starts it in the tests)",
    "pytest-xdist": "pytest -n in the Makefile",
    "ruff": "make lint / make format",
    "mypy": "make lint",
    "types-requests": "mypy's stubs for requests",
    "setuptools": "parliament imports pkg_resources, gone in setuptools 81",
    "pandas": "what exchange-calendars runs on, pinned at AWS Glue 5.0's version",
    "awslambdaric": "the local functions' bootstrap runs it (services/tool/local/packages.py)",
}
#: Modules imported that no extra can declare, and where they come from.
PROVIDED = {"awsglue": "AWS Glue's own runtime: glue/spark.py imports it only on Glue"}
#: The repository's own top-level packages.
FIRST_PARTY = ("services", "glue", "infra", "tests", "docker")


def imported_modules() -> dict[str, set[str]]:
    """Every top-level module the code, the tests and the notebooks import, with where.

    Parsed with :mod:`ast`, so an ``import`` in a docstring or a string does not count.
    """
    root = PYPROJECT.parent
    trees = [
        (path, ast.parse(path.read_text(encoding="utf-8")))
        for folder in FIRST_PARTY
        for path in (root / folder).rglob("*.py")
    ]
    for notebook in root.glob("services/**/*.ipynb"):
        cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
        code = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")
        trees.append((notebook, ast.parse(code)))
    found: dict[str, set[str]] = {}
    for path, tree in trees:
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                found.setdefault(name.split(".")[0], set()).add(path.relative_to(root).as_posix())
    return found


def test_every_declared_dependency_is_used() -> None:
    """Each pinned distribution is imported by the code or tests, or has a written use."""
    imported = imported_modules()
    assert {"matplotlib", "polars", "pyspark"} <= set(imported)  # the walk saw the code
    unused = [
        name
        for name in pyproject_pins()
        if name not in USED_WITHOUT_IMPORT
        and IMPORT_NAME.get(name, name.replace("-", "_")) not in imported
    ]
    assert unused == []
    # and every written use names a declared distribution
    assert set(USED_WITHOUT_IMPORT) <= set(pyproject_pins())


def test_every_imported_distribution_is_declared() -> None:
    """The other way round: nothing is imported because another package happens to bring it."""
    declared = {IMPORT_NAME.get(name, name.replace("-", "_")) for name in pyproject_pins()}
    undeclared = {
        module: sorted(where)
        for module, where in imported_modules().items()
        if module not in sys.stdlib_module_names
        and module not in {*FIRST_PARTY, "__future__", *declared, *PROVIDED}
    }
    assert undeclared == {}

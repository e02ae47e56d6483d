"""pyproject.toml's extras, one per deployable, hold what each part needs and no more.

The Lambda images' requirements are checked against ``[lambda]`` in ``test_docker.py``.
"""

from __future__ import annotations

import tomllib

import pytest

from services.packaging import (
    GLUE_ADDITIONAL_MODULES,
    PYPROJECT,
    PackagingError,
    canonical,
    extra_pins,
    images,
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

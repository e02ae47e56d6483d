"""The Lambda images: what can be checked without a Docker engine."""

from __future__ import annotations

import importlib
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from services import settings

DOCKER = settings.REPO_ROOT / "docker"
DOCKERFILES = sorted(DOCKER.glob("*.Dockerfile"))


def instructions(path: Path) -> list[tuple[str, str]]:
    text = re.sub(r"\\\n\s*", " ", path.read_text())
    lines = [
        line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")
    ]
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1]) for line in lines]


def test_there_is_a_scraper_and_a_trigger_image() -> None:
    assert [p.name for p in DOCKERFILES] == ["scraper.Dockerfile", "trigger.Dockerfile"]


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.name)
def test_every_copied_file_exists(dockerfile: Path) -> None:
    copies = [args for kind, args in instructions(dockerfile) if kind == "COPY"]
    assert copies
    for args in copies:
        *sources, _ = args.split()
        for source in sources:
            assert (settings.REPO_ROOT / source).exists(), f"{dockerfile.name}: {source}"


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.name)
def test_the_base_image_is_lambdas_python_311(dockerfile: Path) -> None:
    (base,) = [args for kind, args in instructions(dockerfile) if kind == "FROM"]
    assert base == "public.ecr.aws/lambda/python:3.11"


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.name)
def test_cmd_names_a_handler_that_imports_and_is_callable(dockerfile: Path) -> None:
    (cmd,) = [args for kind, args in instructions(dockerfile) if kind == "CMD"]
    module_name, _, function = cmd.strip('[]"').rpartition(".")
    handler = getattr(importlib.import_module(module_name), function)
    assert callable(handler)
    copied = " ".join(args for kind, args in instructions(dockerfile) if kind == "COPY")
    assert module_name.rsplit(".", 1)[0].replace(".", "/") + "/" in copied


def test_requirements_are_pinned_as_in_pyproject() -> None:
    pyproject = tomllib.loads((settings.REPO_ROOT / "pyproject.toml").read_text())
    pins = dict(
        d.split("==")
        for d in (r.split("#")[0].strip() for r in pyproject["project"]["dependencies"])
    )
    for requirements in DOCKER.glob("*.requirements.txt"):
        for line in requirements.read_text().splitlines():
            if line and not line.startswith("#"):
                name, version = line.split("==")
                assert pins[name] == version, f"{requirements.name}: {line}"


@pytest.mark.parametrize(
    ("dockerfile", "handler"),
    [
        ("scraper.Dockerfile", "services.scraper.handler"),
        ("scraper.Dockerfile", "services.validate.handler"),
        ("trigger.Dockerfile", "services.trigger.handler"),
    ],
)
def test_every_project_module_a_handler_imports_is_copied(dockerfile: str, handler: str) -> None:
    """A fresh interpreter imports the handler; each project file it loaded is in the image."""
    code = (
        f"import sys, {handler}\n"
        "for m in list(sys.modules.values()):\n"
        "    f = getattr(m, '__file__', None) or ''\n"
        "    if m.__name__.split('.')[0] in ('services', 'glue'): print(f)\n"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        cwd=settings.REPO_ROOT,
    ).stdout.split()
    sources = [
        source
        for kind, args in instructions(DOCKER / dockerfile)
        if kind == "COPY"
        for source in args.split()[:-1]
    ]
    for path in loaded:
        relative = Path(path).relative_to(settings.REPO_ROOT).as_posix()
        assert any(
            relative == source or (source.endswith("/") and relative.startswith(source))
            for source in sources
        ), f"{dockerfile} lacks {relative}, which {handler} imports"

"""The Lambda images: what can be checked without a Docker engine.

Resolving the requirements for the images' platform needs the package index:
``tests/unit/test_lambda_packages.py``.
"""

from __future__ import annotations

import importlib
import re
import subprocess
import sys
from pathlib import Path

import pytest

from services.deploy.packaging import (
    DOCKERFILES,
    LAMBDA_BASE_IMAGE,
    LAMBDA_PYTHON,
    PRUNE_SCRIPT,
    Image,
    extra_pins,
    images,
    read_requirements,
    requirement_pins,
)
from services.pipeline import settings

DOCKER = settings.REPO_ROOT / "docker"
IMAGES = sorted(images().values(), key=lambda image: image.name)


def test_there_is_a_scraper_and_a_trigger_image() -> None:
    on_disk = sorted(p.relative_to(settings.REPO_ROOT).as_posix() for p in DOCKER.glob("*"))
    assert sorted(DOCKERFILES.values()) == [p for p in on_disk if p.endswith(".Dockerfile")]
    assert [i.name for i in IMAGES] == ["scraper", "trigger"]


@pytest.mark.parametrize("image", IMAGES, ids=lambda i: i.name)
def test_every_copied_file_exists(image: Image) -> None:
    assert image.copies
    for sources, _ in image.copies:
        for source in sources:
            assert (settings.REPO_ROOT / source).exists(), f"{image.dockerfile.name}: {source}"


@pytest.mark.parametrize("image", IMAGES, ids=lambda i: i.name)
def test_the_base_image_is_lambdas_python_on_amazon_linux_2023(image: Image) -> None:
    # python:3.11 is Amazon Linux 2 (glibc 2.26), on which pyarrow 26 has no wheel;
    # 3.12 and later are Amazon Linux 2023 (glibc 2.34).
    assert image.base == LAMBDA_BASE_IMAGE == f"public.ecr.aws/lambda/python:{LAMBDA_PYTHON}"
    assert tuple(int(p) for p in LAMBDA_PYTHON.split(".")) >= (3, 12)


@pytest.mark.parametrize("image", IMAGES, ids=lambda i: i.name)
def test_pip_installs_wheels_only_into_the_task_root(image: Image) -> None:
    (run,) = [i.args for i in image.instructions if i.kind == "RUN"]
    assert run.startswith("pip install ")
    assert "--only-binary=:all:" in run.split()
    assert "&& python /tmp/prune.py ${LAMBDA_TASK_ROOT}" in run  # as the local zips
    assert "--target ${LAMBDA_TASK_ROOT}" in run
    assert "--requirement ${LAMBDA_TASK_ROOT}/requirements.txt" in run


@pytest.mark.parametrize("image", IMAGES, ids=lambda i: i.name)
def test_cmd_names_a_handler_that_imports_and_is_callable(image: Image) -> None:
    (cmd,) = [i.args for i in image.instructions if i.kind == "CMD"]
    module_name, _, function = cmd.strip('[]"').rpartition(".")
    handler = getattr(importlib.import_module(module_name), function)
    assert callable(handler)
    assert module_name.replace(".", "/") + ".py" in image.task_root_files()


@pytest.mark.parametrize("image", IMAGES, ids=lambda i: i.name)
def test_requirements_are_pinned_as_in_the_lambda_extra(image: Image) -> None:
    # pyproject.toml's [lambda] extra (with the base) owns the pins of the handlers' own
    # dependencies; a "via" line pins a dependency of those, and must name what in the file
    # depends on it.
    pins = extra_pins("lambda")
    lines = requirement_pins(image.requirements)
    names = {pin.name for pin in lines}
    for pin in lines:
        where = f"{image.requirements.name}: {pin.name}"
        if not pin.via:
            assert pin.name in pins, f"{where} is not in pyproject.toml's [lambda] extra"
            assert pins[pin.name] == pin.version, f"{where}: [lambda] pins {pins[pin.name]}"
        else:
            assert set(pin.via) <= names, f"{where} is via something the file lacks"
            if pin.name in pins:
                assert pins[pin.name] == pin.version, f"{where}: [lambda] pins {pins[pin.name]}"


def test_every_package_of_the_lambda_extra_is_in_an_image() -> None:
    # The other way round: the extra declares nothing that no image installs.
    own = {
        pin.name for image in IMAGES for pin in requirement_pins(image.requirements) if not pin.via
    }
    assert own == set(extra_pins("lambda"))


def test_prune_removes_tests_sources_and_arrow_flight_only(tmp_path: Path) -> None:
    kept = [
        "pyarrow/__init__.py", "pyarrow/parquet/core.py", "pyarrow/libarrow.so.2600",
        "pyarrow/lib.cpython-312-x86_64-linux-gnu.so", "pandas/testing.py",
        "numpy/_core/_multiarray_umath.cpython-312-x86_64-linux-gnu.so",
        "pyarrow-26.0.1.dist-info/METADATA", "requirements.txt",
    ]  # fmt: skip
    removed = [
        "pyarrow/tests/test_flight.py", "pandas/tests/frame/test_api.py", "pyarrow/_flight.pyx",
        "pyarrow/include/arrow/api.h", "pyarrow/src/arrow/python/flight.cc",
        "pyarrow/flight.py", "pyarrow/libarrow_flight.so.2600",
        "pyarrow/_flight.cpython-312-x86_64-linux-gnu.so",
        "numpy/_core/include/numpy/ndarrayobject.h",
    ]  # fmt: skip
    for name in kept + removed:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(name)
    result = subprocess.run(
        [sys.executable, str(PRUNE_SCRIPT), str(tmp_path)], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    left = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if p.is_file())
    assert left == sorted(kept)
    assert not (tmp_path / "pyarrow" / "include").exists()  # emptied directories go too


def test_a_package_both_images_install_has_one_version() -> None:
    scraper, trigger = (read_requirements(i.requirements) for i in IMAGES)
    assert {n: scraper[n] for n in scraper.keys() & trigger.keys()} == {
        n: trigger[n] for n in scraper.keys() & trigger.keys()
    }


# --- .dockerignore ----------------------------------------------------------------------
# Docker's rules (moby/patternmatcher, as BuildKit and pulumi-docker-build apply them):
# patterns are cleaned paths relative to the context; `*` and `?` stop at `/`, `**` spans
# directories; a pattern that matches a directory matches everything under it; `!`
# re-includes; the last matching pattern decides.
# https://docs.docker.com/build/concepts/context/#dockerignore-files


def ignore_patterns(text: str) -> list[tuple[bool, re.Pattern[str]]]:
    patterns = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        include = line.startswith("!")
        path = Path(line.removeprefix("!").strip()).as_posix().lstrip("/")
        patterns.append((include, re.compile(glob_regex(path))))
    return patterns


def glob_regex(pattern: str) -> str:
    out, i = "", 0
    while i < len(pattern):
        ch = pattern[i]
        if pattern.startswith("**", i):
            i += 2
            if pattern[i : i + 1] == "/":
                i += 1
            out += ".*" if i >= len(pattern) else "(.*/)?"
            continue
        out += "[^/]*" if ch == "*" else "[^/]" if ch == "?" else re.escape(ch)
        i += 1
    return out


def excluded(path: str, patterns: list[tuple[bool, re.Pattern[str]]]) -> bool:
    parts = path.split("/")
    candidates = [path] + ["/".join(parts[:n]) for n in range(1, len(parts))]
    result = False
    for include, pattern in patterns:
        if any(pattern.fullmatch(c) for c in candidates):
            result = not include
    return result


@pytest.fixture(scope="module")
def dockerignore() -> list[tuple[bool, re.Pattern[str]]]:
    return ignore_patterns((settings.REPO_ROOT / ".dockerignore").read_text())


def test_the_matcher_follows_dockers_examples() -> None:
    # The examples of Docker's documentation, so the checks below can fail.
    rules = ignore_patterns("*/temp*\n*/*/temp*\ntemp?\n**/*.go\n*.md\n!README*.md\n")
    assert excluded("somedir/temporary.txt", rules)
    assert excluded("somedir/subdir/temp", rules)
    assert excluded("tempa", rules)
    assert not excluded("temp", rules)
    assert excluded("a/b/c.go", rules)
    assert excluded("c.go", rules)
    assert excluded("CHANGES.md", rules)
    assert not excluded("README-secret.md", rules)
    assert not excluded("somedir/other.txt", rules)


@pytest.mark.parametrize("image", IMAGES, ids=lambda i: i.name)
def test_every_copy_source_is_in_the_build_context(
    image: Image, dockerignore: list[tuple[bool, re.Pattern[str]]]
) -> None:
    root = settings.REPO_ROOT
    for sources, _ in image.copies:
        for source in sources:
            path = root / source
            files = [p for p in path.rglob("*") if p.is_file()] if path.is_dir() else [path]
            for file in files:
                relative = file.relative_to(root).as_posix()
                cache = "__pycache__" in file.parts or file.suffix == ".pyc"
                assert excluded(relative, dockerignore) == cache, relative


def test_the_virtualenv_state_and_everything_else_stay_out(
    dockerignore: list[tuple[bool, re.Pattern[str]]],
) -> None:
    out = [
        ".venv/lib/python3.11/site-packages/pyarrow/libarrow.so.2600",
        ".venv/bin/python",
        ".state/ministack/s3/bucket/key",
        ".state/build/lambda-deps/scraper.zip",
        ".git/HEAD",
        ".mypy_cache/3.11/services/pipeline/settings.meta.json",
        ".pytest_cache/v/cache/nodeids",
        "services/pipeline/b3/__pycache__/client.cpython-311.pyc",
        "tests/unit/test_docker.py",
        "services/tool/recordings/b3/README.md",
        "docs/failure-modes.md",
        "README.md",
        "glue/job.py",
        "infra/functions.py",
        "services/tool/local/deploy.py",
        "services/tool/analysis/report.py",
        "docker/scraper.Dockerfile",
        "pyproject.toml",
    ]
    assert [p for p in out if not excluded(p, dockerignore)] == []
    # And real files under .venv and .state, as they are on this machine.
    for directory in (".venv", ".state"):
        for path in list((settings.REPO_ROOT / directory).glob("*"))[:20]:
            assert excluded(path.relative_to(settings.REPO_ROOT).as_posix(), dockerignore)


@pytest.mark.parametrize(
    ("name", "handler"),
    [
        ("scraper", "services.pipeline.scraper.handler"),
        ("scraper", "services.pipeline.validate.handler"),
        ("trigger", "services.pipeline.trigger.handler"),
    ],
)
def test_every_project_module_a_handler_imports_is_in_its_image(name: str, handler: str) -> None:
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
    in_image = images()[name].task_root_files()
    for path in loaded:
        relative = Path(path).relative_to(settings.REPO_ROOT).as_posix()
        assert relative in in_image, f"the {name} image lacks {relative}, which {handler} imports"

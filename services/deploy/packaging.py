"""What each deployable carries: the Lambda images and the Glue job's declared modules.

One place for the facts that the Pulumi program, the local deployment and the tests share:

* the Lambda images: their Dockerfiles, which function runs which image, the base image
  and the platform (Python, glibc, CPU) that their requirements must install on;
* the pins: ``pyproject.toml`` owns the direct dependencies' versions, in an extra per
  deployable; each image's ``docker/<image>.requirements.txt`` repeats those of the
  ``[lambda]`` extra and pins their dependencies too, so an image and the local package
  built from the same file hold the same versions;
* the Glue job: the modules it installs with ``--additional-python-modules`` (names here,
  versions from the ``[glue]`` extra); the rest of its imports must be what Glue 5.0 ships.

Standard library only: the local deployment and the Pulumi program both import it.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from services.deploy.deployment import SCRAPER_HANDLER, TRIGGER_HANDLER, VALIDATE_HANDLER
from services.pipeline import settings

DOCKER_DIR: Final = settings.REPO_ROOT / "docker"
#: Run on the installed packages by the Dockerfiles and the local deployment alike.
PRUNE_SCRIPT: Final = DOCKER_DIR / "prune.py"
PYPROJECT: Final = settings.REPO_ROOT / "pyproject.toml"

#: AWS Lambda's Python 3.12 base image: Amazon Linux 2023 (glibc 2.34), deprecated by
#: Lambda on 2028-10-31 (https://docs.aws.amazon.com/lambda/latest/dg/lambda-python.html).
#: Not 3.13: pandas 2.2.2 (Glue 5.0's, pinned so the job can use Glue's own) has no
#: CPython 3.13 wheel. Pinned by tag, not digest: AWS republishes the tag with OS and
#: runtime patches, and nothing here can read the registry to pin or renew a digest.
LAMBDA_BASE_IMAGE: Final = "public.ecr.aws/lambda/python:3.12"
#: The Python of :data:`LAMBDA_BASE_IMAGE`.
LAMBDA_PYTHON: Final = "3.12"
#: The glibc of Amazon Linux 2023: the newest ``manylinux`` tag a wheel may carry.
LAMBDA_GLIBC: Final = (2, 34)
#: The functions' architecture (Lambda's default) and the images' build platform.
LAMBDA_ARCH: Final = "x86_64"
IMAGE_PLATFORM: Final = "linux/amd64"

#: The images, by name: their Dockerfiles, relative to the repository root.
DOCKERFILES: Final = {
    "scraper": "docker/scraper.Dockerfile",
    "trigger": "docker/trigger.Dockerfile",
}
#: Which image each handler runs in (validate is the scraper image with another CMD).
IMAGE_OF_HANDLER: Final = {
    SCRAPER_HANDLER: "scraper",
    VALIDATE_HANDLER: "scraper",
    TRIGGER_HANDLER: "trigger",
}

#: Distributions the Glue job installs with ``--additional-python-modules``, at the
#: versions ``pyproject.toml`` pins (its ``[glue]`` extra names the same).
#: Everything else the job imports must be in Glue 5.0's own set
#: (``tests/unit/test_glue_imports.py`` checks both).
GLUE_ADDITIONAL_MODULES: Final[tuple[str, ...]] = ()
#: Distributions the job imports from Glue 5.0's own set although Glue's version is not
#: the one ``pyproject.toml`` pins, and why that is safe. Any other provided module the
#: job imports must be installed at our pin (:data:`GLUE_ADDITIONAL_MODULES`).
GLUE_PROVIDED_AT_GLUE_VERSION: Final = {
    "boto3": "the job calls only long-standing S3 object operations and Glue catalogue "
    "operations (GetDatabase, CreateDatabase, CreateTable, UpdateTable, GetPartitions, "
    "BatchCreatePartition, BatchUpdatePartition, DeletePartition) that Glue's boto3 "
    "1.34.131 has; installing our pin would replace the SDK Glue's own libraries use",
    "botocore": "boto3's own; the job imports only botocore.exceptions.ClientError",
    "pyarrow": "imported only by the data contract (services.pipeline.validate.contract), "
    "which the job applies on the local engine alone (glue.job.contract_validator, for an unpinned "
    "`bovespa etl`); on Glue the job refines the bytes Validate pinned and never loads it",
}

_LAMBDA_TASK_ROOT = "${LAMBDA_TASK_ROOT}"
_IGNORED_PARTS = {"__pycache__"}
_IGNORED_SUFFIXES = {".pyc", ".pyo"}


class PackagingError(Exception):
    """A Dockerfile, requirements file or pin is not what the packaging expects."""


def canonical(name: str) -> str:
    """A distribution name as PEP 503 compares them: lower case, ``-`` for ``_`` and ``.``."""
    return re.sub(r"[-_.]+", "-", name).lower()


def _project() -> dict[str, Any]:
    project: dict[str, Any] = tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))["project"]
    return project


def _own_extras(spec: str, project: dict[str, Any]) -> list[str] | None:
    """The extras a line like ``bovespa-pipeline[lambda,analysis]`` names; None for others."""
    name, _, extras = spec.split("#", 1)[0].strip().partition("[")
    if canonical(name.strip()) != canonical(project["name"]):
        return None
    return [extra.strip() for extra in extras.rstrip("]").split(",") if extra.strip()]


def pyproject_pins() -> dict[str, str]:
    """Every pin in ``pyproject.toml`` (the base and all extras), by canonical name.

    A package is pinned in one list only, so each has one version.
    """
    project = _project()
    lists = [project["dependencies"], *project.get("optional-dependencies", {}).values()]
    specs = [spec for specs in lists for spec in specs if _own_extras(spec, project) is None]
    return dict(_pins(specs, str(PYPROJECT)))


def extra_pins(extra: str) -> dict[str, str]:
    """What ``pip install bovespa-pipeline[extra]`` names directly: the base's pins and the
    extra's, following the extras it names in turn (``bovespa-pipeline[lambda]``)."""
    project = _project()
    extras: dict[str, list[str]] = project.get("optional-dependencies", {})
    specs: list[str] = list(project["dependencies"])
    queue, seen = [extra], set[str]()
    while queue:
        name = queue.pop()
        if name in seen:
            continue
        if name not in extras:
            raise PackagingError(f"{PYPROJECT}: there is no extra [{name}]")
        seen.add(name)
        for spec in extras[name]:
            named = _own_extras(spec, project)
            if named is None:
                specs.append(spec)
            else:
                queue.extend(named)
    return dict(_pins(specs, f"{PYPROJECT} [{extra}]"))


@dataclass(frozen=True)
class Pin:
    """One line of an image's requirements file."""

    name: str  # canonical
    version: str
    #: What depends on it (``# via a, b``); empty for the handlers' own dependencies.
    via: tuple[str, ...]


def requirement_pins(path: Path) -> list[Pin]:
    """The ``name==version  [# via …]`` lines of a requirements file."""
    pins = []
    for line in path.read_text(encoding="utf-8").splitlines():
        spec, _, comment = line.partition("#")
        if not spec.strip():
            continue
        ((name, version),) = _pins([spec], str(path))
        via = comment.strip().removeprefix("via ") if comment.strip().startswith("via ") else ""
        pins.append(Pin(name, version, tuple(canonical(v.strip()) for v in via.split(",") if v)))
    names = [pin.name for pin in pins]
    if len(set(names)) != len(names):
        raise PackagingError(f"{path}: a package is pinned twice")
    return pins


def read_requirements(path: Path) -> dict[str, str]:
    """``name==version`` lines of a requirements file, by canonical name."""
    return {pin.name: pin.version for pin in requirement_pins(path)}


def _pins(specs: Iterable[str], where: str) -> Iterable[tuple[str, str]]:
    seen: set[str] = set()
    for spec in specs:
        name, sep, version = spec.split("#", 1)[0].strip().partition("==")
        if not sep or not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*", name.strip()):
            raise PackagingError(f"{where}: {spec!r} is not pinned as name==version")
        key = canonical(name.strip())
        if key in seen:
            raise PackagingError(f"{where}: {name.strip()} is pinned twice")
        seen.add(key)
        yield key, version.strip()


def glue_additional_python_modules(names: Iterable[str] = GLUE_ADDITIONAL_MODULES) -> str:
    """The job's ``--additional-python-modules``: ``name==pin,…`` (empty: nothing to add)."""
    pins = pyproject_pins()
    names = list(names)
    missing = [name for name in names if canonical(name) not in pins]
    if missing:
        raise PackagingError(f"pyproject.toml pins no {', '.join(missing)} for the Glue job")
    return ",".join(f"{name}=={pins[canonical(name)]}" for name in names)


def manylinux_platforms(
    glibc: tuple[int, int] = LAMBDA_GLIBC, arch: str = LAMBDA_ARCH
) -> list[str]:
    """Every ``manylinux`` platform tag a wheel may carry to run on ``glibc`` and ``arch``.

    pip's ``--platform`` takes tags literally (``manylinux_2_34`` does not accept a
    ``manylinux_2_28`` wheel), so the older tags and the legacy aliases are listed too.
    """
    major, newest = glibc
    tags = [f"manylinux_{major}_{minor}_{arch}" for minor in range(newest, 4, -1)]
    legacy = {17: "manylinux2014", 12: "manylinux2010", 5: "manylinux1"}
    return tags + [f"{alias}_{arch}" for minor, alias in legacy.items() if minor <= newest]


def pip_target_options(python: str, platforms: Iterable[str]) -> list[str]:
    """pip options that install wheels only, for CPython ``python`` on ``platforms``."""
    options = ["--only-binary=:all:", "--implementation", "cp", "--python-version", python]
    for platform in platforms:
        options += ["--platform", platform]
    return options


@dataclass(frozen=True)
class Instruction:
    """One Dockerfile instruction, continuation lines joined."""

    kind: str
    args: str


@dataclass(frozen=True)
class Image:
    """One Lambda image, as its Dockerfile describes it."""

    name: str
    dockerfile: Path

    @property
    def instructions(self) -> list[Instruction]:
        return dockerfile_instructions(self.dockerfile)

    @property
    def base(self) -> str:
        (base,) = [i.args for i in self.instructions if i.kind == "FROM"]
        return base

    @property
    def copies(self) -> list[tuple[list[str], str]]:
        """Each ``COPY``: its sources (relative to the build context) and its destination."""
        copies = []
        for instruction in self.instructions:
            if instruction.kind == "COPY":
                *sources, destination = instruction.args.split()
                copies.append((sources, destination))
        return copies

    @property
    def requirements(self) -> Path:
        """The requirements file the Dockerfile installs (the one it copies)."""
        found = [
            settings.REPO_ROOT / source
            for sources, _ in self.copies
            for source in sources
            if source.endswith("requirements.txt")
        ]
        if len(found) != 1:
            raise PackagingError(f"{self.dockerfile.name}: copies {len(found)} requirements files")
        return found[0]

    def task_root_files(self) -> dict[str, Path]:
        """What the image puts under ``LAMBDA_TASK_ROOT``, as ``{path in the root: source}``.

        Follows ``COPY`` semantics: a file lands in the destination directory (or at the
        destination, if it names no directory); a directory's contents are copied into it.
        Bytecode caches, which ``.dockerignore`` keeps out of the build context, are left out.
        """
        files: dict[str, Path] = {}
        for sources, destination in self.copies:
            if not destination.startswith(_LAMBDA_TASK_ROOT):
                continue  # a build-time tool (docker/prune.py), not part of the image's code
            target = destination.removeprefix(_LAMBDA_TASK_ROOT).strip("/")
            into_directory = destination.endswith("/") or len(sources) > 1
            for source in sources:
                path = settings.REPO_ROOT / source
                if path.is_dir():
                    for item in sorted(path.rglob("*")):
                        if item.is_file() and _kept(item):
                            files[_join(target, item.relative_to(path).as_posix())] = item
                elif path.is_file():
                    files[_join(target, path.name) if into_directory else target] = path
                else:
                    raise PackagingError(f"{self.dockerfile.name}: COPY source {source} is missing")
        return files


def images() -> dict[str, Image]:
    """The Lambda images, by name."""
    return {name: Image(name, settings.REPO_ROOT / path) for name, path in DOCKERFILES.items()}


def image_of(handler: str) -> Image:
    """The image that runs ``handler`` (``module.function``)."""
    return images()[IMAGE_OF_HANDLER[handler]]


def dockerfile_instructions(path: Path) -> list[Instruction]:
    """A Dockerfile's instructions, comments dropped and ``\\`` continuations joined."""
    text = re.sub(r"\\\n\s*", " ", path.read_text(encoding="utf-8"))
    instructions = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            kind, _, args = line.partition(" ")
            instructions.append(Instruction(kind.upper(), args.strip()))
    return instructions


def _kept(path: Path) -> bool:
    return not (_IGNORED_PARTS & set(path.parts)) and path.suffix not in _IGNORED_SUFFIXES


def _join(directory: str, name: str) -> str:
    return f"{directory}/{name}" if directory else name

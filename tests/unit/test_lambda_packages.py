"""The Lambda images' requirements install on Lambda, and the emulator runs the same packages.

These need the package index (marked ``network``): pip resolves each image's requirements
for the base image's platform (CPython 3.12, manylinux up to glibc 2.34, x86_64) from
package metadata alone, and the local deployment installs them for the emulator's Python.
Without an index they are skipped, except under CI, where they fail.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import sysconfig
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from packaging.requirements import Requirement

from services.deploy.deployment import SCRAPER_HANDLER, TRIGGER_HANDLER, VALIDATE_HANDLER
from services.deploy.packaging import (
    LAMBDA_PYTHON,
    Image,
    canonical,
    image_of,
    images,
    manylinux_platforms,
    pip_target_options,
    pyproject_pins,
    read_requirements,
    requirement_pins,
)
from services.pipeline import settings
from services.tool.local.packages import (
    PackageBuildFailed,
    dependencies_zip,
    function_zip,
    local_python,
)

pytestmark = pytest.mark.network

IMAGES = sorted(images().values(), key=lambda image: image.name)
HANDLERS = [SCRAPER_HANDLER, VALIDATE_HANDLER, TRIGGER_HANDLER]

#: Standard-library modules of Python 3.11 that later Pythons removed: PEP 594's "dead
#: batteries" (https://docs.python.org/3.13/whatsnew/3.13.html#pep-594-remove-dead-batteries-from-the-standard-library)
#: and distutils, imp, asynchat, asyncore, smtpd
#: (https://docs.python.org/3.12/whatsnew/3.12.html#removed). The handlers run on 3.11
#: here and on the image's Python on AWS, so they may import none of them.
REMOVED_AFTER_311 = {
    (3, 12): {"distutils", "imp", "asynchat", "asyncore", "smtpd"},
    (3, 13): {
        "aifc", "audioop", "cgi", "cgitb", "chunk", "crypt", "imghdr", "mailcap", "msilib",
        "nis", "nntplib", "ossaudiodev", "pipes", "sndhdr", "spwd", "sunau", "telnetlib",
        "uu", "xdrlib", "lib2to3",
    },
}  # fmt: skip


@pytest.fixture(scope="session")
def package_index() -> None:
    """Skip (fail under CI) when pip cannot reach its package index."""
    probe = subprocess.run(
        [sys.executable, "-m", "pip", "index", "versions", "pip", "--no-cache-dir"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if probe.returncode != 0:
        reason = f"the package index is not reachable: {probe.stderr.strip()[-300:]}"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)


def resolve_for_lambda(image: Image, tmp_path: Path) -> list[dict[str, Any]]:
    """pip's resolution of the image's own dependencies, constrained by its file, for the
    image's platform; metadata only (``--dry-run``), nothing is installed."""
    direct = tmp_path / "direct.txt"
    pins = requirement_pins(image.requirements)
    direct.write_text("".join(f"{p.name}=={p.version}\n" for p in pins if not p.via))
    report = tmp_path / "report.json"
    command = [
        sys.executable,
        *("-m", "pip", "install", "--dry-run", "--ignore-installed", "--quiet"),
        *("--no-cache-dir", "--disable-pip-version-check", "--report", str(report)),
        *("--target", str(tmp_path / "target")),
        *pip_target_options(LAMBDA_PYTHON, manylinux_platforms()),
        *("--requirement", str(direct), "--constraint", str(image.requirements)),
    ]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    assert result.returncode == 0, f"{image.requirements.name}: {result.stderr.strip()[-1500:]}"
    installs: list[dict[str, Any]] = json.loads(report.read_text())["install"]
    return installs


@pytest.fixture(scope="module")
def resolved(
    tmp_path_factory: pytest.TempPathFactory, package_index: None
) -> Callable[[Image], list[dict[str, Any]]]:
    """:func:`resolve_for_lambda`, once per image."""
    done: dict[str, list[dict[str, Any]]] = {}

    def resolve(image: Image) -> list[dict[str, Any]]:
        if image.name not in done:
            done[image.name] = resolve_for_lambda(image, tmp_path_factory.mktemp(image.name))
        return done[image.name]

    return resolve


@pytest.mark.parametrize("image", IMAGES, ids=lambda i: i.name)
def test_requirements_resolve_to_exactly_their_pins_as_wheels_for_the_image(
    image: Image, resolved: Callable[[Image], list[dict[str, Any]]]
) -> None:
    installs = resolved(image)
    resolved = {canonical(i["metadata"]["name"]): i["metadata"]["version"] for i in installs}
    assert resolved == read_requirements(image.requirements)
    platforms = set(manylinux_platforms()) | {"any"}
    python = "cp" + LAMBDA_PYTHON.replace(".", "")
    for install in installs:
        wheel = install["download_info"]["url"].rsplit("/", 1)[1]
        assert wheel.endswith(".whl"), wheel
        _, _, pythons, abis, platform_tags = wheel.removesuffix(".whl").rsplit("-", 4)
        assert set(platform_tags.split(".")) & platforms, wheel
        assert abis in {"none", "abi3", python}, wheel
        assert python in pythons.split(".") or abis != python, wheel


@pytest.mark.parametrize("image", IMAGES, ids=lambda i: i.name)
def test_each_via_names_what_depends_on_it(
    image: Image, resolved: Callable[[Image], list[dict[str, Any]]]
) -> None:
    installs = resolved(image)
    environment = {"python_version": LAMBDA_PYTHON, "sys_platform": "linux", "extra": ""}
    needed_by: dict[str, set[str]] = {}
    for install in installs:
        for spec in install["metadata"].get("requires_dist", []):
            requirement = Requirement(spec)
            if requirement.marker is None or requirement.marker.evaluate(environment):
                name = canonical(requirement.name)
                needed_by.setdefault(name, set()).add(canonical(install["metadata"]["name"]))
    for pin in requirement_pins(image.requirements):
        if pin.via:  # a pin without one is the handlers' own, pinned by pyproject.toml
            assert set(pin.via) == needed_by.get(pin.name, set()), pin.name


def test_the_tag_list_accepts_older_manylinux_wheels_but_not_newer() -> None:
    # pip takes --platform literally: pyarrow 26 publishes manylinux_2_28 wheels only, so
    # "manylinux_2_34" alone would find none (the check above would fail, not pass).
    tags = manylinux_platforms((2, 34), "x86_64")
    assert tags[0] == "manylinux_2_34_x86_64"
    assert {"manylinux_2_28_x86_64", "manylinux2014_x86_64", "manylinux1_x86_64"} <= set(tags)
    assert "manylinux_2_35_x86_64" not in tags
    # Amazon Linux 2's glibc (2.26), the old base image, has no room for pyarrow 26's wheels.
    assert "manylinux_2_28_x86_64" not in manylinux_platforms((2, 26), "x86_64")


def test_the_former_base_image_had_no_pyarrow_to_install(
    tmp_path: Path, package_index: None
) -> None:
    # The bug this module guards against: python:3.11 is Amazon Linux 2 (glibc 2.26), and
    # pyarrow 26 publishes no wheel for it, so the image build fell back to the sdist.
    command = [
        sys.executable,
        *("-m", "pip", "download", "--no-deps", "--no-cache-dir", "--quiet"),
        *("--disable-pip-version-check", "--dest", str(tmp_path)),
        *pip_target_options("3.11", manylinux_platforms((2, 26), "x86_64")),
        f"pyarrow=={pyproject_pins()['pyarrow']}",
    ]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    assert result.returncode != 0
    assert "No matching distribution found for pyarrow" in result.stderr


def test_a_pin_without_a_linux_wheel_fails_the_build_in_one_line_and_leaves_nothing(
    tmp_path: Path, package_index: None
) -> None:
    requirements = tmp_path / "broken.requirements.txt"
    requirements.write_text("pyarrow==0.17.1\n")  # sdist only for the emulator's Python
    dockerfile = tmp_path / "broken.Dockerfile"
    dockerfile.write_text(f"FROM scratch\nCOPY {requirements} ${{LAMBDA_TASK_ROOT}}/\n")
    cache = tmp_path / "cache"
    with pytest.raises(PackageBuildFailed) as failure:
        dependencies_zip(Image("broken", dockerfile), cache)
    message = str(failure.value)
    assert "\n" not in message
    assert message.startswith(f"could not install {requirements} as Linux wheels for Python")
    assert "pyarrow==0.17.1" in message
    assert list(cache.iterdir()) == []


@pytest.mark.parametrize("image", IMAGES, ids=lambda i: i.name)
def test_the_local_package_installs_exactly_the_images_pins(
    image: Image, package_index: None
) -> None:
    with zipfile.ZipFile(dependencies_zip(image)) as archive:
        installed = {}
        for name in archive.namelist():
            if name.endswith(".dist-info/METADATA"):
                fields = dict(
                    line.split(": ", 1)
                    for line in archive.read(name).decode().splitlines()[:5]
                    if ": " in line
                )
                installed[canonical(fields["Name"])] = fields["Version"]
    assert installed == read_requirements(image.requirements)


@pytest.fixture(scope="module")
def task_root(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Path]:
    """The local package of an image's functions, extracted (once per image)."""
    extracted: dict[str, Path] = {}

    def extract(image: str) -> Path:
        if image not in extracted:
            handler = next(h for h in HANDLERS if image_of(h).name == image)
            extracted[image] = tmp_path_factory.mktemp(f"{image}-task-root")
            with zipfile.ZipFile(io.BytesIO(function_zip(handler))) as archive:
                archive.extractall(extracted[image])
        return extracted[image]

    return extract


@pytest.mark.parametrize("handler", HANDLERS)
def test_every_handler_imports_from_its_package_alone(
    handler: str, task_root: Callable[[str], Path], package_index: None
) -> None:
    # The zip the emulator runs, on nothing but the standard library: no site-packages
    # (-S), no environment or user site (-I), so a module the image lacks fails here.
    package = task_root(image_of(handler).name)
    module, _, function = handler.rpartition(".")
    probe = (
        "import importlib, json, sys\n"
        f"sys.path.insert(0, {str(package)!r})\n"
        f"handler = getattr(importlib.import_module({module!r}), {function!r})\n"
        "assert callable(handler)\n"
        "if 'zoneinfo' in sys.modules:  # the OS may have no time zones: the package must\n"
        "    sys.modules['zoneinfo'].reset_tzpath(to=[])\n"
        f"    sys.modules['zoneinfo'].ZoneInfo({settings.B3_TIMEZONE!r})\n"
        "files = {n: getattr(m, '__file__', None) for n, m in list(sys.modules.items())}\n"
        "print(json.dumps(files))\n"
    )
    result = subprocess.run(
        [sys.executable, "-I", "-S", "-c", probe], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr.strip()[-1500:]
    files: dict[str, str | None] = json.loads(result.stdout.splitlines()[-1])
    stdlib_root = sysconfig.get_paths()["stdlib"]
    stdlib = {n for n, f in files.items() if f is None or f.startswith(stdlib_root)}
    foreign = {n: f for n, f in files.items() if n not in stdlib and not f.startswith(str(package))}
    assert not foreign, f"loaded from outside the package and the standard library: {foreign}"
    top = {n.split(".")[0] for n in stdlib}
    target = tuple(int(p) for p in LAMBDA_PYTHON.split("."))
    removed = {
        m for version, names in REMOVED_AFTER_311.items() if version <= target for m in names
    }
    assert not top & removed, f"gone in Python {LAMBDA_PYTHON}: {top & removed}"
    assert local_python() == f"{sys.version_info.major}.{sys.version_info.minor}"


@pytest.mark.parametrize("handler", HANDLERS)
def test_each_package_fits_lambdas_zip_limit_once_pruned(handler: str, package_index: None) -> None:
    # Lambda (and so the emulator) refuses a zip that unzips to over 250 MB; without
    # docker/prune.py the scraper's packages were 303 MB.
    with zipfile.ZipFile(io.BytesIO(function_zip(handler))) as archive:
        infos = archive.infolist()
    assert sum(info.file_size for info in infos) < 262_144_000
    assert not [i.filename for i in infos if i.filename.endswith((".pyx", ".h", "/flight.py"))]
    assert not [i.filename for i in infos if "/tests/" in i.filename]


@pytest.mark.parametrize("handler", HANDLERS)
def test_the_package_holds_what_the_image_copies(handler: str, package_index: None) -> None:
    with zipfile.ZipFile(io.BytesIO(function_zip(handler))) as archive:
        names = set(archive.namelist())
        bootstrap = archive.getinfo("bootstrap")
        # The custom runtime's entry point: AWS's runtime client, as in the image.
        assert bootstrap.external_attr >> 16 == 0o100755
        assert archive.read(bootstrap).decode().endswith(' -m awslambdaric "$_HANDLER"\n')
    copied = image_of(handler).task_root_files()
    assert set(copied) <= names
    assert "requirements.txt" in copied
    # Nothing of services/ beyond what the Dockerfile copies (the image has no more).
    assert {n for n in names if n.startswith("services/")} == {
        n for n in copied if n.startswith("services/")
    }

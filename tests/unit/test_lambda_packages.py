"""The Lambda packages the local deployment builds as the images do: each handler imports
from its zip alone, the zip fits Lambda's limit, and a bad pin fails in one line."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

from services.deploy.deployment import IMAGE_OF_HANDLER
from services.pipeline import settings
from services.tool.local.packages import (
    DOCKER_DIR,
    PackageBuildFailed,
    dependencies_zip,
    function_zip,
)


@pytest.fixture(scope="module")
def package_index() -> None:
    """Skip (fail under CI) when pip cannot reach its package index."""
    probe = subprocess.run(
        [sys.executable, "-m", "pip", "index", "versions", "pip", "--no-cache-dir"],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    if probe.returncode != 0:
        stop = pytest.fail if os.environ.get("CI") else pytest.skip
        stop(f"the package index is not reachable: {probe.stderr.strip()[-300:]}")


@pytest.mark.network
@pytest.mark.parametrize("handler", sorted(IMAGE_OF_HANDLER))
def test_every_handler_imports_from_its_package_alone(
    handler: str, tmp_path: Path, package_index: None
) -> None:
    with zipfile.ZipFile(io.BytesIO(function_zip(handler))) as archive:
        infos = archive.infolist()
        archive.extractall(tmp_path)
        assert archive.getinfo("bootstrap").external_attr >> 16 == 0o100755
    # Lambda (and the emulator) refuses a zip that unzips to over 250 MB: prune.py keeps it under.
    assert sum(info.file_size for info in infos) < 262_144_000
    # No site-packages (-S), no environment (-I): a module the image lacks fails here.
    module, _, function = handler.rpartition(".")
    probe = (
        "import importlib, json, sys\n"
        f"sys.path.insert(0, {str(tmp_path)!r})\n"
        f"assert callable(getattr(importlib.import_module({module!r}), {function!r}))\n"
        "if 'zoneinfo' in sys.modules:  # the OS may have no time zones: the package must\n"
        "    sys.modules['zoneinfo'].reset_tzpath(to=[])\n"
        f"    sys.modules['zoneinfo'].ZoneInfo({settings.B3_TIMEZONE!r})\n"
        "print(json.dumps({n: getattr(m, '__file__', None) for n, m in sys.modules.items()}))\n"
    )
    result = subprocess.run(
        [sys.executable, "-I", "-S", "-c", probe], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr.strip()[-1500:]
    files: dict[str, str | None] = json.loads(result.stdout.splitlines()[-1])
    stdlib = sysconfig.get_paths()["stdlib"]
    foreign = {n: f for n, f in files.items() if f and not f.startswith((stdlib, str(tmp_path)))}
    assert not foreign, f"loaded from outside the package and the standard library: {foreign}"


@pytest.mark.network
def test_a_pin_without_a_wheel_fails_in_one_line_and_leaves_nothing(
    tmp_path: Path, package_index: None
) -> None:
    docker = tmp_path / "docker"
    docker.mkdir()
    (docker / "broken.requirements.txt").write_text("pyarrow==0.17.1\n")  # sdist only here
    for name in ("scraper.requirements.txt", "constraints.txt"):
        (docker / name).write_bytes((DOCKER_DIR / name).read_bytes())
    cache = tmp_path / "cache"
    with pytest.raises(PackageBuildFailed) as failure:
        dependencies_zip("broken", cache, docker)
    message = str(failure.value)
    assert "\n" not in message
    assert message.startswith("could not install docker/broken.requirements.txt as Linux wheels")
    assert list(cache.iterdir()) == []


def test_prune_removes_tests_sources_and_arrow_flight_only(tmp_path: Path) -> None:
    kept = ["pyarrow/__init__.py", "pyarrow/libarrow.so.2600", "pandas/testing.py",
            "pyarrow-26.0.1.dist-info/METADATA"]  # fmt: skip
    removed = ["pyarrow/tests/test_flight.py", "pyarrow/_flight.pyx", "pyarrow/include/arrow/api.h",
               "pyarrow/flight.py", "pyarrow/libarrow_flight.so.2600"]  # fmt: skip
    for name in kept + removed:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(name)
    subprocess.run([sys.executable, str(DOCKER_DIR / "prune.py"), str(tmp_path)], check=True)
    left = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if p.is_file())
    assert left == sorted(kept)
    assert not (tmp_path / "pyarrow" / "include").exists()  # emptied directories go too

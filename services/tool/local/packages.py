"""The local functions' zips, built from what the images install and copy (docker/README.md),
as wheels for the emulator's Python: a handler that needs a module its image lacks fails here
as on AWS. They run as :data:`RUNTIME` with AWS's runtime interface client, so a handler's
exception reaches Step Functions named by its class, as on AWS (docs/emulator.md)."""

from __future__ import annotations

import hashlib
import io
import os
import shlex
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path
from typing import Final

from services.deploy.deployment import IMAGE_OF_HANDLER
from services.pipeline import settings

DOCKER_DIR: Final = settings.REPO_ROOT / "docker"
DEPENDENCIES_DIR: Final = settings.STATE_DIR / "build" / "lambda-deps"
#: What the Dockerfiles copy into the task root besides the packages.
CODE: Final = ("services/__init__.py", "services/pipeline")
#: The versions every image installs at (pip constraints).
CONSTRAINTS: Final = ("scraper.requirements.txt", "constraints.txt")

#: The local functions' runtime: a ``bootstrap`` speaking the Lambda Runtime API.
RUNTIME: Final = "provided.al2023"


class PackageBuildFailed(Exception):
    """A function's package could not be built (no package index, no wheel, a bad pin)."""


def dependencies_zip(image: str, cache: Path = DEPENDENCIES_DIR, docker: Path = DOCKER_DIR) -> Path:
    """The image's requirements installed for this Python and zipped, once per content."""
    sources = [docker / f"{image}.requirements.txt", *(docker / c for c in CONSTRAINTS)]
    prune = DOCKER_DIR / "prune.py"
    key = hashlib.sha256(b"".join(p.read_bytes() for p in [*sources, prune])).hexdigest()
    python = f"{sys.version_info.major}.{sys.version_info.minor}"
    cached = cache / f"{image}-py{python}-{key[:16]}.zip"
    if cached.exists():
        return cached
    cache.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=cache, prefix=".building-") as scratch:
        target = Path(scratch) / "packages"
        constraints = [arg for path in sources[1:] for arg in ("--constraint", str(path))]
        command = [
            *(sys.executable, "-m", "pip", "install", "--quiet", "--no-cache-dir"),
            *("--disable-pip-version-check", "--only-binary=:all:", "--target", str(target)),
            *("--requirement", str(sources[0]), *constraints),
        ]
        result = subprocess.run(command, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            errors = [line for line in result.stderr.splitlines() if "ERROR" in line]
            reason = (errors or result.stderr.strip().splitlines() or ["pip failed"])[-1]
            raise PackageBuildFailed(
                f"could not install docker/{sources[0].name} as Linux wheels for Python "
                f"{python}: {reason.removeprefix('ERROR: ')}"
            )
        subprocess.run([sys.executable, str(prune), str(target)], capture_output=True, check=True)
        partial = Path(scratch) / "dependencies.zip"
        with zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED) as archive:
            for path in sorted(target.rglob("*")):
                if path.is_file() and "__pycache__" not in path.parts:
                    archive.write(path, path.relative_to(target).as_posix())
        os.replace(partial, cached)
    return cached


#: Local only: an ISO 8601 instant the functions' clock starts from (time-machine), where set.
CLOCK_ENV: Final = "BOVESPA_LOCAL_CLOCK"
_START = f"""import datetime, os, runpy, sys
if os.environ.get({CLOCK_ENV!r}):
    import time_machine
    time_machine.travel(datetime.datetime.fromisoformat(os.environ[{CLOCK_ENV!r}])).start()
runpy.run_module("awslambdaric", run_name="__main__", alter_sys=True)
"""


def bootstrap() -> str:
    """The runtime's ``bootstrap``: AWS's runtime interface client on the emulator's Python,
    its clock started at :data:`CLOCK_ENV` where a test froze it."""
    return f'#!/bin/sh\nexec {shlex.quote(sys.executable)} -c {shlex.quote(_START)} "$_HANDLER"\n'


def function_zip(handler: str) -> bytes:
    """The zip of the function that runs ``handler``: its image's packages and code."""
    buffer = io.BytesIO(dependencies_zip(IMAGE_OF_HANDLER[handler]).read_bytes())
    with zipfile.ZipFile(buffer, "a", zipfile.ZIP_DEFLATED) as archive:
        executable = zipfile.ZipInfo("bootstrap")
        executable.external_attr = 0o100755 << 16
        archive.writestr(executable, bootstrap())
        for source in CODE:
            path = settings.REPO_ROOT / source
            for file in sorted([path] if path.is_file() else path.rglob("*")):
                if file.is_file() and "__pycache__" not in file.parts:  # as .dockerignore
                    archive.write(file, file.relative_to(settings.REPO_ROOT).as_posix())
    return buffer.getvalue()

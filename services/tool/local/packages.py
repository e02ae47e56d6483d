"""The local deployment's Lambda zips, built as the images are.

Each function's zip holds what its image holds under ``LAMBDA_TASK_ROOT``: the packages of
the image's requirements file (``docker/<image>.requirements.txt``), installed by pip as
Linux wheels for the Python the emulator runs handlers with and pruned by
``docker/prune.py`` as in the image, and the files the image's Dockerfile copies. Nothing
comes from the development virtualenv, so a handler that needs a module its image lacks
fails here as it would on AWS.

The package runs as a custom runtime (:data:`RUNTIME`): its ``bootstrap`` starts AWS's
runtime interface client (``awslambdaric``, what AWS's Python base images run) on the
emulator's Python with the function's handler. MiniStack passes the runtime's error
document through, so a handler's exception reaches the caller (and Step Functions) named
by its class, ``B3Unavailable``, as on AWS; MiniStack's own Python runtime calls every one
``Runtime.HandlerError``.

Installing is the slow part (the package index, pyarrow's wheel), so the installed
packages are kept zipped under ``.state/build/lambda-deps``, named by a hash of the
requirements file, the prune script and the pip options: a changed pin builds a new one.
"""

from __future__ import annotations

import hashlib
import io
import os
import platform
import shlex
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path
from typing import Final

from services.deploy.packaging import (
    LAMBDA_GLIBC,
    PRUNE_SCRIPT,
    Image,
    image_of,
    manylinux_platforms,
    pip_target_options,
)
from services.pipeline import settings

DEPENDENCIES_DIR: Final = settings.STATE_DIR / "build" / "lambda-deps"

#: The local functions' runtime: a ``bootstrap`` speaking the Lambda Runtime API.
RUNTIME: Final = "provided.al2023"

_ARCHES = {"x86_64": "x86_64", "amd64": "x86_64", "aarch64": "aarch64", "arm64": "aarch64"}


class PackageBuildFailed(Exception):
    """A function's package could not be built (no package index, no wheel, a bad pin)."""


def local_python() -> str:
    """``3.11``: the Python that runs the emulator's handlers (the emulator's own)."""
    return f"{sys.version_info.major}.{sys.version_info.minor}"


def local_platforms() -> list[str]:
    """The ``manylinux`` tags a wheel may carry to load here and on Lambda's glibc.

    The CPU is this machine's (the emulator runs the handlers here); the glibc is the
    older of this machine's and Amazon Linux 2023's.
    """
    arch = _ARCHES.get(platform.machine().lower())
    libc, version = platform.libc_ver()
    if sys.platform != "linux" or arch is None or libc != "glibc":
        raise PackageBuildFailed(
            f"the local Lambda packages are Linux wheels; this is {sys.platform} "
            f"{platform.machine()} {libc or 'without glibc'}"
        )
    here = (int(version.split(".")[0]), int(version.split(".")[1]))
    return manylinux_platforms(min(here, LAMBDA_GLIBC), arch)


def pip_options() -> list[str]:
    """How the dependencies are installed: wheels only, for this Python, on Linux."""
    return pip_target_options(local_python(), local_platforms())


def dependencies_zip(image: Image, cache: Path = DEPENDENCIES_DIR) -> Path:
    """The image's requirements, installed for the local Python on Linux and zipped.

    Built once per content of the requirements file (and pip options) into ``cache``;
    later calls return the cached zip. A failed build leaves nothing there.
    """
    requirements = image.requirements
    options = pip_options()
    inputs = requirements.read_bytes() + PRUNE_SCRIPT.read_bytes() + "\0".join(options).encode()
    key = hashlib.sha256(inputs).hexdigest()
    cached = cache / f"{image.name}-py{local_python()}-{key[:16]}.zip"
    if cached.exists():
        return cached
    cache.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=cache, prefix=".building-") as scratch:
        target = Path(scratch) / "packages"
        command = [
            sys.executable,
            *("-m", "pip", "install", "--quiet", "--no-cache-dir", "--no-warn-conflicts"),
            *("--disable-pip-version-check", "--target", str(target), *options),
            *("--requirement", str(requirements)),
        ]
        result = subprocess.run(command, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            errors = [line for line in result.stderr.splitlines() if "ERROR" in line]
            reason = (errors or result.stderr.strip().splitlines() or ["pip failed"])[-1]
            shown = (
                requirements.relative_to(settings.REPO_ROOT)
                if requirements.is_relative_to(settings.REPO_ROOT)
                else requirements
            )
            raise PackageBuildFailed(
                f"could not install {shown} as Linux wheels for Python {local_python()}: "
                f"{reason.removeprefix('ERROR: ')}"
            )
        # What the Dockerfiles run after pip: the same script, the same files removed.
        subprocess.run(
            [sys.executable, str(PRUNE_SCRIPT), str(target)], capture_output=True, check=True
        )
        partial = Path(scratch) / "dependencies.zip"
        with zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED) as archive:
            for path in sorted(target.rglob("*")):
                if path.is_file() and "__pycache__" not in path.parts:
                    archive.write(path, path.relative_to(target).as_posix())
        os.replace(partial, cached)
    return cached


def bootstrap() -> str:
    """The runtime's ``bootstrap``: AWS's runtime interface client on the emulator's Python
    (the one the dependencies are installed for), running the function's ``_HANDLER``."""
    return f'#!/bin/sh\nexec {shlex.quote(sys.executable)} -m awslambdaric "$_HANDLER"\n'


def function_zip(handler: str) -> bytes:
    """The zip package of the function that runs ``handler``: its image's task root, and
    the :func:`bootstrap` that runs it."""
    image = image_of(handler)
    buffer = io.BytesIO(dependencies_zip(image).read_bytes())
    with zipfile.ZipFile(buffer, "a", zipfile.ZIP_DEFLATED) as archive:
        executable = zipfile.ZipInfo("bootstrap")
        executable.external_attr = 0o100755 << 16
        archive.writestr(executable, bootstrap())
        installed = set(archive.namelist())
        for name, source in image.task_root_files().items():
            if name in installed:
                raise PackageBuildFailed(
                    f"{image.dockerfile.name}: {name} is both an installed package file "
                    "and a copied one"
                )
            archive.write(source, name)
    return buffer.getvalue()

"""The Glue job imports only what AWS Glue 5.0 provides, plus what the job itself declares.

Glue runs ``glue/job.py`` with the ``--extra-py-files`` zip (``glue/`` and ``services/``) on
its path, and installs ``--additional-python-modules`` before the run. Any other module
must already be in Glue 5.0. The list below is AWS's, from the AWS Glue developer guide,
"Using Python libraries with AWS Glue" → "Python modules already provided in AWS Glue" →
"AWS Glue version 5.0":
https://docs.aws.amazon.com/glue/latest/dg/aws-glue-programming-python-libraries.html#glue-modules-provided

The job's import closure is computed from its source: every ``import`` that can run
(module level or inside a function; not under ``if TYPE_CHECKING``), and literal
``importlib`` look-ups, followed through the job's own modules as they are in the zip.
A run-time import of the script from the extracted zip checks that the static walk misses
no module the job really loads.
"""

from __future__ import annotations

import ast
import importlib.metadata
import json
import subprocess
import sys
import sysconfig
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from infra.etl import JOB_SCRIPT, package_zip
from services.deploy.packaging import (
    GLUE_ADDITIONAL_MODULES,
    GLUE_PROVIDED_AT_GLUE_VERSION,
    canonical,
    pyproject_pins,
)

#: "AWS Glue version 5.0 includes the following Python modules out of the box" (see the
#: module docstring for the page), copied as published.
GLUE_5_PROVIDED = {
    "aiobotocore": "2.13.1", "aiohappyeyeballs": "2.3.5", "aiohttp": "3.10.1",
    "aioitertools": "0.11.0", "aiosignal": "1.3.1", "appdirs": "1.4.4", "attrs": "24.2.0",
    "boto3": "1.34.131", "botocore": "1.34.131", "certifi": "2024.7.4",
    "charset-normalizer": "3.3.2", "contourpy": "1.2.1", "cycler": "0.12.1",
    "fonttools": "4.53.1", "frozenlist": "1.4.1", "fsspec": "2024.6.1", "idna": "2.10",
    "jmespath": "0.10.0", "kaleido": "0.2.1", "kiwisolver": "1.4.5", "matplotlib": "3.9.0",
    "multidict": "6.0.5", "numpy": "1.26.4", "packaging": "24.1", "pandas": "2.2.2",
    "pillow": "10.4.0", "pip": "23.0.1", "plotly": "5.23.0", "pyarrow": "17.0.0",
    "pyparsing": "3.1.2", "python-dateutil": "2.9.0.post0", "pytz": "2024.1",
    "requests": "2.32.2", "s3fs": "2024.6.1", "s3transfer": "0.10.2", "seaborn": "0.13.2",
    "setuptools": "59.6.0", "six": "1.16.0", "tenacity": "9.0.0", "tzdata": "2024.1",
    "urllib3": "1.25.10", "virtualenv": "20.4.0", "wrapt": "1.16.0", "yarl": "1.9.4",
}  # fmt: skip
#: Glue's runtime itself, which the list does not name: its Spark 3.5.4 (PySpark, Py4J)
#: and the ``awsglue`` library (https://docs.aws.amazon.com/glue/latest/dg/release-notes.html).
GLUE_RUNTIME_MODULES = {"pyspark", "py4j", "awsglue"}
#: The job's own packages, shipped in the ``--extra-py-files`` zip.
OWN_PACKAGES = {"glue", "services"}


@dataclass
class Closure:
    """What the job's code imports: its own modules, and third-party top-level names."""

    own: set[str] = field(default_factory=set)
    third_party: dict[str, set[str]] = field(default_factory=dict)  # name -> importers


def module_file(root: Path, name: str) -> Path | None:
    base = root.joinpath(*name.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def imported_names(tree: ast.Module, module: str, is_package: bool) -> dict[str, bool]:
    """Absolute names a module imports, wherever the statement stands.

    Each maps to whether it may be an attribute rather than a module (``from m import x``).
    """
    names: dict[str, bool] = {}
    package = module if is_package else module.rpartition(".")[0]

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            names.update((alias.name, False) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{parent}.{base}" if base else parent
            names[base] = False
            names.update((f"{base}.{a.name}", True) for a in node.names if a.name != "*")
        elif (
            isinstance(node, ast.Call)
            and _is_dynamic_import(node.func)
            and node.args
            and isinstance(node.args[0], ast.Constant)
        ):
            names[str(node.args[0].value)] = False
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return names


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _is_dynamic_import(func: ast.expr) -> bool:
    name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
    return name in {"import_module", "find_spec", "__import__"}


def static_closure(script: Path, root: Path) -> Closure:
    """Follow the imports of ``script`` through the job's own modules under ``root``."""
    closure = Closure()
    queue: list[tuple[str, Path]] = [("__main__", script)]
    seen: set[str] = set()
    while queue:
        module, path = queue.pop()
        if module in seen:
            continue
        seen.add(module)
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        imports = imported_names(tree, module, path.name == "__init__.py")
        for name, maybe_attribute in imports.items():
            top = name.split(".")[0]
            if top in OWN_PACKAGES:
                parts = name.split(".")
                for depth in range(1, len(parts) + 1):
                    prefix = ".".join(parts[:depth])
                    found = module_file(root, prefix)
                    if found is not None:
                        closure.own.add(prefix)
                        queue.append((prefix, found))
                    elif not (maybe_attribute and depth == len(parts)):
                        raise AssertionError(
                            f"{module} imports {name}, which the --extra-py-files zip lacks"
                        )
            elif top and top not in sys.stdlib_module_names and top != "__future__":
                closure.third_party.setdefault(top, set()).add(module)
    return closure


@pytest.fixture(scope="module")
def extra_py_files(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The ``--extra-py-files`` zip the Pulumi program uploads, extracted."""
    root = tmp_path_factory.mktemp("extra-py-files")
    (root / "bovespa.zip").write_bytes(package_zip())
    with zipfile.ZipFile(root / "bovespa.zip") as archive:
        archive.extractall(root / "site")
    return root / "site"


@pytest.fixture(scope="module")
def closure(extra_py_files: Path) -> Closure:
    return static_closure(JOB_SCRIPT, extra_py_files)


def distributions_of(top: str) -> list[str]:
    return [canonical(d) for d in importlib.metadata.packages_distributions().get(top, [])]


def test_the_job_imports_only_what_glue_5_provides_or_the_job_declares(closure: Closure) -> None:
    declared = {canonical(name) for name in GLUE_ADDITIONAL_MODULES}
    provided = {canonical(name) for name in GLUE_5_PROVIDED}
    outside = {}
    for top, importers in closure.third_party.items():
        if top in GLUE_RUNTIME_MODULES:
            continue
        distributions = distributions_of(top)
        if not distributions or not set(distributions) & (declared | provided):
            outside[top] = sorted(importers)
    assert not outside, (
        f"the Glue job imports modules Glue 5.0 does not provide and the job does not "
        f"declare in GLUE_ADDITIONAL_MODULES: {outside}"
    )


def test_provided_modules_the_job_imports_run_at_our_pins_or_say_why(closure: Closure) -> None:
    pins = pyproject_pins()
    declared = {canonical(name) for name in GLUE_ADDITIONAL_MODULES}
    provided = {canonical(name): version for name, version in GLUE_5_PROVIDED.items()}
    justified = {canonical(name) for name in GLUE_PROVIDED_AT_GLUE_VERSION}
    drift = {}
    for top, importers in closure.third_party.items():
        for distribution in distributions_of(top):
            at_glue_version = distribution in provided and distribution not in declared | justified
            if at_glue_version and provided[distribution] != pins.get(distribution):
                drift[distribution] = (
                    f"Glue has {provided[distribution]}, pyproject pins "
                    f"{pins.get(distribution)}; imported by {sorted(importers)}"
                )
    assert not drift, (
        "the job would run these at Glue's version, not the tested one: declare them in "
        f"GLUE_ADDITIONAL_MODULES or say why in GLUE_PROVIDED_AT_GLUE_VERSION: {drift}"
    )


def test_every_declared_or_justified_module_is_one_the_job_imports(closure: Closure) -> None:
    imported = {d for top in closure.third_party for d in distributions_of(top)}
    unused = [
        name
        for name in (*GLUE_ADDITIONAL_MODULES, *GLUE_PROVIDED_AT_GLUE_VERSION)
        if canonical(name) not in imported
    ]
    assert not unused, f"declared for the Glue job but never imported by it: {unused}"


def test_the_walk_sees_imports_inside_functions(closure: Closure) -> None:
    # glue/job.py imports awsglue only inside _start_glue_job: a walk that only read
    # module-level imports would miss what runs on Glue alone.
    assert closure.third_party["awsglue"] == {"__main__"}
    assert {"glue.lakeio", "glue.catalog", "services.pipeline.lake.storage"} <= closure.own


def test_the_script_imports_from_the_zip_alone_and_the_walk_missed_nothing(
    extra_py_files: Path, closure: Closure, tmp_path: Path
) -> None:
    # The script, as Glue runs it: the zip's packages first, no repository on the path,
    # third-party packages from this environment (standing in for Glue's own).
    script = tmp_path / "job.py"
    script.write_bytes(JOB_SCRIPT.read_bytes())
    probe = (
        "import json, runpy, sys\n"
        f"sys.path[:0] = [{str(extra_py_files)!r}]\n"
        f"sys.path.append({sysconfig.get_paths()['purelib']!r})\n"
        f"runpy.run_path({str(script)!r}, run_name='glue_job')\n"
        "own = {n: getattr(m, '__file__', None) for n, m in sys.modules.items()\n"
        f"       if n.split('.')[0] in {sorted(OWN_PACKAGES)!r}}}\n"
        "print(json.dumps(own))\n"
    )
    result = subprocess.run(
        [sys.executable, "-I", "-S", "-c", probe], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr[-2000:]
    loaded = json.loads(result.stdout.splitlines()[-1])
    outside_zip = {n: f for n, f in loaded.items() if not str(f).startswith(str(extra_py_files))}
    assert not outside_zip, f"loaded from outside the --extra-py-files zip: {outside_zip}"
    assert set(loaded) <= closure.own, f"the walk missed {set(loaded) - closure.own}"

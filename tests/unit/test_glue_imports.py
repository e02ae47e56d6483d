"""The Glue job runs on what AWS Glue 5.0 provides and its own ``--extra-py-files`` zip: the
script is imported as Glue imports it, and the third-party modules it loads must be in AWS's
list, "Python modules already provided in AWS Glue", version 5.0:
https://docs.aws.amazon.com/glue/latest/dg/aws-glue-programming-python-libraries.html#glue-modules-provided
"""

from __future__ import annotations

import ast
import importlib.metadata
import io
import json
import re
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

from infra.etl import JOB_SCRIPT, package_zip

#: "AWS Glue version 5.0 includes the following Python modules out of the box", as published.
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


def canonical(name: str) -> str:
    """A distribution name as PEP 503 compares them."""
    return re.sub(r"[-_.]+", "-", name).lower()


def third_party(files: list[str]) -> set[str]:
    """The distributions the modules in ``files`` import (any statement, not relative)."""
    tops = set()
    for path in files:
        for node in ast.walk(ast.parse(Path(path).read_text())):
            if isinstance(node, ast.Import):
                tops |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
                tops.add(node.module.split(".")[0])
    tops -= {*sys.stdlib_module_names, "__future__", "glue", "services", *GLUE_RUNTIME_MODULES}
    found = importlib.metadata.packages_distributions()
    return {canonical(d) for top in tops for d in found.get(top, [top])}


def test_the_job_runs_on_its_zip_and_glue_5_alone(tmp_path: Path) -> None:
    site = tmp_path / "site"
    with zipfile.ZipFile(io.BytesIO(package_zip())) as archive:
        archive.extractall(site)
    probe = (  # the script as Glue runs it; then the job's own modules it loaded, and their files
        "import json, runpy, sys\n"
        f"sys.path[:0] = [{str(site)!r}]\n"
        f"sys.path.append({sysconfig.get_paths()['purelib']!r})\n"
        f"runpy.run_path({str(JOB_SCRIPT)!r}, run_name='glue_job')\n"
        "print(json.dumps({n: getattr(m, '__file__', None) for n, m in sys.modules.items()\n"
        "                  if n.split('.')[0] in ('glue', 'services')}))\n"
    )
    done = subprocess.run([sys.executable, "-I", "-S", "-c", probe], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    loaded: dict[str, str] = json.loads(done.stdout.splitlines()[-1])
    outside = {n: f for n, f in loaded.items() if not str(f).startswith(str(site))}
    assert not outside, f"loaded from outside the --extra-py-files zip: {outside}"
    imported = third_party([f for f in loaded.values() if f])
    assert imported, "the walk found no third-party import (boto3 at least)"
    assert imported <= {canonical(name) for name in GLUE_5_PROVIDED}, "not in Glue 5.0"

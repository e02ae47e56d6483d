"""The Spark session: quiet local mode on a laptop, or the session AWS Glue provides."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from pyspark.sql import SparkSession

LOG4J2 = Path(__file__).with_name("log4j2.properties")

#: Settings both engines need: exact partition values as read, UTC.
COMMON_CONF = {
    "spark.sql.sources.partitionColumnTypeInference.enabled": "false",
    "spark.sql.session.timeZone": "UTC",
}

#: Local mode on 2 cores: no UI, few shuffle partitions (a day is about a hundred rows).
LOCAL_CONF = {
    "spark.ui.enabled": "false",
    "spark.sql.shuffle.partitions": "4",
    "spark.sql.adaptive.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
    # C1 only: a short local job spends more on JIT warm-up than it gains from C2.
    "spark.driver.extraJavaOptions": (
        f"-Dlog4j2.configurationFile=file:{LOG4J2} -XX:TieredStopAtLevel=1"
    ),
    "spark.driver.memory": "1g",
}


def local_session(app_name: str = "bovespa-etl") -> SparkSession:
    """A local Spark session (``local[*]``), quiet and bound to loopback."""
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    builder: Any = SparkSession.builder.master("local[*]").appName(app_name)
    for key, value in {**LOCAL_CONF, **COMMON_CONF}.items():
        builder = builder.config(key, value)
    return _apply(builder.getOrCreate())


def glue_session() -> SparkSession:
    """The session of the AWS Glue job (Glue 5.0 = Spark 3.5), with our settings applied."""
    return _apply(SparkSession.builder.getOrCreate())


def _apply(session: SparkSession) -> SparkSession:
    for key, value in COMMON_CONF.items():
        session.conf.set(key, value)
    return session

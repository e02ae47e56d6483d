"""The Spark session: quiet local mode on a laptop, or the session AWS Glue provides."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from pyspark.sql import SparkSession

LOG4J2 = Path(__file__).with_name("log4j2.properties")

#: Settings both engines need: exact partition values, dynamic overwrite, UTC.
COMMON_CONF = {
    "spark.sql.sources.partitionOverwriteMode": "dynamic",
    "spark.sql.sources.partitionColumnTypeInference.enabled": "false",
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.parquet.compression.codec": "snappy",
}

#: Local mode on 2 cores: no UI, few shuffle partitions that AQE must not merge into one
#: (both cores write), no .crc side files, no Hadoop summary files.
LOCAL_CONF = {
    "spark.ui.enabled": "false",
    "spark.sql.shuffle.partitions": "4",
    "spark.sql.adaptive.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
    "spark.hadoop.fs.file.impl": "org.apache.hadoop.fs.RawLocalFileSystem",
    "spark.hadoop.fs.file.impl.disable.cache": "true",
    "spark.hadoop.mapreduce.fileoutputcommitter.marksuccessfuljobs": "false",
    "spark.hadoop.parquet.summary.metadata.level": "NONE",
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
    session: SparkSession = builder.getOrCreate()
    _apply(session)
    return session


def glue_session() -> SparkSession:
    """The session of the AWS Glue job (Glue 5.0 = Spark 3.5), with our settings applied."""
    session: SparkSession = SparkSession.builder.getOrCreate()
    _apply(session)
    return session


def _apply(session: SparkSession) -> None:
    for key, value in COMMON_CONF.items():
        session.conf.set(key, value)

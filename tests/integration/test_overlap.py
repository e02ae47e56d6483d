"""Executions that overlap on one day: whatever their Glue runs do, the day published --
files and catalogue -- is one validated answer, whole (the job runs one at a time; the local
runtime does what ``max_concurrent_runs = 1`` does on AWS)."""

from __future__ import annotations

import json
import random
import time
from datetime import date

import pytest

from services.pipeline import settings
from services.pipeline.lake.layout import RawDay
from services.pipeline.lake.raw import to_parquet_bytes, to_table
from services.pipeline.lake.storage import S3Lake
from services.pipeline.validate.contract import validate
from services.tool.local.deploy import LOCAL, deploy
from services.tool.local.samples import business_days
from tests.aws_clients import aws, refined_rows
from tests.lakes import on_day, recorded_portfolio, without

pytestmark = pytest.mark.spark


def test_two_runs_for_one_day_publish_one_validated_answer_whole(aws_endpoint: str) -> None:
    """20 days, each validated twice (B3's first six tickers, then without the first) and
    refined by two runs of the deployed job started 0 to 1 s apart, in a random order, among
    the other days' runs (as two executions' refines would)."""
    stack, rng = deploy(LOCAL), random.Random(22)
    lake, glue = S3Lake(stack.bucket), aws("glue")
    six = recorded_portfolio()
    for asset in six.assets[6:]:
        six = without(six, asset.cod)
    answers = (six, without(six, six.assets[0].cod))
    days = business_days(date(2025, 6, 30), 20)
    runs = []
    for day in days:
        for answer in rng.sample(answers, 2):
            key = RawDay("IBOV", day).key
            written = lake.write_pinned(key, to_parquet_bytes(to_table(on_day(answer, day))))
            pin = validate(lake.uri_of(key), written.version, lake=lake)
            arguments = {"--objects": json.dumps([pin])}
            runs.append(glue.start_job_run(JobName=stack.deployment.glue_job, Arguments=arguments))
            time.sleep(rng.uniform(0, 1))
    for run in runs:
        while glue.get_job_run(JobName=stack.deployment.glue_job, RunId=run["JobRunId"])["JobRun"][
            "JobRunState"
        ] in {"STARTING", "RUNNING", "WAITING"}:
            time.sleep(0.5)
    expected = [{a.cod: a.part for a in answer.assets} for answer in answers]
    pages = glue.get_paginator("get_partitions").paginate(
        DatabaseName=settings.GLUE_DATABASE, TableName=stack.deployment.table
    )
    catalogued = [p["Values"] for page in pages for p in page["Partitions"]]
    for day in days:
        rows = refined_rows(stack.bucket, "IBOV", str(day))
        assert {ticker: row["weight_pct"] for ticker, row in rows.items()} in expected, day
        assert {row["index_ticker_count"] for row in rows.values()} == {len(rows)}
        assert {t for dt, _, t in catalogued if dt == str(day)} == set(rows), day

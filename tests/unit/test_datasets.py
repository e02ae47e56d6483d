"""The datasets ahead's layout is invisible to the day's pipeline (the inbox rule, the
trigger, Validate and the Glue job's scan of ``raw/``)."""

from __future__ import annotations

from datetime import date

from services.deploy.deployment import Deployment
from services.pipeline import settings
from services.pipeline.lake import datasets
from services.pipeline.lake.datasets import PREVIEW, THEORETICAL
from services.pipeline.lake.layout import archived_key
from services.pipeline.lake.raw import raw_key
from services.pipeline.trigger import handler as trigger
from tests.unit.test_trigger import s3_event

DAY = date(2024, 12, 16)


def every_key() -> list[str]:
    keys = [datasets.no_preview_key("IBOV", DAY)]
    for dataset in (THEORETICAL, PREVIEW):
        partition = datasets.partition(dataset, "IBOV", DAY)
        keys.append(datasets.object_key(dataset, "IBOV", DAY))
        keys += [
            archived_key(partition, f"{name}.json")
            for name in ("page-001", "session", "configuration")
        ]
    return keys


def test_no_dataset_key_starts_or_feeds_the_days_pipeline() -> None:
    (rule,) = Deployment().inbox_event_pattern("bucket")["detail"]["object"]["key"]
    inbox_day = f"{settings.INBOX_PREFIX}/{raw_key('IBOV', DAY).split('/', 1)[1]}"
    # the rule and the trigger are not vacuous: the day's inbox object starts an execution
    assert inbox_day.startswith(rule["prefix"])
    assert trigger.decide(dict(s3_event(inbox_day)))["action"] == "start"
    assert "raw-preview/index=IBOV/dt=2024-12-16/_no-preview.json" in every_key()
    for key in every_key():
        assert not key.startswith(rule["prefix"]), key
        assert trigger.decide(dict(s3_event(key)))["action"] == "ignore", key
        # nor does a dataset's file dropped under inbox/ in the day's layout
        dropped = f"{settings.INBOX_PREFIX}/{key.split('/', 1)[1]}"
        assert trigger.decide(dict(s3_event(dropped)))["action"] == "ignore", dropped
        assert not key.startswith(settings.RAW_PREFIX + "/"), key

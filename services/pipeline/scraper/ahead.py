"""The datasets ahead's scrapers by name, for the callers that name them (the CLI): each is
:func:`~services.pipeline.scraper.scrape.scrape` with its ``dataset``."""

from __future__ import annotations

from functools import partial

from services.pipeline.lake.datasets import PREVIEW, THEORETICAL
from services.pipeline.scraper.scrape import scrape

scrape_theoretical = partial(scrape, dataset=THEORETICAL.name)
scrape_preview = partial(scrape, dataset=PREVIEW.name)

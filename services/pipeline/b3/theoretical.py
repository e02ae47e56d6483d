"""B3's theoretical portfolio of the four-month cycle (``GetTheoricalPortfolio``).

The day's envelope and numbers (:mod:`services.pipeline.b3.portfolio`), but a header of
totals only (no date: the period is derived from the session B3 serves, never read) and
rows with B3's ``cont`` rank and no sector.
"""

from __future__ import annotations

from services.pipeline.b3.portfolio import ROW, TOTALS, Contract

CALL = "GetTheoricalPortfolio"
CONTRACT = Contract(CALL, TOTALS, (*ROW, "cont"))

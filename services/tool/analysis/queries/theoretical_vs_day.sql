-- The theoretical portfolio of the four-month cycle against the day's, for one day and
-- index: how corporate actions moved each ticker's quantity since the rebalance, and its
-- weight then and now. Tickers in only one of the two first, then the largest changes.
-- Parameters: dt, index_code
SELECT ticker, company, cycle, present_in, cycle_qty, day_qty, qty_change,
       cycle_weight_pct, day_weight_pct, weight_change_pct
FROM "default"."b3_theoretical_vs_day"
WHERE dt = ? AND index_code = ?
ORDER BY CASE WHEN present_in = 'both' THEN 1 ELSE 0 END, abs(qty_change) DESC,
         abs(weight_change_pct) DESC, ticker

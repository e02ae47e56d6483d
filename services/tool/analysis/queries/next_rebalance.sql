-- The next rebalance of one index, from the latest preview (contract: unverified, or
-- synthetic and what it was made from) against the day's portfolio: the tickers entering,
-- then leaving, then the weight changes, largest first (unchanged tickers last).
-- Parameters: index_code
SELECT preview_dt, portfolio_dt, target_cycle, contract, ticker, company, change,
       day_weight_pct, preview_weight_pct, weight_change_pct
FROM "default"."b3_next_rebalance"
WHERE index_code = ?
ORDER BY CASE change WHEN 'entering' THEN 1 WHEN 'leaving' THEN 2
                     WHEN 'weight change' THEN 3 ELSE 4 END,
         abs(weight_change_pct) DESC, ticker

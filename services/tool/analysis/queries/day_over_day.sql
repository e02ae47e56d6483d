-- Each ticker's weight on a portfolio date and on an earlier one, and the change
-- (percentage points); a ticker that entered or left has no change.
-- Parameters: dt, previous_dt, dt, previous_dt, index_code
SELECT ticker, company, weight_pct, previous_weight_pct,
       weight_pct - previous_weight_pct AS change_pct
FROM (
    SELECT ticker,
           max(company) AS company,
           max(CASE WHEN dt = ? THEN weight_pct END) AS weight_pct,
           max(CASE WHEN dt = ? THEN weight_pct END) AS previous_weight_pct
    FROM "default"."b3_index_portfolio"
    WHERE dt IN (?, ?) AND index_code = ?
    GROUP BY ticker
) AS both_days
ORDER BY abs(weight_pct - previous_weight_pct) DESC NULLS LAST, ticker

-- Each company's weight in the index on the day (companies with two tickers, such as
-- PETR3 and PETR4, summed).
-- Parameters: dt, index_code
SELECT company, sum(weight_pct) AS weight_pct, count(*) AS tickers
FROM "default"."b3_index_portfolio"
WHERE dt = ? AND index_code = ?
GROUP BY company
ORDER BY weight_pct DESC, company

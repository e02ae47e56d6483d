-- Each company's weight in the index on the day (companies with two tickers, such as
-- PETR3 and PETR4, summed).
-- Parameters: dt, index_code
SELECT company, weight_pct, tickers
FROM "default"."b3_company_weights"
WHERE dt = ? AND index_code = ?
ORDER BY weight_pct DESC, company

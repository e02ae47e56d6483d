-- The day's 20 heaviest tickers in the index.
-- Parameters: dt, index_code
SELECT ticker, company, sector, weight_pct, theoretical_qty
FROM "default"."b3_index_portfolio"
WHERE dt = ? AND index_code = ?
ORDER BY weight_pct DESC, ticker
LIMIT 20

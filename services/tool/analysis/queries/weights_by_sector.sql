-- Each sector's weight in the index on the day, and how many tickers make it.
-- Parameters: dt, index_code
SELECT sector, weight_pct, tickers
FROM "default"."b3_sector_weights"
WHERE dt = ? AND index_code = ?
ORDER BY weight_pct DESC, sector

-- Each sector's weight in the index on the day, and how many tickers make it.
-- Parameters: dt, index_code
SELECT sector, sum(weight_pct) AS weight_pct, count(*) AS tickers
FROM "default"."b3_index_portfolio"
WHERE dt = ? AND index_code = ?
GROUP BY sector
ORDER BY weight_pct DESC, sector

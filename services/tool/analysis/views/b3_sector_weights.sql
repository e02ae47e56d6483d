-- Each sector's weight per day and index, with its number of tickers and companies (a day
-- from B3's CSV download has no sector: no row).
-- Columns: dt varchar, index_code varchar, sector varchar, weight_pct decimal(38,3), tickers bigint, companies bigint
SELECT dt, index_code, sector,
       sum(weight_pct) AS weight_pct, count(*) AS tickers, count(DISTINCT company) AS companies
FROM "default"."b3_index_portfolio"
WHERE sector IS NOT NULL
GROUP BY dt, index_code, sector

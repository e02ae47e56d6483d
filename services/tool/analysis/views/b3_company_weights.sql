-- Each company's weight per day and index: two-ticker companies (PETR3 + PETR4) summed.
-- Columns: dt varchar, index_code varchar, company varchar, sector varchar, weight_pct decimal(38,3), tickers bigint, theoretical_qty bigint
SELECT dt, index_code, company, max(sector) AS sector,
       sum(weight_pct) AS weight_pct, count(*) AS tickers, sum(theoretical_qty) AS theoretical_qty
FROM "default"."b3_index_portfolio"
GROUP BY dt, index_code, company

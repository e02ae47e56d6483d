-- The theoretical portfolio of the four-month cycle beside the day's portfolio, per
-- (dt, index_code, ticker): both quantities, both weights and the changes since the
-- rebalance (corporate actions move the day's quantities; prices move its weights).
-- A ticker in only one of the two is shown with the other side NULL (a full outer join,
-- written as UNION ALL + GROUP BY so a filter on dt, index_code or ticker reaches both
-- tables' partitions); only days and indices for which both portfolios are in the lake.
-- company is the day's name for the company (the newer), else the theoretical's.
-- Columns: dt varchar, index_code varchar, ticker varchar, company varchar, cycle varchar, present_in varchar, cycle_qty bigint, day_qty bigint, qty_change bigint, cycle_weight_pct decimal(7,3), day_weight_pct decimal(7,3), weight_change_pct decimal(8,3)
SELECT dt, index_code, ticker, company, cycle,
       CAST(CASE WHEN cycle_qty IS NULL THEN 'day' WHEN day_qty IS NULL THEN 'theoretical'
                 ELSE 'both' END AS varchar) AS present_in,
       cycle_qty, day_qty, day_qty - cycle_qty AS qty_change,
       cycle_weight_pct, day_weight_pct,
       CAST(day_weight_pct - cycle_weight_pct AS decimal(8,3)) AS weight_change_pct
FROM (
    SELECT dt, index_code, ticker,
           coalesce(max(CASE WHEN side = 'day' THEN company END),
                    max(CASE WHEN side = 'theoretical' THEN company END)) AS company,
           max(max(cycle)) OVER (PARTITION BY dt, index_code) AS cycle,
           max(CASE WHEN side = 'theoretical' THEN qty END) AS cycle_qty,
           max(CASE WHEN side = 'day' THEN qty END) AS day_qty,
           max(CASE WHEN side = 'theoretical' THEN weight_pct END) AS cycle_weight_pct,
           max(CASE WHEN side = 'day' THEN weight_pct END) AS day_weight_pct,
           sum(sum(CASE WHEN side = 'day' THEN 1 ELSE 0 END))
               OVER (PARTITION BY dt, index_code) AS day_tickers,
           sum(sum(CASE WHEN side = 'theoretical' THEN 1 ELSE 0 END))
               OVER (PARTITION BY dt, index_code) AS cycle_tickers
    FROM (
        SELECT 'day' AS side, dt, index_code, ticker, company,
               CAST(NULL AS varchar) AS cycle, theoretical_qty AS qty, weight_pct
        FROM "default"."b3_index_portfolio"
        UNION ALL
        SELECT 'theoretical' AS side, dt, index_code, ticker, company,
               cycle, theoretical_qty AS qty, weight_pct
        FROM "default"."b3_index_theoretical"
    ) AS sides
    GROUP BY dt, index_code, ticker
) AS both_sides
WHERE day_tickers > 0 AND cycle_tickers > 0

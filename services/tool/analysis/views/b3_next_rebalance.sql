-- The next rebalance, per index: the latest preview (the greatest dt in b3_index_preview)
-- against the day's portfolio of the latest dt on or before it in the same month (the same
-- session when the daily execution scraped both; portfolio_dt says which; none older, so
-- a preview is never set against a stale portfolio). One row per ticker of either:
-- change = entering (preview only), leaving (day's only), weight change, unchanged.
-- company is the preview's name for the company (the newer), else the day's.
-- contract: 'unverified' (no live B3 answer is recorded to check a preview against), or
-- 'synthetic, made from …' when every row came in the very body (same SHA-256) of the
-- session's theoretical portfolio: that portfolio relabelled, not B3's preview (the demo's).
-- Columns: index_code varchar, preview_dt varchar, portfolio_dt varchar, target_cycle varchar, contract varchar, ticker varchar, company varchar, change varchar, day_weight_pct decimal(7,3), preview_weight_pct decimal(7,3), weight_change_pct decimal(8,3), day_qty bigint, preview_qty bigint
WITH made_from AS (
    SELECT p.index_code, p.dt,
           'synthetic, made from the theoretical portfolio of ' || max(t.cycle) AS contract
    FROM "default"."b3_index_preview" AS p
    LEFT JOIN "default"."b3_index_theoretical" AS t
      ON t.index_code = p.index_code AND t.dt = p.dt AND t.ticker = p.ticker
     AND t.source_sha256 = p.source_sha256
    GROUP BY p.index_code, p.dt
    HAVING count(t.ticker) = count(*)
),
latest_preview AS (
    SELECT index_code, max(dt) AS preview_dt
    FROM "default"."b3_index_preview"
    GROUP BY index_code
),
compared AS (
    SELECT l.index_code, l.preview_dt, max(d.dt) AS portfolio_dt
    FROM latest_preview AS l
    JOIN "default"."b3_index_portfolio" AS d
      ON d.index_code = l.index_code AND d.dt <= l.preview_dt
     AND d.dt >= substr(l.preview_dt, 1, 7)
    GROUP BY l.index_code, l.preview_dt
),
sides AS (
    SELECT c.index_code, c.preview_dt, c.portfolio_dt, 'preview' AS side, p.ticker, p.company,
           p.weight_pct, p.theoretical_qty AS qty, p.target_cycle,
           coalesce(m.contract, p.contract) AS contract
    FROM compared AS c
    JOIN "default"."b3_index_preview" AS p
      ON p.index_code = c.index_code AND p.dt = c.preview_dt
    LEFT JOIN made_from AS m ON m.index_code = p.index_code AND m.dt = p.dt
    UNION ALL
    SELECT c.index_code, c.preview_dt, c.portfolio_dt, 'day' AS side, d.ticker, d.company,
           d.weight_pct, d.theoretical_qty AS qty, CAST(NULL AS varchar), CAST(NULL AS varchar)
    FROM compared AS c
    JOIN "default"."b3_index_portfolio" AS d
      ON d.index_code = c.index_code AND d.dt = c.portfolio_dt
),
tickers AS (
    SELECT index_code, preview_dt, portfolio_dt, ticker,
           max(max(target_cycle)) OVER (PARTITION BY index_code) AS target_cycle,
           max(max(contract)) OVER (PARTITION BY index_code) AS contract,
           coalesce(max(CASE WHEN side = 'preview' THEN company END),
                    max(CASE WHEN side = 'day' THEN company END)) AS company,
           max(CASE WHEN side = 'day' THEN weight_pct END) AS day_weight_pct,
           max(CASE WHEN side = 'preview' THEN weight_pct END) AS preview_weight_pct,
           max(CASE WHEN side = 'day' THEN qty END) AS day_qty,
           max(CASE WHEN side = 'preview' THEN qty END) AS preview_qty
    FROM sides
    GROUP BY index_code, preview_dt, portfolio_dt, ticker
)
SELECT index_code, preview_dt, portfolio_dt, target_cycle, contract, ticker, company,
       CAST(CASE WHEN day_weight_pct IS NULL THEN 'entering'
                 WHEN preview_weight_pct IS NULL THEN 'leaving'
                 WHEN preview_weight_pct <> day_weight_pct THEN 'weight change'
                 ELSE 'unchanged' END AS varchar) AS change,
       day_weight_pct, preview_weight_pct,
       CAST(preview_weight_pct - day_weight_pct AS decimal(8,3)) AS weight_change_pct,
       day_qty, preview_qty
FROM tickers

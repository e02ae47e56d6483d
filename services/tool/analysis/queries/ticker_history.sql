-- One ticker's weight, and its company's, day by day between two dates.
-- Parameters: ticker, index_code, start_dt, end_dt
SELECT dt, weight_pct, company_weight_pct, theoretical_qty
FROM "default"."b3_index_portfolio"
WHERE ticker = ? AND index_code = ? AND dt BETWEEN ? AND ?
ORDER BY dt

-- Tickers that entered or left the index between an earlier portfolio date and a later one.
-- Parameters: dt, previous_dt, dt, previous_dt, index_code
SELECT ticker, company, CASE WHEN in_later = 1 THEN 'entered' ELSE 'left' END AS movement
FROM (
    SELECT ticker,
           max(company) AS company,
           max(CASE WHEN dt = ? THEN 1 ELSE 0 END) AS in_later,
           max(CASE WHEN dt = ? THEN 1 ELSE 0 END) AS in_earlier
    FROM "default"."b3_index_portfolio"
    WHERE dt IN (?, ?) AND index_code = ?
    GROUP BY ticker
) AS membership
WHERE in_later + in_earlier = 1
ORDER BY movement, ticker

-- Plain SQL doing what pgcredit.dso_report does, for tests and benchmarks
-- to compare against: period DSO, best possible DSO, average days
-- delinquent and countback DSO over the rows of a view "dso_items"
-- (amount, invoiced_on, due, paid_on) that the caller creates first.  The
-- countback walks calendar months back from as_of with window functions.

CREATE OR REPLACE FUNCTION pg_temp.plain_dso_report(as_of date, period int DEFAULT 90)
RETURNS TABLE (receivables numeric, current_receivables numeric, overdue_receivables numeric,
               sales numeric, period_days int, dso numeric, best_possible_dso numeric,
               average_days_delinquent numeric, dso_countback numeric)
LANGUAGE sql STABLE PARALLEL SAFE AS $plain$
WITH m AS (
  SELECT ((extract(year FROM as_of) * 12 + extract(month FROM as_of))
          - (extract(year FROM invoiced_on) * 12 + extract(month FROM invoiced_on)))::int AS k,
         sum(amount) FILTER (WHERE paid_on IS NULL OR paid_on > as_of) AS r,
         sum(amount) FILTER (WHERE (paid_on IS NULL OR paid_on > as_of)
                               AND (due IS NULL OR due >= as_of)) AS nd,
         sum(amount) FILTER (WHERE invoiced_on > as_of - period) AS s,
         sum(amount) AS sales
  FROM dso_items WHERE invoiced_on <= as_of AND amount IS NOT NULL GROUP BY 1),
tot AS (SELECT coalesce(sum(r), 0) AS r, coalesce(sum(nd), 0) AS nd, coalesce(sum(s), 0) AS s FROM m),
cal AS (
  SELECT k, coalesce(m.sales, 0) AS sales,
         CASE WHEN k = 0 THEN extract(day FROM as_of)::int
              ELSE (date_trunc('month', as_of) - (k - 1) * interval '1 month')::date
                 - (date_trunc('month', as_of) - k * interval '1 month')::date END AS days
  FROM generate_series(0, 35) AS k LEFT JOIN m USING (k)),
walk AS (
  SELECT k, sales, days,
         coalesce(sum(greatest(sales, 0)) OVER w, 0) AS used_before,
         coalesce(sum(days) OVER w, 0) AS days_before
  FROM cal WINDOW w AS (ORDER BY k ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING))
SELECT tot.r AS receivables, tot.nd AS current_receivables, tot.r - tot.nd AS overdue_receivables,
       tot.s AS sales, period AS period_days,
       CASE WHEN tot.s > 0 THEN round(tot.r * period / tot.s, 2) END AS dso,
       CASE WHEN tot.s > 0 THEN round(tot.nd * period / tot.s, 2) END AS best_possible_dso,
       CASE WHEN tot.s > 0 THEN round((tot.r - tot.nd) * period / tot.s, 2) END AS average_days_delinquent,
       round(CASE WHEN tot.r <= 0 THEN 0
             ELSE coalesce(
               (SELECT days_before + days * (tot.r - used_before) / sales FROM walk
                WHERE sales > 0 AND tot.r - used_before <= sales ORDER BY k LIMIT 1),
               (SELECT sum(days) + (tot.r - sum(greatest(sales, 0))) * sum(days) / sum(greatest(sales, 0))
                FROM walk HAVING sum(greatest(sales, 0)) > 0)) END, 2) AS dso_countback
FROM tot
$plain$;

-- The real accounts-receivable sample (../shared/data/ibm-ar): aging, DSO
-- and per-customer scores computed by pgcredit equal the same figures
-- computed by independent plain SQL, and the customers the score ranks
-- worst are those whose DaysLate history is worst.

-- The sample lives outside the repository, in the directory SHARED_DATA
-- names (the Makefile looks beside the checkout).  Without it this file
-- stops here, and expected/ibm_sample_1.out is the output that matches.
\set have_sample `if [ -r "${SHARED_DATA:-/nonexistent}/accounts-receivable.csv" ]; then echo true; else echo false; fi`
\if :have_sample
\else
\echo 'skipped: no sample ledger in SHARED_DATA'
\quit
\endif

CREATE TEMP TABLE ar_export (
  country_code int, customer_id text, paperless_date text, invoice_number bigint,
  invoice_date text, due_date text, invoice_amount numeric, disputed text,
  settled_date text, paperless_bill text, days_to_settle int, days_late int);
\copy ar_export FROM PROGRAM 'cat "$SHARED_DATA/accounts-receivable.csv"' WITH (FORMAT csv, HEADER true)

CREATE TEMP TABLE ar AS
SELECT customer_id AS customer, invoice_amount AS amount,
       to_date(invoice_date, 'MM/DD/YYYY') AS invoiced_on,
       to_date(due_date, 'MM/DD/YYYY') AS due,
       to_date(settled_date, 'MM/DD/YYYY') AS paid_on,
       days_late
FROM ar_export;

-- Every row and every amount is there.
SELECT count(*) AS invoices, count(DISTINCT customer) AS customers,
       pgcredit.amount_sum(amount) AS total, pgcredit.amount_sum(amount) = sum(amount) AS same_as_sum
FROM ar;

-- DSO at every month end of 2013, 90-day period: pgcredit against plain SQL.
CREATE TEMP TABLE month_ends AS
SELECT (date_trunc('month', m) + interval '1 month - 1 day')::date AS as_of
FROM generate_series(date '2013-01-01', date '2013-12-01', interval '1 month') AS m;

SELECT d.as_of,
       (pgcredit.dso_report(amount, invoiced_on, due, paid_on, d.as_of)).*
FROM ar, month_ends AS d GROUP BY d.as_of ORDER BY d.as_of;

SELECT count(*) AS month_ends,
       count(*) FILTER (WHERE p.dso IS NOT DISTINCT FROM s.dso
                          AND p.best_possible_dso IS NOT DISTINCT FROM s.best
                          AND p.average_days_delinquent IS NOT DISTINCT FROM s.add) AS agree
FROM (SELECT d.as_of, (pgcredit.dso_report(amount, invoiced_on, due, paid_on, d.as_of)).*
      FROM ar, month_ends AS d GROUP BY d.as_of) AS p
JOIN (SELECT d.as_of,
             round(90 * sum(amount) FILTER (WHERE invoiced_on <= d.as_of AND paid_on > d.as_of)
                   / sum(amount) FILTER (WHERE invoiced_on <= d.as_of AND invoiced_on > d.as_of - 90), 2) AS dso,
             round(90 * coalesce(sum(amount) FILTER (WHERE invoiced_on <= d.as_of AND paid_on > d.as_of
                                                       AND due >= d.as_of), 0)
                   / sum(amount) FILTER (WHERE invoiced_on <= d.as_of AND invoiced_on > d.as_of - 90), 2) AS best,
             round(90 * coalesce(sum(amount) FILTER (WHERE invoiced_on <= d.as_of AND paid_on > d.as_of
                                                       AND due < d.as_of), 0)
                   / sum(amount) FILTER (WHERE invoiced_on <= d.as_of AND invoiced_on > d.as_of - 90), 2) AS add
      FROM ar, month_ends AS d GROUP BY d.as_of) AS s USING (as_of);

-- Every DSO figure, countback included, against the plain SQL of
-- test/plain/dso_report.sql (window functions over monthly sales), at
-- each month end over 90 and 365 days.
CREATE TEMP VIEW dso_items AS SELECT amount, invoiced_on, due, paid_on FROM ar;
\i test/plain/dso_report.sql
SELECT p.period, count(*) AS month_ends,
       count(*) FILTER (WHERE (SELECT pgcredit.dso_report(amount, invoiced_on, due, paid_on, d.as_of, p.period)::text FROM ar)
                              = (SELECT r::text FROM pg_temp.plain_dso_report(d.as_of, p.period) AS r)) AS agree
FROM month_ends AS d, (VALUES (90), (365)) AS p(period)
GROUP BY p.period ORDER BY p.period;

-- Aging of what was open at each month end, against plain SQL.
SELECT count(*) AS month_ends,
       count(*) FILTER (WHERE (p.a).current = s.current AND (p.a).days_1_30 = s.d1
                          AND (p.a).days_31_60 = s.d31 AND (p.a).days_61_90 = s.d61
                          AND (p.a).days_over_90 = s.d90 AND (p.a).items = s.items) AS agree
FROM (SELECT d.as_of, pgcredit.aging(amount, due, d.as_of) AS a
      FROM ar, month_ends AS d
      WHERE invoiced_on <= d.as_of AND paid_on > d.as_of GROUP BY d.as_of) AS p
JOIN (SELECT d.as_of,
             coalesce(sum(amount) FILTER (WHERE due >= d.as_of), 0) AS current,
             coalesce(sum(amount) FILTER (WHERE d.as_of - due BETWEEN 1 AND 30), 0) AS d1,
             coalesce(sum(amount) FILTER (WHERE d.as_of - due BETWEEN 31 AND 60), 0) AS d31,
             coalesce(sum(amount) FILTER (WHERE d.as_of - due BETWEEN 61 AND 90), 0) AS d61,
             coalesce(sum(amount) FILTER (WHERE d.as_of - due > 90), 0) AS d90,
             count(*) AS items
      FROM ar, month_ends AS d
      WHERE invoiced_on <= d.as_of AND paid_on > d.as_of GROUP BY d.as_of) AS s USING (as_of);

-- Per-customer scores at 2014-01-31 against the documented formula written
-- in plain SQL: weights are cents times round(2^24 * 2^(-age / 180)).
CREATE TEMP TABLE scores AS
SELECT customer, pgcredit.credit_score(amount, due, paid_on, '2014-01-31') AS score
FROM ar GROUP BY customer;

CREATE TEMP TABLE plain_scores AS
WITH ev AS (
  SELECT customer,
         round(amount * 100) * round(16777216 * power(2.0::float8, -(greatest(0, date '2014-01-31' - due))::float8 / 180)) AS w,
         round(16777216 * power(2.0::float8, -(greatest(0, date '2014-01-31' - due))::float8 / 180)) AS decay,
         least(3650, CASE WHEN paid_on <= '2014-01-31' THEN greatest(0, paid_on - due)
                          ELSE greatest(0, date '2014-01-31' - due) END) AS late
  FROM ar WHERE amount > 0),
sums AS (
  SELECT customer, sum(w)::numeric AS w, sum(w * late)::numeric AS w_days,
         coalesce(sum(w) FILTER (WHERE late > 0), 0)::numeric AS w_late,
         coalesce(sum(w) FILTER (WHERE late > 60), 0)::numeric AS w_over,
         sum(decay)::float8 / 16777216 AS n
  FROM ev GROUP BY customer),
parts AS (
  SELECT customer, n,
         w_days::float8 / w::float8 AS d,
         w_late::float8 / w::float8 AS p1,
         w_over::float8 / w::float8 AS p2
  FROM sums)
SELECT customer,
       round((n / (n + 5) * (100.0 * (1.0 - 0.5 * d / (d + 30) - 0.3 * p1 - 0.2 * p2))
              + (1.0 - n / (n + 5)) * 50.0)::numeric, 2) AS score
FROM parts;

SELECT count(*) AS customers,
       count(*) FILTER (WHERE s.score = p.score) AS agree,
       min(s.score) AS lowest, max(s.score) AS highest
FROM scores AS s JOIN plain_scores AS p USING (customer);

-- The worst-scored customers are the latest payers: rank by score against
-- rank by amount-weighted average DaysLate (the file's own column).
CREATE TEMP TABLE lateness AS
SELECT customer, sum(amount * days_late) / sum(amount) AS avg_days_late
FROM ar GROUP BY customer;

SELECT round(corr(rs, rl)::numeric, 2) AS rank_correlation,
       corr(rs, rl) > 0.8 AS strongly_agree
FROM (SELECT rank() OVER (ORDER BY s.score) AS rs,
             rank() OVER (ORDER BY l.avg_days_late DESC) AS rl
      FROM scores AS s JOIN lateness AS l USING (customer)) AS r;

SELECT count(*) AS of_the_10_worst_scored_among_the_15_latest
FROM (SELECT customer FROM scores ORDER BY score, customer LIMIT 10) AS w
WHERE customer IN (SELECT customer FROM lateness ORDER BY avg_days_late DESC, customer LIMIT 15);

SELECT s.customer, s.score, round(l.avg_days_late, 1) AS avg_days_late,
       (e).invoices, (e).share_late, (e).weighted_days_late
FROM scores AS s JOIN lateness AS l USING (customer)
JOIN (SELECT customer, pgcredit.credit_score_explain(amount, due, paid_on, '2014-01-31') AS e
      FROM ar GROUP BY customer) AS x USING (customer)
ORDER BY s.score, s.customer LIMIT 5;

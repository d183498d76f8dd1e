-- The nightly scoring on a ledger of :score_rows invoices of
-- :score_customers customers, every customer with an account, scored the
-- day before (so that every customer has a previous tier): the time of
-- refresh_scores() for a day, and the part of it that tiering takes,
-- timed apart over the same scores: the tier of every customer through
-- the PL/pgSQL function risk_tier(score, previous tier), as
-- refresh_scores() asked for it before version 1.1 was released, and
-- through the inlined expression it uses now (_tier), both against a
-- plain scan of the same rows.

\set QUIET on
\set ON_ERROR_STOP on
\i test/bench/bench.sql
SET client_min_messages = warning;

DROP TABLE IF EXISTS bench_score_invoice CASCADE;
DELETE FROM pgcredit.attachment;
DELETE FROM pgcredit.exposure;
DELETE FROM pgcredit.account;
DELETE FROM pgcredit.score_history;
DELETE FROM pgcredit.alert;
CREATE TABLE bench_score_invoice (
  id           bigint PRIMARY KEY,
  customer     text NOT NULL,
  amount       numeric(12,2) NOT NULL,
  open_amount  numeric(12,2) NOT NULL,
  invoiced_on  date NOT NULL,
  due          date NOT NULL,
  paid_on      date
);
-- the ledger of test/bench/risk.sql: two years of invoices, those due in
-- the last 60 days open
INSERT INTO bench_score_invoice
SELECT g, 'C' || (g * 7919 % :score_customers), a, CASE WHEN p IS NULL THEN a ELSE 0 END, i, i + 30, p
FROM (SELECT g, (g * 104729 % 100000) / 100.0 + 1 AS a,
             date '2024-06-30' - (g % 730)::int AS i,
             CASE WHEN date '2024-06-30' - (g % 730)::int + 30 > date '2024-06-30' - 60 AND g % 3 <> 0 THEN NULL
                  ELSE date '2024-06-30' - (g % 730)::int + 30 + (g % 41)::int - 20 END AS p
      FROM generate_series(1::bigint, :score_rows) g) s;
INSERT INTO pgcredit.account (customer, credit_limit)
SELECT 'C' || c, 1000 + (c * 31 % 50) * 1000 FROM generate_series(0, :score_customers - 1) c;
VACUUM ANALYZE bench_score_invoice;
SELECT count(*) > 0 AS attached FROM pgcredit.attach_receivables('bench_score_invoice', 'customer', 'open_amount', 'due',
  invoice_amount_column => 'amount', invoiced_column => 'invoiced_on', paid_column => 'paid_on') \gset
SELECT customers AS scored FROM pgcredit.refresh_scores('2024-06-29') \gset

-- each customer's score of the day and previous tier, as refresh_scores()
-- pairs them
SELECT customers AS scored FROM pgcredit.refresh_scores('2024-06-30') \gset
CREATE TEMP TABLE bench_tiers AS
SELECT h.combined_score AS score, p.tier AS previous
FROM pgcredit.score_history h
LEFT JOIN pgcredit.score_history p ON p.customer = h.customer AND p.as_of = '2024-06-29'
WHERE h.as_of = '2024-06-30';
ANALYZE bench_tiers;

\echo 'scoring' :score_customers 'customers over' :score_rows 'invoices (best of 3)'
WITH r AS (
  SELECT 'refresh_scores()' AS what, pg_temp.best_ms($$SELECT * FROM pgcredit.refresh_scores('2024-06-30')$$, 3) AS ms
  UNION ALL
  SELECT 'scan of the scores alone', pg_temp.best_ms($$SELECT count(score), count(previous) FROM bench_tiers$$, 3)
  UNION ALL
  SELECT 'tiers by risk_tier(score, previous)',
         pg_temp.best_ms($$SELECT count(pgcredit.risk_tier(score, previous)) FROM bench_tiers$$, 3)
  UNION ALL
  SELECT 'tiers by the inlined _tier()', pg_temp.best_ms($$
    SELECT count(pgcredit._tier(score, previous, r.tier_a_min, r.tier_b_min, r.tier_c_min, r.tier_d_min, r.tier_margin))
    FROM bench_tiers, pgcredit._settings_or_default() r$$, 3)
)
SELECT what, ms, round(100 * ms / (SELECT ms FROM r WHERE what = 'refresh_scores()'), 1) AS pct_of_refresh
FROM r;
SELECT count(*) AS customers,
       count(*) FILTER (WHERE pgcredit.risk_tier(score, previous)
                              IS NOT DISTINCT FROM pgcredit._tier(score, previous, r.tier_a_min, r.tier_b_min,
                                                                  r.tier_c_min, r.tier_d_min, r.tier_margin)) AS same_tier
FROM bench_tiers, pgcredit._settings_or_default() r;

SELECT count(*) > 0 AS detached FROM pgcredit.detach('bench_score_invoice') \gset
DROP TABLE bench_score_invoice;
DELETE FROM pgcredit.exposure;
DELETE FROM pgcredit.account;
DELETE FROM pgcredit.score_history;
DELETE FROM pgcredit.alert;

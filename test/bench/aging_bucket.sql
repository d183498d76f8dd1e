-- aging_bucket against the plain SQL CASE that computes the same label,
-- over :rows invoices, serial plans.

\set QUIET on
\set ON_ERROR_STOP on
SET max_parallel_workers_per_gather = 0;
\i test/bench/bench.sql

SET client_min_messages = warning;
DROP TABLE IF EXISTS bench_invoice;
CREATE TABLE bench_invoice AS
SELECT g AS invoice_no,
       date '2024-01-01' + (g::bigint * 7919 % 400)::int - 200 AS due_on,
       (g::bigint * 104729 % 100000) / 100.0 AS amount
FROM generate_series(1, :rows) AS g;
VACUUM ANALYZE bench_invoice;

\echo 'aging_bucket over' :rows 'rows (best of 5, serial)'
WITH r AS (
  SELECT 'count(*)' AS what, pg_temp.best_ms(
    $$SELECT count(*) FROM bench_invoice$$) AS ms
  UNION ALL
  SELECT 'plain SQL CASE', pg_temp.best_ms(
    $$SELECT count(l) FROM (SELECT CASE
        WHEN due_on >= '2024-01-01' THEN 'current'
        WHEN date '2024-01-01' - due_on <= 30 THEN '1-30'
        WHEN date '2024-01-01' - due_on <= 60 THEN '31-60'
        WHEN date '2024-01-01' - due_on <= 90 THEN '61-90'
        ELSE '90+' END AS l FROM bench_invoice) s$$)
  UNION ALL
  SELECT 'pgcredit.aging_bucket', pg_temp.best_ms(
    $$SELECT count(l) FROM (SELECT
        pgcredit.aging_bucket(due_on, '2024-01-01') AS l FROM bench_invoice) s$$)
)
SELECT what, ms,
       round(ms / (SELECT ms FROM r WHERE what = 'plain SQL CASE'), 2) AS vs_case
FROM r;

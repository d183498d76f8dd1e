-- Every aggregate gives the same result in a forced parallel plan as in a
-- serial one, whatever the row order; EXPLAIN shows the partial
-- aggregation that proves the parallel plan (combine, serialize and
-- deserialize functions at work).

CREATE TABLE par_ledger AS
SELECT g AS id, 'C' || (g % 97) AS customer,
       CASE WHEN g % 1000 = 3 THEN 1e20 + g / 7.0          -- too large for the integer path
            WHEN g % 997 = 0 THEN 0.00000000000000000001 * g  -- too precise for it
            WHEN g % 11 = 0 THEN -(g % 500) / 4.0           -- credit notes
            ELSE (g * 7919 % 100000) / 100.0 END AS amount,
       date '2024-01-01' - (g * 31 % 500) AS invoiced_on,
       date '2024-01-01' - (g * 31 % 500) + 30 AS due,
       CASE WHEN g % 5 = 0 THEN NULL
            ELSE date '2024-01-01' - (g * 31 % 500) + (g % 90) END AS paid_on
FROM generate_series(1, 60000) AS g;
ANALYZE par_ledger;

CREATE VIEW par_results AS
SELECT pgcredit.amount_sum(amount) AS amount_sum,
       pgcredit.aging(amount, due, '2024-01-01') AS aging,
       pgcredit.aging(amount, due, '2024-01-01', '{7,14,45,120,365}') AS aging_custom,
       pgcredit.dso_report(amount, invoiced_on, due, paid_on, '2024-01-01') AS dso,
       pgcredit.credit_score_explain(amount, due, paid_on, '2024-01-01') AS score,
       pgcredit.concentration_hhi(amount) AS hhi,
       pgcredit.concentration_top_share(amount, 25) AS top_25
FROM par_ledger;

CREATE VIEW par_by_customer AS
SELECT customer, pgcredit.amount_sum(amount) AS amount_sum,
       pgcredit.aging(amount, due, '2024-01-01') AS aging,
       pgcredit.dso(amount, invoiced_on, paid_on, '2024-01-01', 365) AS dso,
       pgcredit.credit_score(amount, due, paid_on, '2024-01-01') AS score
FROM par_ledger GROUP BY customer;

-- Serial.
SET max_parallel_workers_per_gather = 0;
CREATE TEMP TABLE serial_results AS SELECT * FROM par_results;
CREATE TEMP TABLE serial_by_customer AS SELECT * FROM par_by_customer;

-- Forced parallel, with the leader not taking part so that every row goes
-- through a worker's partial state.
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
SET parallel_leader_participation = off;

EXPLAIN (COSTS OFF) SELECT * FROM par_results;
EXPLAIN (COSTS OFF) SELECT * FROM par_by_customer;

SELECT (SELECT count(*) FROM (SELECT * FROM par_results
                              EXCEPT SELECT * FROM serial_results) AS d) AS results_differing,
       (SELECT count(*) FROM (SELECT * FROM par_by_customer
                              EXCEPT SELECT * FROM serial_by_customer) AS d) AS customers_differing,
       (SELECT count(*) FROM serial_by_customer) AS customers;

-- Text forms are identical too (same display scale, not only equal values).
SELECT (SELECT r::text FROM par_results AS r) = (SELECT r::text FROM serial_results AS r) AS same_text;

-- Row order: the same aggregates over the rows sorted three ways.
RESET parallel_leader_participation;
SET max_parallel_workers_per_gather = 0;
SELECT o AS sorted_by,
       (SELECT r::text FROM serial_results AS r) =
       (SELECT ROW(pgcredit.amount_sum(amount),
                   pgcredit.aging(amount, due, '2024-01-01'),
                   pgcredit.aging(amount, due, '2024-01-01', '{7,14,45,120,365}'),
                   pgcredit.dso_report(amount, invoiced_on, due, paid_on, '2024-01-01'),
                   pgcredit.credit_score_explain(amount, due, paid_on, '2024-01-01'),
                   pgcredit.concentration_hhi(amount),
                   pgcredit.concentration_top_share(amount, 25))::text
        FROM (SELECT * FROM par_ledger
              ORDER BY CASE o WHEN 'id desc' THEN -id::numeric WHEN 'amount' THEN amount
                              ELSE (id::bigint * 48271 % 60013) END) AS s) AS same_result
FROM unnest(ARRAY['id desc', 'amount', 'shuffled']) AS o;

-- What was compared (read by hand: the rows above must be all true).
SELECT amount_sum, (aging).total, (aging).overdue, (dso).dso, (score).score, hhi, top_25
FROM serial_results;

-- Partial states that aged at different days are refused when they are
-- combined, as rows of one group are: with partitionwise aggregation,
-- each partition's rows (one as_of, one bounds array each) go into a
-- partial state of their own, and the combine functions see two days.
-- EXPLAIN shows the partial aggregates; each query errs with 22023.
RESET ALL;
CREATE TABLE par_days (as_of date, amount numeric, invoiced_on date, due date, bounds int[])
  PARTITION BY LIST (as_of);
CREATE TABLE par_days_june PARTITION OF par_days FOR VALUES IN ('2024-06-30');
CREATE TABLE par_days_july PARTITION OF par_days FOR VALUES IN ('2024-07-31');
INSERT INTO par_days
SELECT d, g, date '2024-05-01' - g, date '2024-06-01' - g, CASE WHEN d = '2024-06-30' THEN '{30}'::int[] ELSE '{60}' END
FROM generate_series(1, 100) AS g, (VALUES (date '2024-06-30'), ('2024-07-31')) AS t(d);
ANALYZE par_days;
SET enable_partitionwise_aggregate = on;
EXPLAIN (COSTS OFF) SELECT pgcredit.aging(amount, due, as_of) FROM par_days;
SELECT pgcredit.aging(amount, due, as_of) FROM par_days;
\echo :LAST_ERROR_SQLSTATE
SELECT pgcredit.aging(amount, due, as_of, '{30}') FROM par_days;
\echo :LAST_ERROR_SQLSTATE
SELECT pgcredit.aging(amount, due, '2024-06-30', bounds) FROM par_days;
\echo :LAST_ERROR_SQLSTATE
SELECT pgcredit.dso_report(amount, invoiced_on, due, NULL, as_of) FROM par_days;
\echo :LAST_ERROR_SQLSTATE
SELECT pgcredit.credit_score(amount, due, NULL, as_of) FROM par_days;
\echo :LAST_ERROR_SQLSTATE
-- Grouped by the day, each group has one day: nothing is refused.
SELECT as_of, (pgcredit.aging(amount, due, as_of)).items, pgcredit.dso(amount, invoiced_on, NULL, as_of) AS dso
FROM par_days GROUP BY as_of ORDER BY as_of;
DROP TABLE par_days;

RESET ALL;
DROP VIEW par_results, par_by_customer;
DROP TABLE par_ledger;

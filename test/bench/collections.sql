-- Collections on a large ledger: :coll_rows invoices of :coll_customers
-- customers.  Times due_collection_actions() and run_collections() for a
-- first day (every customer's items reach their levels at once) and the
-- next day (what a nightly run finds), against the plain SQL that
-- selects the same due actions from the invoice table, in the same run.
-- run_collections() is timed inside a subtransaction rolled back, so
-- that each of its runs starts from the same state.

\set QUIET on
\set ON_ERROR_STOP on
\i test/bench/bench.sql
SET client_min_messages = warning;

DROP TABLE IF EXISTS bench_coll_invoice CASCADE;
DELETE FROM pgcredit.attachment;
DELETE FROM pgcredit.exposure;
DELETE FROM pgcredit.account;
DELETE FROM pgcredit.collection_action;
DELETE FROM pgcredit.collection_state; DELETE FROM pgcredit.collection_run;
DELETE FROM pgcredit.dunning_assignment;
DELETE FROM pgcredit.dunning_policy;
CREATE TABLE bench_coll_invoice (
  id           bigint PRIMARY KEY,
  customer     text NOT NULL,
  amount       numeric(12,2) NOT NULL,
  open_amount  numeric(12,2) NOT NULL,
  invoiced_on  date NOT NULL,
  due          date NOT NULL,
  paid_on      date
);
-- two years of invoices, 30 days to pay; those due in the last 60 days
-- are two thirds open
INSERT INTO bench_coll_invoice
SELECT g, 'C' || (g * 7919 % :coll_customers), a, CASE WHEN p IS NULL THEN a ELSE 0 END, i, i + 30, p
FROM (SELECT g, (g * 104729 % 100000) / 100.0 + 1 AS a,
             date '2024-06-30' - (g % 730)::int AS i,
             CASE WHEN date '2024-06-30' - (g % 730)::int + 30 > date '2024-06-30' - 60 AND g % 3 <> 0 THEN NULL
                  ELSE date '2024-06-30' - (g % 730)::int + 30 + (g % 41)::int - 20 END AS p
      FROM generate_series(1::bigint, :coll_rows) g) s;
VACUUM ANALYZE bench_coll_invoice;
SELECT count(*) > 0 AS attached FROM pgcredit.attach_receivables('bench_coll_invoice', 'customer', 'open_amount', 'due',
  invoice_amount_column => 'amount', invoiced_column => 'invoiced_on', paid_column => 'paid_on') \gset
SELECT count(*) > 0 AS policy FROM pgcredit.create_dunning_policy('bench', 'bench', min_amount => 25, quiet_days => 5) \gset
SELECT count(*) AS levels
FROM (VALUES (1, -3), (2, 7), (3, 21), (4, 45), (5, 60)) v(level, days),
     LATERAL pgcredit.set_dunning_level('bench', v.level, v.days, 'email', 'level_' || v.level, 'bench') l \gset
SELECT pgcredit.set_tier_dunning_policy('default', 'bench', 'bench') IS NULL AS tiered \gset

-- The plain SQL of the same job: each open item's highest level reached
-- and not sent before, the items of a customer together at the highest
-- level, not within the quiet days, at least the minimum amount.
CREATE FUNCTION pg_temp.plain_due(d date) RETURNS bigint LANGUAGE sql AS $$
  WITH lv(level, days) AS (VALUES (1, -3), (2, 7), (3, 21), (4, 45), (5, 60)),
  items AS (
    SELECT i.customer, i.id, i.due, CASE WHEN i.paid_on > d THEN i.amount ELSE i.open_amount END AS amount
    FROM bench_coll_invoice i
    WHERE i.invoiced_on <= d AND (i.paid_on > d OR i.paid_on IS NULL AND i.open_amount > 0)),
  sent AS (
    SELECT ci.item_key ->> 'id' AS id, max(ci.level) AS level
    FROM pgcredit.collection_action_item ci JOIN pgcredit.collection_action a ON a.id = ci.action_id
    WHERE a.as_of < d GROUP BY 1),
  last AS (SELECT a.customer, max(a.as_of) AS as_of FROM pgcredit.collection_action a WHERE a.as_of <= d GROUP BY 1),
  due AS (
    SELECT it.customer, it.amount, t.level
    FROM items it
    CROSS JOIN LATERAL (SELECT max(lv.level) AS level, max(lv.days) AS days FROM lv WHERE lv.days <= d - it.due) t
    LEFT JOIN sent s ON s.id = it.id::text
    LEFT JOIN last l ON l.customer = it.customer
    WHERE t.level > coalesce(s.level, 0) AND (t.days >= 0 OR it.due > d)
      AND (l.as_of IS NULL OR l.as_of + 5 <= d AND l.as_of < d))
  SELECT count(*) FROM (SELECT customer, max(level) FROM due GROUP BY customer HAVING sum(amount) >= 25) a
$$;

-- run_collections() once, rolled back: its milliseconds
CREATE FUNCTION pg_temp.run_ms(d date, OUT ms numeric, OUT actions bigint) LANGUAGE plpgsql AS $$
DECLARE
  t0 timestamptz;
BEGIN
  BEGIN
    t0 := clock_timestamp();
    SELECT count(*) INTO actions FROM pgcredit.run_collections(d);
    ms := round(extract(epoch FROM clock_timestamp() - t0) * 1000, 1);
    RAISE EXCEPTION 'roll back' USING ERRCODE = 'P0001';
  EXCEPTION WHEN SQLSTATE 'P0001' THEN
    NULL;
  END;
END $$;
CREATE FUNCTION pg_temp.best_run(d date, runs int, OUT ms numeric, OUT actions bigint) LANGUAGE plpgsql AS $$
DECLARE
  r record;
BEGIN
  FOR i IN 1 .. runs LOOP
    r := pg_temp.run_ms(d);
    ms := least(ms, r.ms);
    actions := r.actions;
  END LOOP;
END $$;

SELECT pg_temp.plain_due('2024-06-30') AS due_first, (SELECT count(*) FROM pgcredit.due_collection_actions('2024-06-30')) AS pgc_first \gset
\echo 'collections over' :coll_rows 'invoices of' :coll_customers 'customers: the first day,' :due_first 'actions due (plain SQL) and' :pgc_first '(pgcredit) (best of 3)'
WITH r AS (
  SELECT 1 AS n, 'plain SQL selecting the due actions' AS what,
         pg_temp.best_ms($$SELECT pg_temp.plain_due('2024-06-30')$$, 3) AS ms, :due_first::bigint AS actions
  UNION ALL
  SELECT 2, 'due_collection_actions()',
         pg_temp.best_ms($$SELECT count(*) FROM pgcredit.due_collection_actions('2024-06-30')$$, 3), :pgc_first
  UNION ALL
  SELECT 3, 'run_collections() (writes them)', b.ms, b.actions FROM pg_temp.best_run('2024-06-30', 3) b
)
SELECT what, ms, actions, round(ms / (SELECT ms FROM r WHERE n = 1), 2) AS vs_plain,
       round(ms * 1000 / nullif(actions, 0), 1) AS us_per_action,
       round(ms * 1000 / :coll_rows, 3) AS us_per_invoice
FROM r ORDER BY n;

-- The first day written for good, the next day is what a nightly run finds
SELECT count(*) AS written FROM pgcredit.run_collections('2024-06-30') \gset
SELECT pg_temp.plain_due('2024-07-01') AS due_next, (SELECT count(*) FROM pgcredit.due_collection_actions('2024-07-01')) AS pgc_next \gset
\echo 'the next day, after' :written 'actions written the first:' :due_next 'actions due (plain SQL) and' :pgc_next '(pgcredit) (best of 3)'
WITH r AS (
  SELECT 1 AS n, 'plain SQL selecting the due actions' AS what,
         pg_temp.best_ms($$SELECT pg_temp.plain_due('2024-07-01')$$, 3) AS ms, :due_next::bigint AS actions
  UNION ALL
  SELECT 2, 'due_collection_actions()',
         pg_temp.best_ms($$SELECT count(*) FROM pgcredit.due_collection_actions('2024-07-01')$$, 3), :pgc_next
  UNION ALL
  SELECT 3, 'run_collections() (writes them)', b.ms, b.actions FROM pg_temp.best_run('2024-07-01', 3) b
)
SELECT what, ms, actions, round(ms / (SELECT ms FROM r WHERE n = 1), 2) AS vs_plain,
       round(ms * 1000 / :coll_rows, 3) AS us_per_invoice
FROM r ORDER BY n;

SELECT count(*) > 0 AS detached FROM pgcredit.detach('bench_coll_invoice') \gset
DROP TABLE bench_coll_invoice;
DELETE FROM pgcredit.collection_action;
DELETE FROM pgcredit.collection_state; DELETE FROM pgcredit.collection_run;
DELETE FROM pgcredit.dunning_assignment;
DELETE FROM pgcredit.dunning_policy;
DELETE FROM pgcredit.exposure;
DELETE FROM pgcredit.account;

-- Per-order cost of exposure categories: one INSERT ... SELECT of 100,000
-- orders of 1,000 customers into a fresh table, attached as :label says;
-- prints "RESULT label µs-per-order".  Run by test/bench/categories.sh.
\set QUIET on
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pgcredit;
SELECT EXISTS (SELECT FROM pg_proc WHERE proname = 'add_category') AS has_categories \gset
\if :has_categories
SELECT pgcredit.add_category('bench_deliveries', 'orders') WHERE NOT EXISTS (SELECT FROM pgcredit.exposure_category WHERE name = 'bench_deliveries');
SELECT pgcredit.add_category('bench_limited', 'orders') WHERE NOT EXISTS (SELECT FROM pgcredit.exposure_category WHERE name = 'bench_limited');
SELECT pgcredit.set_category_limit('bench_limited', 1e12, 'bench') WHERE NOT EXISTS (SELECT FROM pgcredit.category_limit WHERE category = 'bench_limited');
\endif
-- one run: a fresh table, attached as :kind, 100,000 orders of 1,000 customers in one statement
DROP TABLE IF EXISTS b_order;
CREATE TABLE b_order (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, customer text NOT NULL, amount numeric(12,2) NOT NULL);
\if :attach
\if :has_categories
SELECT pgcredit.attach_orders('b_order', 'customer', 'amount', category => :'category') IS NOT NULL AS attached;
\else
SELECT pgcredit.attach_orders('b_order', 'customer', 'amount') IS NOT NULL AS attached;
\endif
\endif
\if :has_categories
SELECT pgcredit.set_category_limit('orders', CASE WHEN :'label' LIKE '%builtin_with_sublimit' THEN 1e12 END, 'bench') IS NULL AS x \gset
\endif
CHECKPOINT;
SELECT clock_timestamp() AS t0 \gset
INSERT INTO b_order (customer, amount) SELECT 'B' || (i % 1000), 1 FROM generate_series(1, 100000) i;
SELECT round(extract(epoch FROM clock_timestamp() - :'t0'::timestamptz) * 1e6 / 100000, 1) AS us_per_order \gset
\echo RESULT :label :us_per_order
\if :attach
SELECT pgcredit.detach('b_order') IS NOT NULL AS detached \gset
\endif

-- The guard under bulk writes: multi-row INSERT, INSERT ... SELECT and COPY
-- are checked row by row, each row seeing the exposure the rows before it
-- in the same statement left; thousands of changes of one customer's
-- exposure in one transaction (new row versions that no longer fit their
-- page, so the primary key gets new entries) keep exposure exact and the
-- row findable through its index.
\set SHOW_CONTEXT never

CREATE TABLE bulk_order (
  id        serial PRIMARY KEY,
  customer  text NOT NULL,
  amount    numeric(12,2) NOT NULL
);
SELECT count(*) AS attached FROM pgcredit.attach_orders('bulk_order', 'customer', 'amount');
SELECT customer, credit_limit FROM pgcredit.open_account('acme', 100000, reason => 'bulk test');
SELECT customer, credit_limit FROM pgcredit.open_account('bolt', 50, reason => 'bulk test');

BEGIN;
-- 3000 rows of 0.01 to 1.00 for acme and rows for customers never seen
INSERT INTO bulk_order (customer, amount)
SELECT CASE WHEN g % 3 = 0 THEN 'new-' || (g % 7) ELSE 'acme' END, (g % 100 + 1) / 100.0
FROM generate_series(1, 3000) g;
INSERT INTO bulk_order (customer, amount) VALUES ('acme', 1.5), ('acme', 2.5), ('new-1', 0.25);
COPY bulk_order (customer, amount) FROM STDIN;
acme	10.00
new-2	0.75
acme	0.01
\.
-- the exposure row of acme got a new version for every row; some had to
-- leave their page, which is what this test is about
SELECT n_tup_upd >= 2000 AS many_updates, n_tup_upd > n_tup_hot_upd AS some_not_hot
FROM pg_stat_xact_all_tables WHERE relid = 'pgcredit.exposure'::regclass;
-- exposure equals the table, read both ways: by sequential scan and by index
SELECT x.customer, x.open_orders, o.total, x.open_orders = o.total AS exact
FROM pgcredit.exposure x
JOIN (SELECT customer, sum(amount) AS total FROM bulk_order GROUP BY customer) o USING (customer)
ORDER BY x.customer;
SET LOCAL enable_seqscan = off;
SET LOCAL enable_bitmapscan = off;
EXPLAIN (COSTS OFF) SELECT open_orders FROM pgcredit.exposure WHERE customer = 'acme';
SELECT open_orders = (SELECT sum(amount) FROM bulk_order WHERE customer = 'acme') AS by_index
FROM pgcredit.exposure WHERE customer = 'acme';
COMMIT;
SELECT count(*) AS mismatches FROM pgcredit.verify_exposure();

-- One statement whose rows fit one by one until they do not: the row that
-- crosses the limit stops the statement and nothing of it stays.
INSERT INTO bulk_order (customer, amount) SELECT 'bolt', 20 FROM generate_series(1, 3);
\echo :LAST_ERROR_SQLSTATE
SELECT coalesce(sum(amount), 0) AS bolt_orders FROM bulk_order WHERE customer = 'bolt';
SELECT open_orders AS bolt_exposure FROM pgcredit.exposure WHERE customer = 'bolt';
-- the first two alone fit
INSERT INTO bulk_order (customer, amount) SELECT 'bolt', 20 FROM generate_series(1, 2);
SELECT open_orders AS bolt_exposure FROM pgcredit.exposure WHERE customer = 'bolt';

-- A subtransaction rolled back takes its exposure with it.
BEGIN;
SAVEPOINT s;
INSERT INTO bulk_order (customer, amount) SELECT 'acme', 1 FROM generate_series(1, 500);
ROLLBACK TO SAVEPOINT s;
INSERT INTO bulk_order (customer, amount) VALUES ('acme', 1);
COMMIT;
SELECT x.open_orders = (SELECT sum(amount) FROM bulk_order WHERE customer = 'acme') AS acme_exact
FROM pgcredit.exposure x WHERE customer = 'acme';

-- Updates and deletes in bulk move exposure back down.
UPDATE bulk_order SET amount = amount / 2 WHERE customer = 'acme';
DELETE FROM bulk_order WHERE customer LIKE 'new-%';
SELECT customer, open_orders FROM pgcredit.exposure
WHERE customer IN ('acme', 'bolt') OR customer LIKE 'new-%' ORDER BY customer;
SELECT count(*) AS mismatches FROM pgcredit.verify_exposure();

SELECT relid, kind FROM pgcredit.detach('bulk_order');
DROP TABLE bulk_order;

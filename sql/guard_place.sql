-- The guard remembers, across transactions, where it last found or wrote
-- each customer's exposure row, and uses that place only when the
-- version there is visible and holds that customer's key; it prunes the
-- row's page itself when the page is nearly full.  The places below go
-- stale in every way they can: beyond the end of a truncated table, and
-- taken by another customer's row.  The settings row is kept in the
-- backend too, and every change of it, committed or rolled back, is seen
-- by the next order.
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE TABLE pl_order (id int PRIMARY KEY, customer text, amount numeric NOT NULL);
SELECT relid FROM pgcredit.attach_orders('pl_order', 'customer', 'amount');
SELECT count(*) FROM (SELECT pgcredit.open_account(c, 1000000) FROM unnest('{P1,P2}'::text[]) c) a;

-- (this test empties pgcredit.exposure; the other tests' rows come back at the end)
CREATE TEMP TABLE saved_exposure AS SELECT * FROM pgcredit.exposure;
TRUNCATE pgcredit.exposure;

-- 1. Many single-order transactions of one customer: its row's page is
-- pruned as it fills, so the table does not grow with the orders.
CREATE PROCEDURE pl_orders(n int) LANGUAGE plpgsql AS $$
BEGIN
  FOR i IN 1..n LOOP
    INSERT INTO pl_order VALUES (i, 'P1', 1);
    COMMIT;
  END LOOP;
END $$;
CALL pl_orders(600);
SELECT open_orders FROM pgcredit.exposure WHERE customer = 'P1';
-- 600 versions of about 150 bytes would take 11 pages unpruned
SELECT pg_relation_size('pgcredit.exposure') / current_setting('block_size')::int AS pages;

-- 2. A place beyond the end of the table: the table is made again with
-- the row at its start, while this backend remembers a later place.
DELETE FROM pl_order;
TRUNCATE pgcredit.exposure;
INSERT INTO pl_order SELECT 1000 + g, 'F' || g, 1 FROM generate_series(1, 300) g;
INSERT INTO pl_order VALUES (1301, 'P1', 1);
SELECT (ctid::text::point)[0] > 0 AS p1_beyond_first_page FROM pgcredit.exposure WHERE customer = 'P1';
DELETE FROM pl_order WHERE id > 1000 AND id <= 1300;
CREATE TEMP TABLE ex AS SELECT * FROM pgcredit.exposure WHERE customer = 'P1';
TRUNCATE pgcredit.exposure;
INSERT INTO pgcredit.exposure SELECT * FROM ex;
SELECT pg_relation_size('pgcredit.exposure') / current_setting('block_size')::int AS pages;
INSERT INTO pl_order VALUES (1302, 'P1', 1);
SELECT open_orders FROM pgcredit.exposure WHERE customer = 'P1';
SELECT * FROM pgcredit.verify_exposure();

-- 3. A place taken by another customer's row: P1's remembered place now
-- holds P2's row, visible and current, which an order of P1 must not touch.
DELETE FROM pl_order;
TRUNCATE pgcredit.exposure, ex;
INSERT INTO pl_order VALUES (1303, 'P1', 1);
INSERT INTO pl_order VALUES (1304, 'P2', 5);
INSERT INTO pl_order VALUES (1305, 'P1', 1);
SELECT ctid AS p1_place, (ctid::text::point)[1]::int - 1 AS fillers
FROM pgcredit.exposure WHERE customer = 'P1' \gset
SELECT :'p1_place' AS p1_place;
INSERT INTO ex SELECT * FROM pgcredit.exposure;
-- the table made again: fillers, then P2 at P1's old place, then P1
TRUNCATE pgcredit.exposure;
INSERT INTO pgcredit.exposure (customer, receivables, open_orders)
SELECT 'F' || g, 0, 0 FROM generate_series(1, :fillers) g;
INSERT INTO pgcredit.exposure SELECT * FROM ex WHERE customer = 'P2';
INSERT INTO pgcredit.exposure SELECT * FROM ex WHERE customer = 'P1';
DELETE FROM pgcredit.exposure WHERE customer LIKE 'F%';
SELECT customer AS now_at_p1_place FROM pgcredit.exposure WHERE ctid = :'p1_place';
INSERT INTO pl_order VALUES (1306, 'P1', 1);
SELECT customer, open_orders FROM pgcredit.exposure ORDER BY customer;
SELECT * FROM pgcredit.verify_exposure();

-- 4. The settings kept in the backend: a change is seen by the next order,
-- in the transaction that makes it, and after a rollback the old ones again.
INSERT INTO pl_order VALUES (1307, 'nobody', 1);      -- allowed: the default policy
BEGIN;
SELECT no_account_policy FROM pgcredit.set_no_account_policy('deny', reason => 'try deny');
SAVEPOINT a;
INSERT INTO pl_order VALUES (1308, 'nobody', 1);
\echo :LAST_ERROR_SQLSTATE
ROLLBACK TO a;
ROLLBACK;
INSERT INTO pl_order VALUES (1309, 'nobody', 1);      -- allowed again
SELECT no_account_policy FROM pgcredit.set_no_account_policy('default_limit', 2, 0, 'small default');
INSERT INTO pl_order VALUES (1310, 'nobody', 1);      -- 3 against 2: refused
\echo :LAST_ERROR_SQLSTATE
SELECT no_account_policy FROM pgcredit.set_no_account_policy('default_limit', 3, 0, 'a little more');
INSERT INTO pl_order VALUES (1311, 'nobody', 1);      -- 3 against 3: passes
SELECT no_account_policy FROM pgcredit.set_no_account_policy('allow', reason => 'back to default');
SELECT open_orders FROM pgcredit.exposure WHERE customer = 'nobody';
SELECT * FROM pgcredit.verify_exposure();

-- the other tests' rows come back
SELECT relid FROM pgcredit.detach('pl_order');
DROP TABLE pl_order;
DROP PROCEDURE pl_orders(int);
TRUNCATE pgcredit.exposure;
INSERT INTO pgcredit.exposure SELECT * FROM saved_exposure;
DELETE FROM pgcredit.account WHERE customer IN ('P1', 'P2');
DELETE FROM pgcredit.exposure WHERE customer IN ('P1', 'P2');

-- Receivables by due date: pgcredit.receivable_due, which the guard keeps
-- beside exposure and the days_past_due and overdue_amount rules read
-- without an SQL statement per order.  After every change the buckets
-- are compared with what the attached tables hold (due_mismatch returns
-- no row when they agree).  Dates are relative to today.
\set SHOW_CONTEXT never
SET client_min_messages = warning;
SELECT setval('pgcredit.credit_rule_id_seq', 300, false);

-- The buckets recomputed from the attached tables, and the difference
CREATE TEMP VIEW due_actual AS
  SELECT i.customer, i.due, sum(i.amount) AS amount, count(*)::int AS items
  FROM pgcredit._attached_items('receivables') i
  WHERE i.counts AND i.amount > 0 AND i.due IS NOT NULL
  GROUP BY i.customer, i.due;
CREATE TEMP VIEW due_mismatch AS
  (SELECT 'stored' AS side, d.customer, d.due, d.amount, d.items FROM pgcredit.receivable_due d
   EXCEPT SELECT 'stored', a.customer, a.due, a.amount, a.items FROM due_actual a)
  UNION ALL
  (SELECT 'actual', a.customer, a.due, a.amount, a.items FROM due_actual a
   EXCEPT SELECT 'actual', d.customer, d.due, d.amount, d.items FROM pgcredit.receivable_due d);
-- this file's buckets, days relative to today
CREATE TEMP VIEW buckets AS
  SELECT d.customer, d.due - current_date AS days, d.amount, d.items
  FROM pgcredit.receivable_due d WHERE d.customer LIKE 'D%' ORDER BY 1, 2;

CREATE TABLE rd_invoice (id int PRIMARY KEY, customer text, open_amount numeric(12,2),
                         due date, status text NOT NULL DEFAULT 'open');
SELECT kind FROM pgcredit.attach_receivables('rd_invoice', 'customer', 'open_amount', 'due',
                                             'status', '{open}');

-- Inserts: only open items with a customer, an amount above 0 and a due
-- date count; several of one due date in one statement add up.
INSERT INTO rd_invoice (id, customer, open_amount, due, status) VALUES
  (1, 'D1', 100, current_date - 40, 'open'),
  (2, 'D1', 50, current_date - 40, 'open'),
  (3, 'D1', 30, current_date + 10, 'open'),
  (4, 'D2', 200, current_date - 5, 'open'),
  (5, 'D2', -20, current_date - 40, 'open'),     -- a credit: not past due
  (6, 'D2', 0, current_date - 40, 'open'),       -- nothing open
  (7, 'D2', 70, NULL, 'open'),                   -- no due date
  (8, 'D2', 80, current_date - 40, 'paid'),      -- closed
  (9, NULL, 90, current_date - 40, 'open'),      -- nobody's
  (10, 'D2', NULL, current_date - 40, 'open');   -- no amount
SELECT * FROM buckets;
SELECT * FROM due_mismatch;
SELECT customer, receivables FROM pgcredit.exposure WHERE customer LIKE 'D%' ORDER BY 1;

-- Partial and full payments, an item reopened
UPDATE rd_invoice SET open_amount = 60 WHERE id = 1;
UPDATE rd_invoice SET status = 'paid' WHERE id = 2;
SELECT * FROM buckets;
SELECT * FROM due_mismatch;
UPDATE rd_invoice SET status = 'open' WHERE id = 2;
UPDATE rd_invoice SET status = 'open' WHERE id = 8;
SELECT * FROM buckets;
SELECT * FROM due_mismatch;

-- The due date moves with the amount unchanged (exposure does not
-- change; the bucket does), moves away, is removed and comes back
UPDATE rd_invoice SET due = current_date - 41 WHERE id = 2;
UPDATE rd_invoice SET due = current_date + 30 WHERE id = 8;
UPDATE rd_invoice SET due = NULL WHERE id = 3;
SELECT * FROM buckets;
SELECT * FROM due_mismatch;
UPDATE rd_invoice SET due = current_date + 10 WHERE id = 3;
-- an update that changes nothing the buckets see
UPDATE rd_invoice SET status = 'open' WHERE id = 3;
SELECT * FROM buckets;
SELECT * FROM due_mismatch;

-- Credits: an item turning into a credit leaves its bucket, and back;
-- amounts without a due date or a customer coming in
UPDATE rd_invoice SET open_amount = -5 WHERE id = 4;
SELECT * FROM buckets;
UPDATE rd_invoice SET open_amount = 200 WHERE id = 4;
UPDATE rd_invoice SET open_amount = 25 WHERE id = 6;
UPDATE rd_invoice SET customer = 'D3' WHERE id = 9;
UPDATE rd_invoice SET open_amount = 15 WHERE id = 10;
SELECT * FROM buckets;
SELECT * FROM due_mismatch;

-- Customers move: a whole item to another customer, amount and due
-- date changing with it, and a customer leaving
UPDATE rd_invoice SET customer = 'D2' WHERE id = 1;
UPDATE rd_invoice SET customer = 'D1', open_amount = 45, due = current_date - 3 WHERE id = 8;
UPDATE rd_invoice SET customer = NULL WHERE id = 9;
SELECT * FROM buckets;
SELECT * FROM due_mismatch;

-- Deletes; a bucket whose last item leaves goes
DELETE FROM rd_invoice WHERE id IN (2, 10);
SELECT * FROM buckets;
SELECT * FROM due_mismatch;

-- Rows never stored leave no bucket: ON CONFLICT DO NOTHING, a rolled
-- back savepoint; ON CONFLICT DO UPDATE changes the existing row
INSERT INTO rd_invoice (id, customer, open_amount, due) VALUES (1, 'D1', 999, current_date - 99)
ON CONFLICT (id) DO NOTHING;
BEGIN;
SAVEPOINT s;
INSERT INTO rd_invoice (id, customer, open_amount, due) VALUES (20, 'D1', 999, current_date - 99);
ROLLBACK TO SAVEPOINT s;
INSERT INTO rd_invoice (id, customer, open_amount, due) VALUES (21, 'D1', 11, current_date - 40);
COMMIT;
INSERT INTO rd_invoice (id, customer, open_amount, due) VALUES (21, 'D1', 12, current_date - 40)
ON CONFLICT (id) DO UPDATE SET open_amount = EXCLUDED.open_amount + rd_invoice.open_amount;
SELECT * FROM buckets;
SELECT * FROM due_mismatch;

-- A second receivables table, with integer amounts, adds to the same
-- buckets; one attached without a due column adds to exposure only
CREATE TABLE rd_item (customer text, amount int, due date);
INSERT INTO rd_item VALUES ('D1', 7, current_date - 40), ('D4', 8, current_date - 2);
SELECT kind FROM pgcredit.attach_receivables('rd_item', 'customer', 'amount', 'due');
CREATE TABLE rd_nodue (customer text, amount numeric);
SELECT kind FROM pgcredit.attach_receivables('rd_nodue', 'customer', 'amount');
INSERT INTO rd_nodue VALUES ('D1', 1000);
INSERT INTO rd_item VALUES ('D1', 3, current_date - 40);
SELECT * FROM buckets;
SELECT * FROM due_mismatch;
SELECT customer, receivables FROM pgcredit.exposure WHERE customer LIKE 'D%' ORDER BY 1;

-- A partitioned receivables table: an update moving a row to another
-- partition moves its bucket share once
CREATE TABLE rd_part (id int, region text, customer text, amount numeric, due date,
                      PRIMARY KEY (id, region)) PARTITION BY LIST (region);
CREATE TABLE rd_part_eu PARTITION OF rd_part FOR VALUES IN ('eu');
CREATE TABLE rd_part_us PARTITION OF rd_part FOR VALUES IN ('us');
SELECT kind FROM pgcredit.attach_receivables('rd_part', 'customer', 'amount', 'due');
INSERT INTO rd_part VALUES (1, 'eu', 'D5', 40, current_date - 40), (2, 'eu', 'D5', 60, current_date - 40);
UPDATE rd_part SET region = 'us' WHERE id = 1;
UPDATE rd_part SET region = 'us', customer = 'D6', due = current_date - 1 WHERE id = 2;
SELECT * FROM buckets WHERE customer IN ('D5', 'D6');
SELECT * FROM due_mismatch;
DELETE FROM rd_part WHERE id = 1;
SELECT * FROM buckets WHERE customer IN ('D5', 'D6');
SELECT * FROM due_mismatch;

-- Detach takes a table's share out; attaching again loads it
SELECT relid FROM pgcredit.detach('rd_item');
SELECT * FROM buckets;
SELECT * FROM due_mismatch;
SELECT kind FROM pgcredit.attach_receivables('rd_item', 'customer', 'amount', 'due');
SELECT * FROM buckets;
SELECT * FROM due_mismatch;

-- TRUNCATE of an attached table: the buckets follow
SELECT relid FROM pgcredit.detach('rd_part');
CREATE TABLE rd_trunc (customer text, amount numeric, due date);
SELECT kind FROM pgcredit.attach_receivables('rd_trunc', 'customer', 'amount', 'due');
INSERT INTO rd_trunc VALUES ('D7', 5, current_date - 9), ('D1', 5, current_date - 40);
SELECT * FROM buckets WHERE customer IN ('D1', 'D7');
TRUNCATE rd_trunc;
SELECT * FROM buckets WHERE customer IN ('D1', 'D7');
SELECT * FROM due_mismatch;
SELECT relid FROM pgcredit.detach('rd_trunc');

-- Tampering, as a superuser: verify_receivable_due() lists what differs,
-- rebuild_exposure() repairs it and counts the customers corrected
DELETE FROM pgcredit.receivable_due WHERE customer = 'D1' AND due = current_date - 40;
UPDATE pgcredit.receivable_due SET amount = amount + 1 WHERE customer = 'D4';
INSERT INTO pgcredit.receivable_due VALUES ('D9', current_date - 1, 1, 1);
SELECT customer, due - current_date AS days, stored_amount, actual_amount, stored_items, actual_items
FROM pgcredit.verify_receivable_due() WHERE customer LIKE 'D%';
SELECT count(*) AS exposure_mismatches FROM pgcredit.verify_exposure();
SELECT pgcredit.rebuild_exposure() AS customers_fixed;
SELECT count(*) AS bucket_mismatches FROM pgcredit.verify_receivable_due();
SELECT * FROM due_mismatch;
SELECT pgcredit.rebuild_exposure() AS nothing_left;
SELECT new_value FROM pgcredit.audit_log WHERE action = 'rebuild_exposure' ORDER BY id DESC LIMIT 1;

----------------------------------------------------------------------
-- The rules read the buckets
----------------------------------------------------------------------
CREATE TABLE rd_order (id serial PRIMARY KEY, customer text NOT NULL, amount numeric NOT NULL);
SELECT kind FROM pgcredit.attach_orders('rd_order', 'customer', 'amount');
SELECT customer FROM pgcredit.open_account('D1', 100000);
SELECT customer FROM pgcredit.open_account('D2', 100000);
SELECT customer FROM pgcredit.open_account('D4', 100000);
SELECT id FROM pgcredit.add_rule('days_past_due', 'refuse', 'thirty days', scope => 'customer',
                                 scope_value => 'D1', days => 30);
SELECT id FROM pgcredit.add_rule('overdue_amount', 'refuse', 'at most 150 overdue', scope => 'customer',
                                 scope_value => 'D2', amount => 150);
SELECT id FROM pgcredit.add_rule('overdue_amount', 'refuse', 'at most 10 a week overdue',
                                 scope => 'customer', scope_value => 'D4', days => 7, amount => 10);
SELECT * FROM buckets;
-- D1 owes 11 + 12 + 7 + 3 more than 30 days past due; D2 owes 60 + 25
-- overdue and 200 a few days overdue; D4 owes 8, 2 days overdue
SELECT c AS customer, v.verdict, v.rule_id, v.kind
FROM unnest(ARRAY['D1', 'D2', 'D4']) c, pgcredit.check_order(c, 1) v ORDER BY 1;
\set VERBOSITY terse
INSERT INTO rd_order (customer, amount) VALUES ('D1', 1);
INSERT INTO rd_order (customer, amount) VALUES ('D2', 1);
INSERT INTO rd_order (customer, amount) VALUES ('D4', 1);
\set VERBOSITY default
-- paying the old items of D1 lets its orders in; a payment of 136 of
-- D2's leaves 149 overdue, within its rule
UPDATE rd_invoice SET status = 'paid' WHERE customer = 'D1' AND due < current_date - 30;
DELETE FROM rd_item WHERE customer = 'D1';
UPDATE rd_invoice SET open_amount = open_amount - 136 WHERE id = 4;
INSERT INTO rd_order (customer, amount) VALUES ('D1', 1);
INSERT INTO rd_order (customer, amount) VALUES ('D2', 1);
-- an item of D1 falling 31 days past due stops its orders again
UPDATE rd_invoice SET due = current_date - 31 WHERE id = 8;
\set VERBOSITY terse
INSERT INTO rd_order (customer, amount) VALUES ('D1', 1);
\set VERBOSITY default
SELECT customer, count(*) AS orders FROM rd_order GROUP BY 1 ORDER BY 1;

-- items_past_due() and _overdue_amount(), which read the attached
-- tables, agree with the buckets for every customer and number of days
-- (no row when they do)
SELECT c, d, pgcredit.items_past_due(c, d) AS tables_past_due,
       pgcredit._overdue_amount(c, d) AS tables_overdue
FROM (SELECT DISTINCT customer FROM due_actual UNION SELECT 'nobody') cs(c),
     unnest(ARRAY[-1000, -30, 0, 1, 4, 5, 6, 30, 39, 40, 41, 3650]) d
WHERE pgcredit.items_past_due(c, d) IS DISTINCT FROM
        EXISTS (SELECT FROM pgcredit.receivable_due b
                WHERE b.customer = c AND b.due < current_date - d AND b.items > 0)
   OR pgcredit._overdue_amount(c, d) IS DISTINCT FROM
        (SELECT coalesce(sum(b.amount), 0) FROM pgcredit.receivable_due b
         WHERE b.customer = c AND b.due < current_date - d AND b.items > 0);
SELECT count(*) > 0 AS some_past_due FROM pgcredit.receivable_due WHERE due < current_date;

-- No SQL statement per order: with track_functions = all, orders judged
-- by both kinds of rules call neither function (the count stays NULL),
-- while one call by hand is counted (the measure works)
BEGIN;
SET LOCAL track_functions = 'all';
INSERT INTO rd_order (customer, amount) SELECT 'D2', 1 FROM generate_series(1, 5);
INSERT INTO rd_order (customer, amount) VALUES ('D4', 0.5);
SAVEPOINT refused;
\set VERBOSITY terse
INSERT INTO rd_order (customer, amount) VALUES ('D1', 1);
\set VERBOSITY default
ROLLBACK TO SAVEPOINT refused;
SELECT pg_stat_get_xact_function_calls('pgcredit.items_past_due(text,int)'::regprocedure) AS past_due_calls,
       pg_stat_get_xact_function_calls('pgcredit._overdue_amount(text,int)'::regprocedure) AS overdue_calls;
SELECT pgcredit.items_past_due('D1', 30) AS by_hand;
SELECT pg_stat_get_xact_function_calls('pgcredit.items_past_due(text,int)'::regprocedure) AS past_due_calls;
COMMIT;

----------------------------------------------------------------------
-- Rights: the application writes receivables without any right on
-- pgcredit's tables and the guard keeps the buckets; nobody but pgcredit
-- writes them, readers read them
----------------------------------------------------------------------
CREATE ROLE regress_rd_app;
CREATE ROLE regress_rd_owner;
CREATE ROLE regress_rd_reader IN ROLE pgcredit_reader;
CREATE ROLE regress_rd_controller IN ROLE pgcredit_controller;
CREATE ROLE regress_rd_admin IN ROLE pgcredit_admin;
CREATE ROLE regress_rd_nobody;
GRANT SELECT, INSERT, UPDATE, DELETE ON rd_invoice TO regress_rd_app;
SET ROLE regress_rd_app;
INSERT INTO rd_invoice (id, customer, open_amount, due) VALUES (30, 'D8', 33, current_date - 60);
UPDATE rd_invoice SET open_amount = 34 WHERE id = 30;
INSERT INTO pgcredit.receivable_due VALUES ('D8', current_date, 1, 1);
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
SELECT * FROM buckets WHERE customer = 'D8';
SELECT * FROM due_mismatch;
CREATE TABLE rd_owned (customer text, amount numeric, due date);
ALTER TABLE rd_owned OWNER TO regress_rd_owner;
GRANT pgcredit_admin TO regress_rd_owner;
SET ROLE regress_rd_owner;
SELECT kind FROM pgcredit.attach_receivables('rd_owned', 'customer', 'amount', 'due');
INSERT INTO rd_owned VALUES ('D8', 1, current_date - 60);
UPDATE pgcredit.receivable_due SET amount = 0 WHERE customer = 'D8';
\echo :LAST_ERROR_SQLSTATE
SELECT (pgcredit.detach('rd_owned')).relid AS detached;
RESET ROLE;
SET ROLE regress_rd_reader;
SELECT count(*) > 0 AS reader_reads FROM pgcredit.receivable_due;
SELECT count(*) AS reader_verifies FROM pgcredit.verify_receivable_due();
DELETE FROM pgcredit.receivable_due;
\echo :LAST_ERROR_SQLSTATE
SET ROLE regress_rd_controller;
UPDATE pgcredit.receivable_due SET items = 0;
\echo :LAST_ERROR_SQLSTATE
SET ROLE regress_rd_admin;
INSERT INTO pgcredit.receivable_due VALUES ('D8', current_date, 1, 1);
\echo :LAST_ERROR_SQLSTATE
TRUNCATE pgcredit.receivable_due;
\echo :LAST_ERROR_SQLSTATE
SET ROLE regress_rd_nobody;
SELECT count(*) FROM pgcredit.receivable_due;
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) FROM pgcredit.verify_receivable_due();
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
SELECT * FROM due_mismatch;

-- Clean up for the files that follow
SELECT relid FROM pgcredit.detach('rd_order');
SELECT relid FROM pgcredit.detach('rd_invoice');
SELECT relid FROM pgcredit.detach('rd_item');
SELECT relid FROM pgcredit.detach('rd_nodue');
SELECT count(*) AS buckets_left FROM pgcredit.receivable_due WHERE customer LIKE 'D%';
DROP TABLE rd_order, rd_invoice, rd_item, rd_nodue, rd_part, rd_trunc, rd_owned;
DELETE FROM pgcredit.credit_rule WHERE id >= 300;
DELETE FROM pgcredit.account WHERE customer LIKE 'D%';
DELETE FROM pgcredit.exposure WHERE customer LIKE 'D%';
DROP ROLE regress_rd_app, regress_rd_owner, regress_rd_reader, regress_rd_controller,
          regress_rd_admin, regress_rd_nobody;

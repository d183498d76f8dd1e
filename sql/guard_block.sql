-- The credit guard in block mode: exposure kept current on the company's
-- own tables, and an order the customer's credit cannot carry refused.
\set SHOW_CONTEXT never
-- the exposure rows, with whether the guard gave each a book version
-- rather than its number (a sequence's, which the tests before move on)
CREATE TEMP VIEW exposure_row AS
SELECT customer, receivables, open_orders, has_account, credit_limit, tolerance_pct, status, risk_tier,
       next_review, temporary_limit, temporary_from, temporary_until, order_count, order_sum, credit_group,
       cover_counted, cover_from, cover_until, currency, book_version IS NOT NULL AS book_versioned
FROM pgcredit.exposure;

CREATE TABLE sales_order (
  order_no   serial PRIMARY KEY,
  customer   int NOT NULL,
  amount     numeric(12,2) NOT NULL,
  status     text NOT NULL DEFAULT 'open'
);
CREATE TABLE invoice (
  invoice_no  serial PRIMARY KEY,
  customer    int NOT NULL,
  open_amount numeric(12,2) NOT NULL,
  due         date NOT NULL
);
INSERT INTO invoice (customer, open_amount, due)
VALUES (1, 300, current_date - 10), (1, -50, current_date - 5), (2, 80, current_date + 20);
INSERT INTO sales_order (customer, amount, status)
VALUES (1, 100, 'open'), (1, 999, 'shipped'), (3, 40, 'open');

-- Attaching validates the table and its columns.
SELECT pgcredit.attach_orders('sales_order', 'client', 'amount');
\echo :LAST_ERROR_SQLSTATE
SELECT pgcredit.attach_orders('sales_order', 'customer', 'status');
\echo :LAST_ERROR_SQLSTATE
SELECT pgcredit.attach_orders('sales_order', 'customer', 'amount', 'status', NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT pgcredit.attach_orders('sales_order', 'customer', 'amount', NULL, '{open}');
\echo :LAST_ERROR_SQLSTATE
SELECT pgcredit.attach_orders('sales_order', 'customer', 'amount', mode => 'warn');
\echo :LAST_ERROR_SQLSTATE
SELECT pgcredit.attach_orders('sales_order', 'customer', 'amount', mode => 'hold');
\echo :LAST_ERROR_SQLSTATE
SELECT pgcredit.attach_orders('sales_order', 'customer', 'amount', hold_column => 'status');
\echo :LAST_ERROR_SQLSTATE
SELECT pgcredit.attach_receivables('invoice', 'customer', 'open_amount', 'invoice_no');
\echo :LAST_ERROR_SQLSTATE
CREATE VIEW order_view AS SELECT * FROM sales_order;
SELECT pgcredit.attach_orders('order_view', 'customer', 'amount');
\echo :LAST_ERROR_SQLSTATE
DROP VIEW order_view;
SELECT pgcredit.attach_orders('no_such_table', 'customer', 'amount');
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) AS attached_after_errors FROM pgcredit.attachment;

-- Attach for real: exposure starts from what the tables hold (the
-- shipped order does not count; the credit note nets off).
SELECT relid, kind, mode, open_values FROM pgcredit.attach_receivables('invoice', 'customer', 'open_amount', 'due');
SELECT relid, kind, mode, open_values FROM pgcredit.attach_orders('sales_order', 'customer', 'amount', 'status', '{open,confirmed}');
SELECT pgcredit.attach_orders('sales_order', 'customer', 'amount');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM exposure_row ORDER BY customer;

-- Customer 1: limit 1000 with 10 % tolerance, so 1100 in all.  Exposure
-- is 250 receivables + 100 orders = 350: 750 more fits, 751 does not.
SELECT customer FROM pgcredit.open_account('1', 1000, 10);
INSERT INTO sales_order (customer, amount) VALUES (1, 750.00);
INSERT INTO sales_order (customer, amount) VALUES (1, 0.01);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM exposure_row WHERE customer = '1';

-- A multi-row INSERT, INSERT ... SELECT and COPY are checked row by row:
-- with 2200 allowed and 1100 used, the row that goes past it refuses the
-- statement, and nothing of the statement stays.
SELECT credit_limit, tolerance_pct FROM pgcredit.set_credit_limit('1', 2000, 'raised');
INSERT INTO sales_order (customer, amount) VALUES (1, 300), (1, 300), (1, 300), (1, 300);
\echo :LAST_ERROR_SQLSTATE
INSERT INTO sales_order (customer, amount) SELECT 1, 200 FROM generate_series(1, 6);
\echo :LAST_ERROR_SQLSTATE
COPY sales_order (customer, amount) FROM stdin;
1	400
1	400
1	400
\.
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM exposure_row WHERE customer = '1';
INSERT INTO sales_order (customer, amount) VALUES (1, 300), (1, 300), (1, 300);
SELECT * FROM exposure_row WHERE customer = '1';

-- Lowering exposure always passes, even over the limit: shipping an
-- order, cutting an amount, deleting an order.
SELECT credit_limit FROM pgcredit.set_credit_limit('1', 100, 'cut');
UPDATE sales_order SET status = 'shipped' WHERE order_no = 4;
UPDATE sales_order SET amount = amount - 50 WHERE order_no = 1;
DELETE FROM sales_order WHERE order_no = (SELECT max(order_no) FROM sales_order WHERE customer = 1);
SELECT * FROM exposure_row WHERE customer = '1';
-- Raising it does not: a larger amount, or reopening a shipped order.
UPDATE sales_order SET amount = amount + 1 WHERE order_no = 1;
\echo :LAST_ERROR_SQLSTATE
UPDATE sales_order SET status = 'confirmed' WHERE order_no = 2;
\echo :LAST_ERROR_SQLSTATE

-- Moving an order to another customer lowers one and checks the other:
-- customer 3 (limit 100, 40 used) can take order 1 (50) but customer 1,
-- far over its new limit, cannot take order 3 back.
SELECT customer FROM pgcredit.open_account('3', 100);
UPDATE sales_order SET customer = 3 WHERE order_no = 1;
UPDATE sales_order SET customer = 1 WHERE order_no = 3;
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM exposure_row WHERE customer IN ('1', '3') ORDER BY customer;

-- Receivables keep exposure current but are never refused: a payment
-- lowers it, a new invoice raises it even over the limit.
UPDATE invoice SET open_amount = 0 WHERE invoice_no = 1;
INSERT INTO invoice (customer, open_amount, due) VALUES (3, 5000, current_date + 30);
SELECT * FROM exposure_row WHERE customer IN ('1', '3') ORDER BY customer;

-- Accounts on hold or blocked refuse any raise, however small.
SELECT credit_limit FROM pgcredit.set_credit_limit('1', 100000, 'new security');
SELECT status FROM pgcredit.place_hold('1', 'disputed delivery');
INSERT INTO sales_order (customer, amount) VALUES (1, 0.01);
\echo :LAST_ERROR_SQLSTATE
SELECT status FROM pgcredit.block_account('1', 'fraud suspected');
INSERT INTO sales_order (customer, amount) VALUES (1, 0.01);
\echo :LAST_ERROR_SQLSTATE
-- A controller overrides the block for one transaction, with a reason.
BEGIN;
SELECT pgcredit.override_block('1', 'director approved one order');
INSERT INTO sales_order (customer, amount) VALUES (1, 25);
COMMIT;
INSERT INTO sales_order (customer, amount) VALUES (1, 25);
\echo :LAST_ERROR_SQLSTATE
SELECT status FROM pgcredit.release_hold('1', 'investigation closed');
INSERT INTO sales_order (customer, amount) VALUES (1, 25);

-- Customers without an account: allowed by default, refused under the
-- deny policy, given a default limit under default_limit.
INSERT INTO sales_order (customer, amount) VALUES (7, 1000000);
SELECT no_account_policy FROM pgcredit.set_no_account_policy('deny', reason => 'accounts required');
INSERT INTO sales_order (customer, amount) VALUES (8, 1);
\echo :LAST_ERROR_SQLSTATE
SELECT no_account_policy, default_limit FROM pgcredit.set_no_account_policy('default_limit', 500, 10, 'starter limit');
INSERT INTO sales_order (customer, amount) VALUES (8, 550);
INSERT INTO sales_order (customer, amount) VALUES (8, 0.01);
\echo :LAST_ERROR_SQLSTATE
-- An account with no limit set is not limited.
SELECT customer FROM pgcredit.open_account('9');
INSERT INTO sales_order (customer, amount) VALUES (9, 99999999);
SELECT no_account_policy FROM pgcredit.set_no_account_policy('allow', reason => 'back to default');

-- Items past due: with the check on, a customer with an open invoice more
-- than 5 days past due cannot order; paying it lifts the block.
SELECT max_days_past_due FROM pgcredit.set_max_days_past_due(5, 'collections');
INSERT INTO invoice (customer, open_amount, due) VALUES (9, 10, current_date - 6);
INSERT INTO sales_order (customer, amount) VALUES (9, 1);
\echo :LAST_ERROR_SQLSTATE
UPDATE invoice SET open_amount = 0 WHERE customer = 9;
INSERT INTO sales_order (customer, amount) VALUES (9, 1);
SELECT max_days_past_due FROM pgcredit.set_max_days_past_due(NULL, 'off again');

-- NaN amounts are refused.
INSERT INTO sales_order (customer, amount) VALUES (9, 'NaN');
\echo :LAST_ERROR_SQLSTATE

-- Everything above left exposure equal to what the tables hold.
SELECT * FROM pgcredit.verify_exposure();

-- TRUNCATE recomputes; damage is found and repaired.
TRUNCATE invoice;
SELECT * FROM pgcredit.verify_exposure();
SET session_replication_role = replica;   -- a superuser can skip triggers
INSERT INTO sales_order (customer, amount) VALUES (3, 12.34);
RESET session_replication_role;
SELECT * FROM pgcredit.verify_exposure();
SELECT pgcredit.rebuild_exposure() AS customers_fixed;
SELECT * FROM pgcredit.verify_exposure();

-- The copies of the accounts the guard judges by: none differs, a copy
-- damaged by hand is listed field by field, and rebuild_exposure repairs
-- it (a limit of 1000 is the same as 1000.00)
SELECT * FROM pgcredit.verify_account_copy();
UPDATE pgcredit.exposure SET credit_limit = credit_limit * 2, status = 'watch', currency = 'USD'
WHERE customer = '1';
UPDATE pgcredit.exposure SET credit_limit = credit_limit::numeric(20,2) WHERE customer = '3';
SELECT credit_limit FROM pgcredit.exposure WHERE customer = '3';
SELECT * FROM pgcredit.verify_account_copy();
-- a reader may check them
SET ROLE pgcredit_reader;
SELECT customer, field FROM pgcredit.verify_account_copy();
RESET ROLE;
SELECT pgcredit.rebuild_exposure() AS customers_fixed;
SELECT * FROM pgcredit.verify_account_copy();

-- Detach takes the table out of exposure and its triggers off it.
SELECT relid FROM pgcredit.detach('sales_order');
INSERT INTO sales_order (customer, amount) VALUES (1, 1000000);
SELECT customer, open_orders FROM pgcredit.exposure WHERE open_orders <> 0;
SELECT pgcredit.detach('sales_order');
\echo :LAST_ERROR_SQLSTATE
SELECT relid FROM pgcredit.detach('invoice');
SELECT tgname FROM pg_trigger WHERE tgrelid IN ('sales_order'::regclass, 'invoice'::regclass);
DROP TABLE sales_order, invoice;

-- Open values are compared as the open column's type prints them, with
-- its modifier: character(n) pads, numeric(p,s) shows its scale, boolean
-- accepts its own spellings.
CREATE TABLE typed_order (id serial PRIMARY KEY, customer text, amount numeric,
                          state character(9), stage numeric(3,1), live boolean);
INSERT INTO typed_order (customer, amount, state, stage, live) VALUES
  ('T1', 10, 'open', 1, true), ('T1', 20, 'confirmed', 2.5, false), ('T1', 40, 'shipped', 3, true);
SELECT open_values FROM pgcredit.attach_orders('typed_order', 'customer', 'amount', 'state', '{open,confirmed}');
SELECT open_orders FROM pgcredit.exposure WHERE customer = 'T1';
INSERT INTO typed_order (customer, amount, state) VALUES ('T1', 1, 'open');
UPDATE typed_order SET state = 'shipped' WHERE amount = 20;
SELECT open_orders FROM pgcredit.exposure WHERE customer = 'T1';
SELECT count(*) AS mismatches FROM pgcredit.verify_exposure();
SELECT relid FROM pgcredit.detach('typed_order');
SELECT open_values FROM pgcredit.attach_orders('typed_order', 'customer', 'amount', 'stage', '{1,2.5}');
SELECT open_orders FROM pgcredit.exposure WHERE customer = 'T1';
INSERT INTO typed_order (customer, amount, stage) VALUES ('T1', 100, 2.50);
SELECT open_orders FROM pgcredit.exposure WHERE customer = 'T1';
SELECT count(*) AS mismatches FROM pgcredit.verify_exposure();
SELECT relid FROM pgcredit.detach('typed_order');
SELECT open_values FROM pgcredit.attach_orders('typed_order', 'customer', 'amount', 'live', '{yes}');
SELECT open_orders FROM pgcredit.exposure WHERE customer = 'T1';
SELECT count(*) AS mismatches FROM pgcredit.verify_exposure();
SELECT relid FROM pgcredit.detach('typed_order');
DROP TABLE typed_order;

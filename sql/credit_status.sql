-- credit_status(customer): one customer's credit now, for application
-- code that may read no account (pgcredit_sales), as the guard judges it.
\set SHOW_CONTEXT never
SET client_min_messages = warning;
-- the hold this test makes must not move the hold numbers the later tests
-- of the schedule see: the sequence is put back at the end
SELECT last_value AS hold_seq_last, is_called AS hold_seq_called
FROM pgcredit.held_order_id_seq \gset

CREATE TABLE cs_order (id int PRIMARY KEY, customer text NOT NULL, amount numeric(12,2) NOT NULL,
                       on_hold boolean NOT NULL DEFAULT false);
CREATE INDEX ON cs_order (customer);
SELECT kind FROM pgcredit.attach_orders('cs_order', 'customer', 'amount', mode => 'hold', hold_column => 'on_hold');
CREATE TABLE cs_invoice (id int PRIMARY KEY, customer text NOT NULL, open_amount numeric(12,2) NOT NULL,
                         due date NOT NULL);
CREATE INDEX ON cs_invoice (customer);
SELECT kind FROM pgcredit.attach_receivables('cs_invoice', 'customer', 'open_amount', 'due');
SELECT customer FROM pgcredit.open_account('CS1', 1000, tolerance_pct => 10, reason => 'status');
SELECT customer FROM pgcredit.open_account('CS2', 500, reason => 'status');
INSERT INTO cs_invoice VALUES (1, 'CS1', 300, current_date - 10), (2, 'CS2', 100, current_date + 20);
-- CS1: 300 owed and 400 ordered; limit 1000 with 10 % tolerance leaves 400
INSERT INTO cs_order VALUES (1, 'CS1', 400);
-- an order of 500 does not fit: held
INSERT INTO cs_order VALUES (2, 'CS1', 500) RETURNING on_hold;

CREATE ROLE regress_cs_app IN ROLE pgcredit_sales;
SET ROLE regress_cs_app;
SELECT customer, status, credit_limit, available_credit, limited_by, exposure, receivables, open_orders,
       held_orders, held_amount, currency, as_of = current_date AS today
FROM pgcredit.credit_status('CS1');
-- the application reads nothing else
SELECT count(*) FROM pgcredit.account;
SELECT count(*) FROM pgcredit.held_order;
RESET ROLE;
-- the same figures as the guard's and the risk view's
SELECT c.available_credit = o.credit_available AS as_check_order,
       c.available_credit = r.available_credit AS as_customer_risk,
       c.exposure = r.exposure AS same_exposure
FROM pgcredit.credit_status('CS1') c, pgcredit.check_order('CS1', 0) o, pgcredit.customer_risk r
WHERE r.customer = 'CS1';

-- A temporary limit in its days is the limit in force
SELECT customer FROM pgcredit.set_temporary_limit('CS2', 2000, current_date + 5, 'season');
SELECT customer, credit_limit, available_credit, limited_by, exposure FROM pgcredit.credit_status('CS2');
-- a credit group whose limit binds: the group's headroom, as the guard's
SELECT id FROM pgcredit.create_group('CS-GROUP', 300);
SELECT pgcredit.join_group('CS2', 'CS-GROUP', 'family') IS NOT NULL AS joined;
SELECT customer, credit_limit, available_credit, limited_by FROM pgcredit.credit_status('CS2');
-- the guard agrees: 200 passes, 250 does not
SELECT verdict FROM pgcredit.check_order('CS2', 200);
SELECT verdict FROM pgcredit.check_order('CS2', 250);

-- An account on hold; a customer without an account; one never seen
SELECT customer FROM pgcredit.set_status('CS2', 'hold', 'review');
SELECT customer, status FROM pgcredit.credit_status('CS2');
INSERT INTO cs_invoice VALUES (3, 'CS3', 50, current_date);
SELECT customer, status, credit_limit, available_credit, limited_by, exposure, held_orders FROM pgcredit.credit_status('CS3');
SELECT customer, status, credit_limit, available_credit, exposure, held_orders FROM pgcredit.credit_status('nobody');

-- Bad input
SELECT * FROM pgcredit.credit_status(NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM pgcredit.credit_status(repeat('x', 1001));
\echo :LAST_ERROR_SQLSTATE
-- a role with nothing may not call it; a temporary function cannot stand
-- in for pgcredit's (its search_path is pinned)
CREATE ROLE regress_cs_nobody;
SET ROLE regress_cs_nobody;
SELECT * FROM pgcredit.credit_status('CS1');
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
SET ROLE regress_cs_app;
CREATE FUNCTION pg_temp.check_order(text, numeric) RETURNS int LANGUAGE sql AS 'SELECT 1';
SELECT customer, available_credit FROM pgcredit.credit_status('CS1');
DROP FUNCTION pg_temp.check_order(text, numeric);
RESET ROLE;

SELECT relid FROM pgcredit.detach('cs_order');
SELECT relid FROM pgcredit.detach('cs_invoice');
DROP TABLE cs_order, cs_invoice;
SELECT pgcredit.leave_group('CS2', 'done') IS NOT NULL AS left_group;
DELETE FROM pgcredit.credit_group WHERE id = 'CS-GROUP';
DELETE FROM pgcredit.held_order WHERE customer LIKE 'CS%';
DELETE FROM pgcredit.alert WHERE customer LIKE 'CS%';
DELETE FROM pgcredit.exposure WHERE customer LIKE 'CS%';
DELETE FROM pgcredit.account WHERE customer LIKE 'CS%';
DROP ROLE regress_cs_app;
DROP ROLE regress_cs_nobody;
SELECT setval('pgcredit.held_order_id_seq', :hold_seq_last, :'hold_seq_called'::boolean) IS NOT NULL AS hold_numbers_kept;

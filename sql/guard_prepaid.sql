-- Prepaid and secured parts of orders: attach_orders(prepaid_column)
-- names the column holding the part of an order paid in advance or
-- secured; that part never uses credit.  An order counts its amount less
-- that part, never below 0 (a larger prepaid part is clamped); a NULL
-- part is 0; a negative, NaN or infinite one is refused.
\set SHOW_CONTEXT never
SET client_min_messages = warning;

CREATE TABLE pp_order (id serial PRIMARY KEY, customer text NOT NULL, amount numeric(12,2) NOT NULL,
                       prepaid numeric(12,2), label text, status text NOT NULL DEFAULT 'open');
INSERT INTO pp_order (customer, amount, prepaid) VALUES ('P1', 100, 40);   -- there before attaching

-- refused attachments
SELECT pgcredit.attach_orders('pp_order', 'customer', 'amount', prepaid_column => 'amount');
SELECT pgcredit.attach_orders('pp_order', 'customer', 'amount', prepaid_column => 'label');
\echo :LAST_ERROR_SQLSTATE
SELECT pgcredit.attach_orders('pp_order', 'customer', 'amount', prepaid_column => 'deposit');
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) AS attached FROM pgcredit.attachment WHERE relid = 'pp_order'::regclass;

SELECT kind, mode, prepaid_column
FROM pgcredit.attach_orders('pp_order', 'customer', 'amount', 'status', '{open}', prepaid_column => 'prepaid');
SELECT customer, credit_limit FROM pgcredit.open_account('P1', 1000);
-- the order there before counts 60
SELECT open_orders FROM pgcredit.exposure WHERE customer = 'P1';

INSERT INTO pp_order (customer, amount, prepaid) VALUES ('P1', 1500, 600);  -- uses 900
INSERT INTO pp_order (customer, amount, prepaid) VALUES ('P1', 500, 500);   -- paid in full: 0
INSERT INTO pp_order (customer, amount, prepaid) VALUES ('P1', 300, 1000);  -- more than paid: 0
SELECT open_orders FROM pgcredit.exposure WHERE customer = 'P1';
-- 40 of credit left: an order of 100 with 60 paid fits, one with 59 does not
INSERT INTO pp_order (customer, amount, prepaid) VALUES ('P1', 100, 59);
INSERT INTO pp_order (customer, amount, prepaid) VALUES ('P1', 100, 60);
-- without a prepaid part, the whole amount uses credit
INSERT INTO pp_order (customer, amount) VALUES ('P1', 0.01);
\echo :LAST_ERROR_SQLSTATE
-- a deposit received later lowers exposure; taking it back raises it,
-- and is checked like any raise
UPDATE pp_order SET prepaid = 1500 WHERE amount = 1500;
SELECT open_orders FROM pgcredit.exposure WHERE customer = 'P1';
UPDATE pp_order SET prepaid = 0 WHERE amount = 1500;
\echo :LAST_ERROR_SQLSTATE
-- refused prepaid parts, nothing changed
INSERT INTO pp_order (customer, amount, prepaid) VALUES ('P1', 10, -1);
INSERT INTO pp_order (customer, amount, prepaid) VALUES ('P1', 10, 'NaN');
\echo :LAST_ERROR_SQLSTATE
-- a credit (a negative order) counts whole
INSERT INTO pp_order (customer, amount, prepaid) VALUES ('P1', -20, 5);
SELECT open_orders FROM pgcredit.exposure WHERE customer = 'P1';
SELECT count(*) AS mismatches FROM pgcredit.verify_exposure();
SELECT pgcredit.rebuild_exposure() AS fixed;

-- the prepaid column is guarded like the other columns pgcredit reads
ALTER TABLE pp_order DROP COLUMN prepaid;
\echo :LAST_ERROR_SQLSTATE

-- hold mode: a held order records and releases the part that uses credit
CREATE TABLE pp_held (id serial PRIMARY KEY, customer text NOT NULL, amount numeric(12,2) NOT NULL,
                      prepaid numeric(12,2), held boolean NOT NULL DEFAULT false);
SELECT mode, prepaid_column FROM pgcredit.attach_orders('pp_held', 'customer', 'amount', mode => 'hold',
                                                        hold_column => 'held', prepaid_column => 'prepaid');
INSERT INTO pp_held (customer, amount, prepaid) VALUES ('P1', 1200, 200) RETURNING held;
SELECT customer, amount, why FROM pgcredit.held_order WHERE customer = 'P1' AND released_at IS NULL;
SELECT release_reason FROM pgcredit.release_held_order(
  (SELECT id FROM pgcredit.held_order WHERE customer = 'P1' AND released_at IS NULL), 'deposit seen');
SELECT held FROM pp_held;
SELECT open_orders FROM pgcredit.exposure WHERE customer = 'P1';
SELECT count(*) AS mismatches FROM pgcredit.verify_exposure();

SELECT relid FROM pgcredit.detach('pp_order');
SELECT relid FROM pgcredit.detach('pp_held');
DROP TABLE pp_order, pp_held;
DELETE FROM pgcredit.held_order WHERE customer = 'P1';
DELETE FROM pgcredit.alert WHERE customer = 'P1';
DELETE FROM pgcredit.audit_log WHERE customer = 'P1' OR action IN ('attach_orders', 'detach', 'rebuild_exposure');
DELETE FROM pgcredit.exposure WHERE customer = 'P1';
DELETE FROM pgcredit.account WHERE customer = 'P1';

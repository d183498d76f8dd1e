-- Negative orders (credits) cannot make room: every change that raises
-- a customer's exposure is checked, including taking a credit away by
-- deleting it, cancelling it, zeroing it, moving it to another customer
-- or clearing its customer.
\set SHOW_CONTEXT never
SET client_min_messages = warning;

CREATE TABLE c_order (id int PRIMARY KEY, customer text, amount numeric NOT NULL,
                      status text NOT NULL DEFAULT 'open');
SELECT relid FROM pgcredit.attach_orders('c_order', 'customer', 'amount', 'status', '{open}');
SELECT customer FROM pgcredit.open_account('CRD1', 1000);
SELECT customer FROM pgcredit.open_account('CRD2', 1000);

-- a credit counts once it is stored, at the end of its statement: in
-- the same statement it makes no room yet
INSERT INTO c_order VALUES (1, 'CRD1', -5000), (2, 'CRD1', 5900);
\echo :LAST_ERROR_SQLSTATE
-- stored first, the credit makes room for an order of 5900 (exposure 900)
INSERT INTO c_order VALUES (1, 'CRD1', -5000);
INSERT INTO c_order VALUES (2, 'CRD1', 5900);
SELECT open_orders FROM pgcredit.exposure WHERE customer = 'CRD1';

-- each way of taking the credit away would leave exposure at 5900
DELETE FROM c_order WHERE id = 1;
\echo :LAST_ERROR_SQLSTATE
UPDATE c_order SET status = 'cancelled' WHERE id = 1;
\echo :LAST_ERROR_SQLSTATE
UPDATE c_order SET amount = 0 WHERE id = 1;
\echo :LAST_ERROR_SQLSTATE
UPDATE c_order SET amount = 100 WHERE id = 1;
\echo :LAST_ERROR_SQLSTATE
UPDATE c_order SET customer = 'CRD2' WHERE id = 1;
\echo :LAST_ERROR_SQLSTATE
UPDATE c_order SET customer = NULL WHERE id = 1;
\echo :LAST_ERROR_SQLSTATE
SELECT open_orders FROM pgcredit.exposure WHERE customer = 'CRD1';

-- a credit may shrink as far as the limit allows, and go when the
-- orders it covered went first
UPDATE c_order SET amount = -4900 WHERE id = 1;
SELECT open_orders FROM pgcredit.exposure WHERE customer = 'CRD1';
DELETE FROM c_order WHERE id = 2;
DELETE FROM c_order WHERE id = 1;
SELECT open_orders FROM pgcredit.exposure WHERE customer = 'CRD1';

-- an override lets a controller take a credit away
INSERT INTO c_order VALUES (3, 'CRD1', -5000);
INSERT INTO c_order VALUES (4, 'CRD1', 5900);
BEGIN;
SELECT pgcredit.override_block('CRD1', 'credit note voided, customer paid');
DELETE FROM c_order WHERE id = 3;
COMMIT;
SELECT open_orders FROM pgcredit.exposure WHERE customer = 'CRD1';

-- hold mode cannot hold its way out: zeroing a held credit is refused
CREATE TABLE c_hold (id int PRIMARY KEY, customer text, amount numeric NOT NULL,
                     held boolean NOT NULL DEFAULT false);
SELECT relid FROM pgcredit.attach_orders('c_hold', 'customer', 'amount', mode => 'hold', hold_column => 'held');
INSERT INTO c_hold VALUES (1, 'CRD2', -5000);
INSERT INTO c_hold VALUES (2, 'CRD2', 5900);
UPDATE c_hold SET amount = 0 WHERE id = 1;
\echo :LAST_ERROR_SQLSTATE
UPDATE c_hold SET amount = 10 WHERE id = 1;
\echo :LAST_ERROR_SQLSTATE
DELETE FROM c_hold WHERE id = 1;
\echo :LAST_ERROR_SQLSTATE
SELECT id, amount, held FROM c_hold ORDER BY id;
SELECT open_orders FROM pgcredit.exposure WHERE customer = 'CRD2';

-- a credit moving to another partition and another customer
CREATE TABLE c_part (id int, region text, customer text, amount numeric NOT NULL,
                     PRIMARY KEY (id, region)) PARTITION BY LIST (region);
CREATE TABLE c_part_north PARTITION OF c_part FOR VALUES IN ('north');
CREATE TABLE c_part_south PARTITION OF c_part FOR VALUES IN ('south');
SELECT relid FROM pgcredit.attach_orders('c_part', 'customer', 'amount');
SELECT open_orders FROM pgcredit.exposure WHERE customer = 'CRD1';
INSERT INTO c_part VALUES (1, 'north', 'CRD1', -5000);
SELECT open_orders FROM pgcredit.exposure WHERE customer = 'CRD1';
UPDATE c_part SET region = 'south', customer = 'CRD2' WHERE id = 1;
\echo :LAST_ERROR_SQLSTATE
-- the same move within the customer is fine
UPDATE c_part SET region = 'south' WHERE id = 1;
SELECT tableoid::regclass, customer, amount FROM c_part;
SELECT * FROM pgcredit.verify_exposure();

SELECT relid FROM pgcredit.detach('c_part');
DROP TABLE c_part;
SELECT relid FROM pgcredit.detach('c_order');
SELECT relid FROM pgcredit.detach('c_hold');
DROP TABLE c_order, c_hold;
DELETE FROM pgcredit.override;
DELETE FROM pgcredit.held_order WHERE customer IN ('CRD1', 'CRD2');
DELETE FROM pgcredit.alert WHERE customer IN ('CRD1', 'CRD2');
DELETE FROM pgcredit.exposure WHERE customer IN ('CRD1', 'CRD2');
DELETE FROM pgcredit.account WHERE customer IN ('CRD1', 'CRD2');

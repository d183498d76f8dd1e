-- Guard integrity: schema changes under the guard, keys that print
-- differently, a held order changed while held, TRUNCATE of a hold-mode
-- table.  After each, verify_exposure() finds nothing to correct.
\set SHOW_CONTEXT never
SET client_min_messages = warning;

-- A changed amount column type fails with an error, never a crash:
-- refused when it is made, and, should a change get past that (the event
-- triggers disabled), refused by the guard at the next order
CREATE TABLE g_order (id int PRIMARY KEY, customer text NOT NULL, amount numeric NOT NULL);
SELECT relid FROM pgcredit.attach_orders('g_order', 'customer', 'amount');
INSERT INTO g_order VALUES (1, 'G1', 10);
ALTER TABLE g_order ALTER COLUMN amount TYPE double precision;
\echo :LAST_ERROR_SQLSTATE
ALTER TABLE g_order RENAME COLUMN customer TO client;
\echo :LAST_ERROR_SQLSTATE
ALTER TABLE g_order DROP COLUMN amount;
\echo :LAST_ERROR_SQLSTATE
CREATE TABLE g_order_child () INHERITS (g_order);
\echo :LAST_ERROR_SQLSTATE
DROP TABLE g_order;
\echo :LAST_ERROR_SQLSTATE
-- other changes go through
ALTER TABLE g_order ADD COLUMN note text;
ALTER TABLE g_order ALTER COLUMN amount TYPE numeric(12,2);
ALTER EVENT TRIGGER pgcredit_ddl_guard DISABLE;
ALTER TABLE g_order ALTER COLUMN amount TYPE double precision;
INSERT INTO g_order VALUES (2, 'G1', 10);
\echo :LAST_ERROR_SQLSTATE
ALTER TABLE g_order ALTER COLUMN amount TYPE money USING amount::numeric::money;
INSERT INTO g_order VALUES (3, 'G1', 10);
\echo :LAST_ERROR_SQLSTATE
ALTER TABLE g_order ALTER COLUMN amount TYPE numeric USING amount::numeric;
ALTER EVENT TRIGGER pgcredit_ddl_guard ENABLE;
INSERT INTO g_order VALUES (4, 'G1', 10);
SELECT open_orders FROM pgcredit.exposure WHERE customer = 'G1';
-- a renamed column fails cleanly too
ALTER EVENT TRIGGER pgcredit_ddl_guard DISABLE;
ALTER TABLE g_order RENAME COLUMN customer TO client;
INSERT INTO g_order VALUES (5, 'G1', 10);
\echo :LAST_ERROR_SQLSTATE
ALTER TABLE g_order RENAME COLUMN client TO customer;
ALTER EVENT TRIGGER pgcredit_ddl_guard ENABLE;
SELECT relid FROM pgcredit.detach('g_order');
-- detached, the table is the owner's to change again
ALTER TABLE g_order ALTER COLUMN amount TYPE double precision;
DROP TABLE g_order;

-- A generated amount would be read before it is computed: refused
CREATE TABLE g_gen (id int PRIMARY KEY, customer text, qty int, amount numeric GENERATED ALWAYS AS (qty * 10) STORED);
SELECT pgcredit.attach_orders('g_gen', 'customer', 'amount');
\echo :LAST_ERROR_SQLSTATE
DROP TABLE g_gen;

-- Rows of inheritance children would not be guarded: refused both ways
CREATE TABLE g_parent (id int, customer text, amount numeric);
CREATE TABLE g_child () INHERITS (g_parent);
SELECT pgcredit.attach_orders('g_parent', 'customer', 'amount');
\echo :LAST_ERROR_SQLSTATE
SELECT pgcredit.attach_orders('g_child', 'customer', 'amount');
\echo :LAST_ERROR_SQLSTATE
DROP TABLE g_parent CASCADE;

-- Keys that print differently are one customer: 1, 1.0 and 1.00
CREATE TABLE g_num (id int PRIMARY KEY, customer numeric NOT NULL, amount numeric NOT NULL);
SELECT relid FROM pgcredit.attach_orders('g_num', 'customer', 'amount');
SELECT customer FROM pgcredit.open_account('1', 100);
INSERT INTO g_num VALUES (1, 1, 40), (2, 1.0, 40);
INSERT INTO g_num VALUES (3, 1.00, 40);
\echo :LAST_ERROR_SQLSTATE
SELECT customer, open_orders FROM pgcredit.exposure WHERE customer LIKE '1%' ORDER BY 1;
-- char(n) keys lose their padding, so they meet text keys of the same customer
CREATE TABLE g_char (id int PRIMARY KEY, customer char(6) NOT NULL, amount numeric NOT NULL);
SELECT relid FROM pgcredit.attach_orders('g_char', 'customer', 'amount');
INSERT INTO g_char VALUES (1, '1', 15);
SELECT customer, open_orders FROM pgcredit.exposure WHERE customer LIKE '1%' ORDER BY 1;
-- bytea and floating-point keys print by session settings: refused
CREATE TABLE g_bytea (id int PRIMARY KEY, customer bytea, amount numeric);
SELECT pgcredit.attach_orders('g_bytea', 'customer', 'amount');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM pgcredit.verify_exposure();
SELECT relid FROM pgcredit.detach('g_num');
SELECT relid FROM pgcredit.detach('g_char');
DROP TABLE g_num, g_char, g_bytea;

-- A held order changed while held is not released at its new amount
CREATE TABLE g_hold (id int PRIMARY KEY, customer text NOT NULL, amount numeric NOT NULL,
                     held boolean NOT NULL DEFAULT false);
SELECT relid FROM pgcredit.attach_orders('g_hold', 'customer', 'amount', mode => 'hold', hold_column => 'held');
SELECT customer FROM pgcredit.open_account('G2', 1000);
INSERT INTO g_hold VALUES (1, 'G2', 1500);
SELECT id, amount, held FROM g_hold;
-- the controller looks at hold 1500, while the application changes the order
SELECT max(id) AS seen_hold FROM pgcredit.held_order WHERE customer = 'G2' \gset
UPDATE g_hold SET amount = 900000 WHERE id = 1;
-- the record of 1500 is closed, a new one describes the order as it is
SELECT id = :seen_hold AS seen, amount, released_at IS NOT NULL AS closed, coalesce(release_reason, why) AS why
FROM pgcredit.held_order WHERE customer = 'G2' ORDER BY id;
-- releasing what the controller saw is refused (the message names who
-- closed it and when)
\set VERBOSITY sqlstate
SELECT pgcredit.release_held_order(:seen_hold, 'saw 1500');
\set VERBOSITY default
SELECT regexp_replace(:'LAST_ERROR_MESSAGE', 'order [0-9]+', 'order N') AS refused;
SELECT open_orders FROM pgcredit.exposure WHERE customer = 'G2';
-- a release of an order that changed since its hold record was read is
-- refused too (the row no longer is what the record says)
BEGIN;
ALTER TABLE g_hold DISABLE TRIGGER zz_pgcredit_guard;
UPDATE g_hold SET amount = 7 WHERE id = 1;
ALTER TABLE g_hold ENABLE TRIGGER zz_pgcredit_guard;
\set VERBOSITY sqlstate
SELECT pgcredit.release_held_order((SELECT max(id) FROM pgcredit.held_order WHERE customer = 'G2'), 'saw 900000');
\set VERBOSITY default
ROLLBACK;
SELECT regexp_replace(:'LAST_ERROR_MESSAGE', 'order [0-9]+', 'order N') AS refused;
-- back at 1500, the order gets a record of 1500, and its release goes through
UPDATE g_hold SET amount = 1500 WHERE id = 1;
SELECT amount FROM pgcredit.release_held_order((SELECT max(id) FROM pgcredit.held_order WHERE customer = 'G2'), 'saw 1500');
SELECT id, amount, held FROM g_hold;
SELECT open_orders FROM pgcredit.exposure WHERE customer = 'G2';

-- TRUNCATE closes the holds of the rows it removed
INSERT INTO g_hold VALUES (2, 'G2', 50);
SELECT count(*) AS open_holds FROM pgcredit.held_order WHERE customer = 'G2' AND released_at IS NULL;
TRUNCATE g_hold;
SELECT count(*) AS open_holds FROM pgcredit.held_order WHERE customer = 'G2' AND released_at IS NULL;
SELECT release_reason FROM pgcredit.held_order WHERE customer = 'G2' ORDER BY id DESC LIMIT 1;
SELECT open_orders FROM pgcredit.exposure WHERE customer = 'G2';
SELECT * FROM pgcredit.verify_exposure();

SELECT relid FROM pgcredit.detach('g_hold');
DROP TABLE g_hold;
DELETE FROM pgcredit.held_order WHERE customer = 'G2';
DELETE FROM pgcredit.alert WHERE customer IN ('G1', 'G2', '1');
DELETE FROM pgcredit.exposure WHERE customer IN ('G1', 'G2', '1');
DELETE FROM pgcredit.account WHERE customer IN ('G1', 'G2', '1');

-- A customer key too long for pgcredit's indexes is refused clearly
CREATE TABLE g_long (id int PRIMARY KEY, customer text, amount numeric NOT NULL);
SELECT relid FROM pgcredit.attach_orders('g_long', 'customer', 'amount');
INSERT INTO g_long VALUES (1, repeat('x', 3000), 10);
\echo :LAST_ERROR_SQLSTATE
SELECT pgcredit.open_account(repeat('x', 3000), 10);
\echo :LAST_ERROR_SQLSTATE
SELECT relid FROM pgcredit.detach('g_long');
DROP TABLE g_long;

-- The risk views work with no receivables table attached
SELECT count(*) AS attached_receivables FROM pgcredit.attachment WHERE kind = 'receivables';
SELECT count(*) >= 0 AS risk_reads FROM pgcredit.customer_risk;
SELECT count(*) >= 0 AS portfolio_reads FROM pgcredit.portfolio;
SELECT count(*) >= 0 AS watchlist_reads FROM pgcredit.watchlist;

-- Column names and open values holding "$1" are data, not SQL
CREATE TABLE "g_$1" ("cust$1" text, "amt$1" numeric, "due$1" date, "state$1" text);
INSERT INTO "g_$1" VALUES ('G$1', 70, '2000-01-01', 'o$1'), ('G$1', 5, '2000-01-01', 'closed');
SELECT relid FROM pgcredit.attach_receivables('"g_$1"', 'cust$1', 'amt$1', 'due$1', 'state$1', '{o$1}');
SELECT customer, receivables FROM pgcredit.customer_risk WHERE customer = 'G$1';
SELECT customer, receivables FROM pgcredit.exposure WHERE customer = 'G$1';
SELECT * FROM pgcredit.verify_exposure();
SELECT relid FROM pgcredit.detach('"g_$1"');
DROP TABLE "g_$1";
DELETE FROM pgcredit.exposure WHERE customer = 'G$1';

-- pgcredit's own tables cannot be attached, not even by a superuser
SELECT pgcredit.attach_receivables('pgcredit.exposure', 'customer', 'receivables');
\echo :LAST_ERROR_SQLSTATE

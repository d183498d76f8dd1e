-- Exposure follows what is stored: rows that a BEFORE INSERT trigger saw
-- but that were never stored (INSERT ... ON CONFLICT DO NOTHING or DO
-- UPDATE, a later trigger dropping the row) leave no trace, and a credit
-- only counts once stored.  verify_exposure() stays empty throughout.
\set SHOW_CONTEXT never
SET client_min_messages = warning;
-- (hold and alert numbers are put back at the end, for the tests after this one)
SELECT last_value AS held_last, is_called AS held_called FROM pgcredit.held_order_id_seq \gset
SELECT last_value AS alert_last, is_called AS alert_called FROM pgcredit.alert_id_seq \gset

CREATE TABLE k_order (id int PRIMARY KEY, customer text, amount numeric NOT NULL);
SELECT relid FROM pgcredit.attach_orders('k_order', 'customer', 'amount');
SELECT customer FROM pgcredit.open_account('K1', 1000);
INSERT INTO k_order VALUES (1, 'K1', 100);

-- DO NOTHING: a conflicting order is not counted
INSERT INTO k_order VALUES (1, 'K1', 500) ON CONFLICT DO NOTHING;
SELECT open_orders FROM pgcredit.exposure WHERE customer = 'K1';
-- and a conflicting credit makes no room: 50000 is still refused
INSERT INTO k_order VALUES (1, 'K1', -50000) ON CONFLICT DO NOTHING;
SELECT open_orders FROM pgcredit.exposure WHERE customer = 'K1';
INSERT INTO k_order VALUES (2, 'K1', 50000);
\echo :LAST_ERROR_SQLSTATE
-- several rows, some conflicting, in one statement: until the statement
-- ends, a row that turns out not stored still counts (stricter, never
-- looser), so the second conflicting row here is refused...
INSERT INTO k_order VALUES (1, 'K1', 700), (3, 'K1', 10), (1, 'K1', 800), (4, 'K1', 20)
ON CONFLICT DO NOTHING;
\echo :LAST_ERROR_SQLSTATE
-- ...and within the limit, only the stored rows count
INSERT INTO k_order VALUES (1, 'K1', 70), (3, 'K1', 10), (1, 'K1', 80), (4, 'K1', 20)
ON CONFLICT DO NOTHING;
SELECT open_orders FROM pgcredit.exposure WHERE customer = 'K1';

-- DO UPDATE: the update of the existing row counts, the proposed row not
INSERT INTO k_order VALUES (1, 'K1', 300) ON CONFLICT (id) DO UPDATE SET amount = EXCLUDED.amount;
SELECT open_orders FROM pgcredit.exposure WHERE customer = 'K1';
-- and is checked as an update
INSERT INTO k_order VALUES (1, 'K1', 5000) ON CONFLICT (id) DO UPDATE SET amount = EXCLUDED.amount;
\echo :LAST_ERROR_SQLSTATE
SELECT open_orders FROM pgcredit.exposure WHERE customer = 'K1';

-- MERGE: matched rows update, unmatched ones insert
MERGE INTO k_order USING (VALUES (5, 'K1', 50), (3, 'K1', 15)) v(id, c, a) ON k_order.id = v.id
WHEN MATCHED THEN UPDATE SET amount = v.a
WHEN NOT MATCHED THEN INSERT VALUES (v.id, v.c, v.a);
SELECT open_orders FROM pgcredit.exposure WHERE customer = 'K1';
SELECT * FROM pgcredit.verify_exposure();

-- A trigger that fires after the guard and drops the row
CREATE FUNCTION k_drop_big() RETURNS trigger LANGUAGE plpgsql AS
  'BEGIN IF NEW.amount > 400 THEN RETURN NULL; END IF; RETURN NEW; END';
CREATE TRIGGER zzz_drop_big BEFORE INSERT ON k_order FOR EACH ROW EXECUTE FUNCTION k_drop_big();
INSERT INTO k_order VALUES (6, 'K1', 450), (7, 'K1', 5);
SELECT id FROM k_order WHERE id IN (6, 7);
SELECT open_orders FROM pgcredit.exposure WHERE customer = 'K1';
DROP TRIGGER zzz_drop_big ON k_order;
SELECT * FROM pgcredit.verify_exposure();

-- Savepoints: a rolled-back insert leaves nothing to settle
BEGIN;
SAVEPOINT s;
INSERT INTO k_order VALUES (8, 'K1', 100) ON CONFLICT DO NOTHING;
ROLLBACK TO s;
INSERT INTO k_order VALUES (9, 'K1', 1) ON CONFLICT DO NOTHING;
COMMIT;
SELECT open_orders FROM pgcredit.exposure WHERE customer = 'K1';
SELECT * FROM pgcredit.verify_exposure();

-- Hold mode: a held order that conflicts leaves no hold record
CREATE TABLE k_hold (id int PRIMARY KEY, customer text, amount numeric NOT NULL,
                     held boolean NOT NULL DEFAULT false);
SELECT relid FROM pgcredit.attach_orders('k_hold', 'customer', 'amount', mode => 'hold', hold_column => 'held');
SELECT customer FROM pgcredit.open_account('K2', 100);
INSERT INTO k_hold VALUES (1, 'K2', 50);
INSERT INTO k_hold VALUES (1, 'K2', 500) ON CONFLICT DO NOTHING;
SELECT count(*) AS open_holds FROM pgcredit.held_order WHERE customer = 'K2' AND released_at IS NULL;
INSERT INTO k_hold VALUES (2, 'K2', 500) ON CONFLICT DO NOTHING;
SELECT count(*) AS open_holds FROM pgcredit.held_order WHERE customer = 'K2' AND released_at IS NULL;
SELECT id, amount, held FROM k_hold ORDER BY id;
SELECT open_orders FROM pgcredit.exposure WHERE customer = 'K2';

-- Straight into a partition: its statement triggers are not pgcredit's,
-- so what was not stored is settled before the transaction commits
CREATE TABLE k_part (id int, region text, customer text, amount numeric NOT NULL,
                     PRIMARY KEY (id, region)) PARTITION BY LIST (region);
CREATE TABLE k_part_north PARTITION OF k_part FOR VALUES IN ('north');
SELECT relid FROM pgcredit.attach_orders('k_part', 'customer', 'amount');
SELECT customer FROM pgcredit.open_account('K3', 1000);
INSERT INTO k_part_north VALUES (1, 'north', 'K3', 100);
BEGIN;
INSERT INTO k_part_north VALUES (1, 'north', 'K3', 700) ON CONFLICT DO NOTHING;
-- counted until the transaction settles: stricter, never looser
SELECT open_orders FROM pgcredit.exposure WHERE customer = 'K3';
COMMIT;
SELECT open_orders FROM pgcredit.exposure WHERE customer = 'K3';
-- a credit straight into a partition counts once stored
INSERT INTO k_part_north VALUES (2, 'north', 'K3', -100);
SELECT open_orders FROM pgcredit.exposure WHERE customer = 'K3';
SELECT * FROM pgcredit.verify_exposure();

SELECT relid FROM pgcredit.detach('k_order');
SELECT relid FROM pgcredit.detach('k_hold');
SELECT relid FROM pgcredit.detach('k_part');
DROP TABLE k_order, k_hold, k_part;
DROP FUNCTION k_drop_big();
DELETE FROM pgcredit.held_order WHERE customer LIKE 'K_';
DELETE FROM pgcredit.alert WHERE customer LIKE 'K_';
DELETE FROM pgcredit.exposure WHERE customer LIKE 'K_';
DELETE FROM pgcredit.account WHERE customer LIKE 'K_';
SELECT setval('pgcredit.held_order_id_seq', :held_last, :'held_called') > 0 AS numbers_put_back;
SELECT setval('pgcredit.alert_id_seq', :alert_last, :'alert_called') > 0 AS numbers_put_back;

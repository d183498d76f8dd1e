-- Hold mode with a currency column: an order in another currency than its
-- customer's account is checked converted, as in block mode; held, it
-- leaves exposure, and its hold records the amount converted (what the
-- controller and the approval thresholds see) and the order as it is in
-- its own currency, with its rate date.  A release matches the row as
-- held (amount, currency and rate date) and counts it converted again, at
-- the rate of its rate date as it is then.
\set SHOW_CONTEXT never
SET client_min_messages = warning;
SELECT base_currency FROM pgcredit.set_base_currency('EUR', 'the book is kept in euros');
INSERT INTO pgcredit.fx_rate (currency_from, currency_to, valid_from, rate) VALUES
  ('USD', 'EUR', '2026-01-01', 0.9),
  ('USD', 'EUR', '2026-02-01', 0.8),
  ('GBP', 'EUR', '2026-01-01', 1.15);
CREATE TABLE hfx_order (id int PRIMARY KEY, customer text NOT NULL, amount numeric(12,2) NOT NULL,
                        currency char(3), ordered_on date, held boolean NOT NULL DEFAULT false);
SELECT relid FROM pgcredit.attach_orders('hfx_order', 'customer', 'amount', mode => 'hold', hold_column => 'held',
                                         currency_column => 'currency', rate_date_column => 'ordered_on');
SELECT customer, credit_limit FROM pgcredit.open_account('HFX-1', 1000);
SELECT customer, credit_limit FROM pgcredit.open_account('HFX-2', 500);
-- check_order says what an insert would do: 600 USD is 540 EUR, held;
-- 500 USD is 450 EUR, passes
SELECT verdict, kind FROM pgcredit.check_order('HFX-2', 600, 'hfx_order', currency => 'USD', rate_date => '2026-01-15');
SELECT verdict, kind FROM pgcredit.check_order('HFX-2', 500, 'hfx_order', currency => 'USD', rate_date => '2026-01-15');
SET client_min_messages = notice;

-- 1000 USD on 2026-01-15 is 900 EUR: it fits
INSERT INTO hfx_order VALUES (1, 'HFX-1', 1000, 'USD', '2026-01-15');
-- 200 USD on 2026-02-10 is 160 EUR: 1060 against 1000, held
INSERT INTO hfx_order VALUES (2, 'HFX-1', 200, 'USD', '2026-02-10');
-- an order in the account's currency, no currency named: held as before
INSERT INTO hfx_order VALUES (3, 'HFX-1', 150, NULL, NULL);
-- in euros, named: the rate date does not matter
INSERT INTO hfx_order VALUES (4, 'HFX-1', 120, 'EUR', NULL);
SET client_min_messages = warning;
SELECT id, held FROM hfx_order ORDER BY id;
SELECT open_orders FROM pgcredit.exposure WHERE customer = 'HFX-1';
SELECT customer, amount, order_amount, order_currency, rate_date, why
FROM pgcredit.held_orders WHERE customer = 'HFX-1' ORDER BY id;
SELECT kind, details - 'held_order' - 'table' AS details FROM pgcredit.alert
WHERE customer = 'HFX-1' ORDER BY id;
SELECT * FROM pgcredit.verify_exposure();

-- a missing rate is an error, never a hold of nothing
INSERT INTO hfx_order VALUES (5, 'HFX-1', 100, 'CHF', '2026-02-10');
\echo :LAST_ERROR_SQLSTATE
INSERT INTO hfx_order VALUES (5, 'HFX-1', 100, 'USD', '2025-12-31');
\echo :LAST_ERROR_SQLSTATE

-- a held order changed while held: its hold is closed and one opened for
-- the order as it is now, in its new currency
UPDATE hfx_order SET currency = 'GBP' WHERE id = 2;
SELECT id, held FROM hfx_order WHERE id = 2;
SELECT h.amount, h.row_amount, h.row_currency, h.rate_date, h.released_at IS NOT NULL AS closed, h.release_reason
FROM pgcredit.held_order h WHERE h.row_key = '{"id": "2"}' ORDER BY h.id;
-- the same converted amount in another currency is a change too: 230 GBP
-- (264.50 EUR) held, then 330.63 USD would be 264.50 EUR at 0.8
UPDATE hfx_order SET currency = 'USD', amount = 330.63 WHERE id = 2;
SELECT amount, order_amount, order_currency, rate_date FROM pgcredit.held_orders
WHERE row_key = '{"id": "2"}';

-- the release matches the row as held: changed behind the hold's back
-- (the guard not knowing: a superuser with triggers off)
SELECT id AS h2 FROM pgcredit.held_orders WHERE row_key = '{"id": "2"}' \gset
SET session_replication_role = replica;
UPDATE hfx_order SET ordered_on = '2026-01-20' WHERE id = 2;
RESET session_replication_role;
SET client_min_messages = notice;
DO $$
DECLARE
  detail text;
BEGIN
  PERFORM pgcredit.release_held_order((SELECT id FROM pgcredit.held_orders WHERE row_key = '{"id": "2"}'),
                                      'customer paid');
EXCEPTION WHEN object_not_in_prerequisite_state THEN
  GET STACKED DIAGNOSTICS detail = PG_EXCEPTION_DETAIL;
  RAISE NOTICE 'refused (%): %', SQLSTATE, detail;
END $$;
SET client_min_messages = warning;
SET session_replication_role = replica;
UPDATE hfx_order SET ordered_on = '2026-02-10' WHERE id = 2;
RESET session_replication_role;

-- the rate of its day is corrected while it waits: the release counts it
-- at the rate as it is now (330.63 USD at 0.85 = 281.04 EUR)
UPDATE pgcredit.fx_rate SET rate = 0.85 WHERE currency_from = 'USD' AND valid_from = '2026-02-01';
SELECT id = :h2 AS that_hold, released_at IS NOT NULL AS released FROM pgcredit.release_held_order(:h2, 'customer paid');
SELECT id, held FROM hfx_order WHERE id = 2;
SELECT open_orders FROM pgcredit.exposure WHERE customer = 'HFX-1';
SELECT * FROM pgcredit.verify_exposure();

-- reevaluate_held_orders: HFX-2's order of 700 USD (595 EUR at 0.85) waits
-- for a limit that carries it, then is released converted
INSERT INTO hfx_order VALUES (6, 'HFX-2', 700, 'USD', '2026-02-10');
SELECT held_order IS NOT NULL AS listed, customer, amount, outcome FROM pgcredit.reevaluate_held_orders()
WHERE customer = 'HFX-2';
SELECT credit_limit FROM pgcredit.set_credit_limit('HFX-2', 600, 'raised');
SELECT held_order IS NOT NULL AS listed, customer, amount, outcome FROM pgcredit.reevaluate_held_orders()
WHERE customer = 'HFX-2';
SELECT id, held FROM hfx_order WHERE id = 6;
SELECT customer, open_orders FROM pgcredit.exposure WHERE customer = 'HFX-2';
SELECT * FROM pgcredit.verify_exposure();

-- a multi-row insert: each held row's hold is recorded once stored
INSERT INTO hfx_order VALUES (7, 'HFX-2', 10, 'USD', '2026-02-10'), (8, 'HFX-2', 10, 'GBP', '2026-02-10');
SELECT customer, amount, order_amount, order_currency FROM pgcredit.held_orders
WHERE customer = 'HFX-2' ORDER BY id;
-- a held row deleted closes its hold
DELETE FROM hfx_order WHERE id = 8;
SELECT count(*) AS open_holds FROM pgcredit.held_orders WHERE customer = 'HFX-2';
SELECT * FROM pgcredit.verify_exposure();

-- Attacks, as the application's role (it writes orders, nothing else)
CREATE ROLE regress_hfx_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON hfx_order TO regress_hfx_app;
SET ROLE regress_hfx_app;
-- clearing the mark of an order that does not fit: held again, not counted
UPDATE hfx_order SET held = false WHERE id = 7;
SELECT id, held FROM hfx_order WHERE id = 7;
-- nor in a currency of a better rate: 10 GBP is 11.50 EUR
UPDATE hfx_order SET held = false, currency = 'GBP' WHERE id = 7;
SELECT id, held FROM hfx_order WHERE id = 7;
-- pgcredit's own functions for holds are not the application's
SELECT pgcredit._clear_hold_mark('hfx_order', '{"id": "7"}', 'HFX-2', 10, 'USD', '2026-02-10');
\echo :LAST_ERROR_SQLSTATE
SELECT pgcredit._record_hold_fx('hfx_order'::regclass, '{"id": "1"}', 'HFX-1', 0, 'x', 0, 'USD', NULL);
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
SELECT customer, open_orders FROM pgcredit.exposure WHERE customer = 'HFX-2';
SELECT customer, amount, order_amount, order_currency FROM pgcredit.held_orders
WHERE customer = 'HFX-2' ORDER BY id;
SELECT * FROM pgcredit.verify_exposure();
REVOKE ALL ON hfx_order FROM regress_hfx_app;
DROP ROLE regress_hfx_app;

SELECT relid FROM pgcredit.detach('hfx_order');
DROP TABLE hfx_order;
DELETE FROM pgcredit.override WHERE customer LIKE 'HFX-%';
DELETE FROM pgcredit.held_order WHERE customer LIKE 'HFX-%';
DELETE FROM pgcredit.alert WHERE customer LIKE 'HFX-%';
DELETE FROM pgcredit.exposure WHERE customer LIKE 'HFX-%';
DELETE FROM pgcredit.account WHERE customer LIKE 'HFX-%';
DELETE FROM pgcredit.audit_log WHERE customer LIKE 'HFX-%' OR action LIKE 'fx_rate%'
  OR action IN ('set_base_currency', 'attach_orders', 'detach');
DELETE FROM pgcredit.fx_rate;
SELECT base_currency FROM pgcredit.set_base_currency(NULL, 'single-currency book again');
DELETE FROM pgcredit.audit_log WHERE action = 'set_base_currency';

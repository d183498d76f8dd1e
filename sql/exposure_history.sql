-- Exposure history: every change of what the guard judges a customer by is
-- recorded, by the guard (C) and by the trigger on pgcredit.exposure (the
-- other changes), and exposure_at(customer, time) answers what the guard
-- judged by at any time.
\set SHOW_CONTEXT never
SET client_min_messages = warning;
-- the hold this test makes must not move the hold numbers the later tests
-- of the schedule see: the sequence is put back at the end
SELECT last_value AS hold_seq_last, is_called AS hold_seq_called
FROM pgcredit.held_order_id_seq \gset

CREATE TABLE eh_order (id int PRIMARY KEY, customer text NOT NULL, amount numeric(12,2) NOT NULL,
                       on_hold boolean NOT NULL DEFAULT false);
CREATE INDEX ON eh_order (customer);
SELECT kind FROM pgcredit.attach_orders('eh_order', 'customer', 'amount', mode => 'hold', hold_column => 'on_hold');
CREATE TABLE eh_invoice (id int PRIMARY KEY, customer text NOT NULL, open_amount numeric(12,2) NOT NULL);
CREATE INDEX ON eh_invoice (customer);
INSERT INTO eh_invoice VALUES (1, 'EH1', 250), (2, 'EH2', 40);

SELECT clock_timestamp() AS t0 \gset
SELECT customer FROM pgcredit.open_account('EH1', 1000, reason => 'history');
SELECT clock_timestamp() AS t1 \gset
-- receivables attached: one change each (the trigger's)
SELECT kind FROM pgcredit.attach_receivables('eh_invoice', 'customer', 'open_amount');
SELECT clock_timestamp() AS t2 \gset
-- orders: one change each (the guard's); a multi-row insert, one per row
INSERT INTO eh_order VALUES (1, 'EH1', 100);
INSERT INTO eh_order VALUES (2, 'EH1', 200), (3, 'EH1', 50);
SELECT clock_timestamp() AS t3 \gset
-- a rolled back order leaves nothing; a held one changes nothing
BEGIN;
INSERT INTO eh_order VALUES (4, 'EH1', 10);
ROLLBACK;
INSERT INTO eh_order VALUES (5, 'EH1', 900) RETURNING on_hold;
SELECT clock_timestamp() AS t4 \gset
-- a limit raised, a hold placed: the account's copies change
SELECT customer FROM pgcredit.set_credit_limit('EH1', 2000, 'raise');
SELECT customer FROM pgcredit.place_hold('EH1', 'check');
SELECT clock_timestamp() AS t5 \gset
SELECT customer FROM pgcredit.release_hold('EH1', 'checked');
-- a shipped order leaves open orders, an invoice comes
UPDATE eh_order SET amount = 0 WHERE id = 1;
INSERT INTO eh_invoice VALUES (3, 'EH1', 100);

SELECT customer, receivables, open_orders, has_account, credit_limit, status
FROM pgcredit.exposure_history WHERE customer LIKE 'EH%' ORDER BY changed_at, customer;

-- exposure_at at each time: what the guard judged by then
SELECT t.n, x.exposure, x.receivables, x.open_orders, x.limit_in_force, x.available_credit, x.status,
       x.changed_at <= t.at AS recorded_before
FROM (VALUES (0, :'t0'::timestamptz), (1, :'t1'), (2, :'t2'), (3, :'t3'), (4, :'t4'), (5, :'t5'),
             (6, clock_timestamp())) t(n, at)
LEFT JOIN LATERAL pgcredit.exposure_at('EH1', t.at) x ON true
ORDER BY t.n;
-- at the very time of each change: the held order of 900, added and taken
-- out again in its transaction, never was the exposure (the last change
-- of a transaction is what it committed)
SELECT h.open_orders AS recorded, x.open_orders AS judged_by
FROM pgcredit.exposure_history h, pgcredit.exposure_at('EH1', h.changed_at) x
WHERE h.customer = 'EH1' ORDER BY h.changed_at;
-- a customer without an account
SELECT exposure, has_account, limit_in_force, available_credit, status FROM pgcredit.exposure_at('EH2', clock_timestamp());
-- a customer never seen, a time before anything: no row
SELECT count(*) FROM pgcredit.exposure_at('nobody', clock_timestamp());
-- the latest change of each customer is its exposure row now
SELECT count(*) AS differing
FROM pgcredit.exposure e
JOIN LATERAL (SELECT * FROM pgcredit.exposure_history h WHERE h.customer = e.customer
              ORDER BY h.changed_at DESC LIMIT 1) h ON true
WHERE e.customer LIKE 'EH%'
  AND (h.receivables, h.open_orders, h.has_account, h.credit_limit, h.tolerance_pct, h.status)
      IS DISTINCT FROM (e.receivables, e.open_orders, e.has_account, e.credit_limit, e.tolerance_pct, e.status);

-- A temporary limit is in force on its days only; cover counts on its days
SELECT customer FROM pgcredit.set_temporary_limit('EH1', 5000, current_date + 10, 'season',
                                                   valid_from => current_date + 5);
SELECT limit_in_force FROM pgcredit.exposure_at('EH1', clock_timestamp());
SELECT limit_in_force FROM pgcredit.exposure_at('EH1', clock_timestamp() + interval '6 days');

-- Turned off, nothing is recorded; turned on again, the history goes on
-- from every customer's exposure as it stands
SELECT pgcredit.set_exposure_history(false, 'bulk load');
SELECT count(*) AS before FROM pgcredit.exposure_history WHERE customer LIKE 'EH%' \gset
INSERT INTO eh_order VALUES (6, 'EH1', 1);
SELECT customer FROM pgcredit.set_credit_limit('EH1', 3000, 'raise again');
SELECT count(*) - :before AS recorded_while_off FROM pgcredit.exposure_history WHERE customer LIKE 'EH%';
SELECT pgcredit.set_exposure_history(true, 'bulk load done');
SELECT count(*) - :before AS recorded_when_on_again FROM pgcredit.exposure_history WHERE customer LIKE 'EH%';
SELECT exposure, limit_in_force FROM pgcredit.exposure_at('EH1', clock_timestamp());
SELECT action, old_value, new_value FROM pgcredit.audit_log WHERE action = 'set_exposure_history' ORDER BY id;

-- Bad input
SELECT * FROM pgcredit.exposure_at(NULL, now());
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM pgcredit.exposure_at('EH1', NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM pgcredit.exposure_at('EH1', 'infinity');
\echo :LAST_ERROR_SQLSTATE
SELECT pgcredit.set_exposure_history(NULL, 'x');
\echo :LAST_ERROR_SQLSTATE
SELECT pgcredit.set_exposure_history(true, NULL);
\echo :LAST_ERROR_SQLSTATE

-- Who may: a reader reads the history; the application that writes
-- orders neither reads nor writes it; a role with nothing nothing; only
-- an administrator turns it off
CREATE ROLE regress_eh_app;
GRANT SELECT, INSERT, UPDATE ON eh_order TO regress_eh_app;
CREATE ROLE regress_eh_reader IN ROLE pgcredit_reader;
CREATE ROLE regress_eh_controller IN ROLE pgcredit_controller;
CREATE ROLE regress_eh_nobody;
SET ROLE regress_eh_reader;
SELECT exposure FROM pgcredit.exposure_at('EH1', clock_timestamp());
SELECT count(*) > 0 AS reads FROM pgcredit.exposure_history;
INSERT INTO pgcredit.exposure_history (customer, changed_at, receivables, open_orders, has_account, tolerance_pct, status)
VALUES ('EH1', now(), 0, 0, false, 0, 'ok');
\echo :LAST_ERROR_SQLSTATE
SET ROLE regress_eh_app;
INSERT INTO eh_order VALUES (7, 'EH1', 1);
SELECT count(*) FROM pgcredit.exposure_history;
\echo :LAST_ERROR_SQLSTATE
DELETE FROM pgcredit.exposure_history;
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM pgcredit.exposure_at('EH1', now());
\echo :LAST_ERROR_SQLSTATE
SET ROLE regress_eh_controller;
SELECT pgcredit.set_exposure_history(false, 'hide an order');
\echo :LAST_ERROR_SQLSTATE
SET ROLE regress_eh_nobody;
SELECT * FROM pgcredit.exposure_at('EH1', now());
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
-- the application's order was recorded, by the guard, as the table's
SELECT open_orders FROM pgcredit.exposure_at('EH1', clock_timestamp());

SELECT relid FROM pgcredit.detach('eh_order');
SELECT relid FROM pgcredit.detach('eh_invoice');
DROP TABLE eh_order, eh_invoice;
DELETE FROM pgcredit.held_order WHERE customer LIKE 'EH%';
DELETE FROM pgcredit.alert WHERE customer LIKE 'EH%';
DELETE FROM pgcredit.exposure WHERE customer LIKE 'EH%';
DELETE FROM pgcredit.exposure_history WHERE customer LIKE 'EH%';
DELETE FROM pgcredit.account WHERE customer LIKE 'EH%';
DROP ROLE regress_eh_app, regress_eh_reader, regress_eh_controller, regress_eh_nobody;
SELECT setval('pgcredit.held_order_id_seq', :hold_seq_last, :'hold_seq_called'::boolean) IS NOT NULL AS hold_numbers_kept;

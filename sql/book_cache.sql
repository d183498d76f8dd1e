-- The kept book: refresh_book() keeps every customer's receivable_stats()
-- of a day in book_cache, and receivable_stats() for every customer reads
-- it back for the customers whose ledger has not changed since (their
-- exposure.book_version is the one kept), computing the others again.
-- Every kind of change must be seen: a row of an attached receivables
-- table inserted, updated (also one that counts nowhere), moved to
-- another customer or deleted; the rates, attachments, settings and an
-- account's currency; another day; a transaction rolled back.  The
-- figures read must always be those computed from the ledger; a kept
-- row altered by hand shows where the kept book is read.
-- It runs in a database of its own, so that the book is this one alone.
\set SHOW_CONTEXT never
\set regress_db :DBNAME
SET client_min_messages = warning;
DROP DATABASE IF EXISTS regress_book_cache;
CREATE DATABASE regress_book_cache;
\c regress_book_cache
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE EXTENSION pgcredit;

-- 3,000 invoices of 150 customers over two years (the customers C0, C3,
-- C6... have paid every invoice)
CREATE TABLE bc_invoice (id int PRIMARY KEY, customer text, amount numeric(12,2) NOT NULL,
  open_amount numeric(12,2) NOT NULL, invoiced_on date, due date, paid_on date, currency text);
INSERT INTO bc_invoice
SELECT g, 'C' || (g * 7 % 150), (g * 104729 % 100000) / 100.0 + 1,
       CASE WHEN g % 3 = 0 THEN 0 ELSE (g * 104729 % 100000) / 100.0 + 1 END,
       date '2024-01-01' + g * 730 / 3000, date '2024-01-01' + g * 730 / 3000 + 30,
       CASE WHEN g % 3 = 0 THEN date '2024-01-01' + g * 730 / 3000 + 20 + g % 40 END, NULL
FROM generate_series(1, 3000) g;
SELECT base_currency FROM pgcredit.set_base_currency('EUR', 'the book is kept in euros');
SELECT (a).kind FROM (SELECT pgcredit.attach_receivables('bc_invoice', 'customer', 'open_amount', 'due',
  invoice_amount_column => 'amount', invoiced_column => 'invoiced_on', paid_column => 'paid_on',
  currency_column => 'currency', rate_date_column => 'invoiced_on') a) x;

-- The figures read against those computed, both ways: 0 rows differ,
-- for receivable_stats(), portfolio_stats() and the watchlist's newly
-- overdue items (_newly_overdue() with the settings' days)
CREATE FUNCTION bc_diff(d date) RETURNS bigint LANGUAGE sql AS $$
  SELECT (SELECT count(*) FROM (
    (SELECT * FROM pgcredit.receivable_stats(d) EXCEPT ALL SELECT * FROM pgcredit._receivable_stats_computed(d, NULL))
    UNION ALL
    (SELECT * FROM pgcredit._receivable_stats_computed(d, NULL) EXCEPT ALL SELECT * FROM pgcredit.receivable_stats(d))) x)
  + (SELECT count(*) FROM (
    (SELECT * FROM pgcredit.portfolio_stats(d) EXCEPT ALL SELECT * FROM pgcredit._receivable_portfolio(d))
    UNION ALL
    (SELECT * FROM pgcredit._receivable_portfolio(d) EXCEPT ALL SELECT * FROM pgcredit.portfolio_stats(d))) x)
  + (SELECT count(*) FROM pgcredit._settings_or_default() cfg, LATERAL (
    (SELECT * FROM pgcredit._newly_overdue(d, cfg.watch_overdue_days, cfg.watch_new_overdue_window)
     EXCEPT ALL SELECT * FROM pgcredit._receivable_newly_overdue(d, cfg.watch_overdue_days, cfg.watch_new_overdue_window))
    UNION ALL
    (SELECT * FROM pgcredit._receivable_newly_overdue(d, cfg.watch_overdue_days, cfg.watch_new_overdue_window)
     EXCEPT ALL SELECT * FROM pgcredit._newly_overdue(d, cfg.watch_overdue_days, cfg.watch_new_overdue_window))) x)
$$;
-- whether the kept book holds for a day, as receivable_stats() judges
CREATE FUNCTION bc_kept(d date) RETURNS boolean LANGUAGE sql AS $$
  SELECT b.day = d AND b.built_on = current_date AND b.built_generation = b.generation FROM pgcredit.book_state b
$$;
-- a kept row altered by hand: seen only where the kept row is read
CREATE FUNCTION bc_mark(c text) RETURNS void LANGUAGE sql AS $$
  UPDATE pgcredit.book_cache SET receivables = 123456789 WHERE customer = c
$$;
-- (every customer's rows, materialized: a filter on one customer would
-- reach receivable_stats(), which computes one customer's row)
CREATE FUNCTION bc_marked(d date, c text) RETURNS boolean LANGUAGE sql AS $$
  WITH s AS MATERIALIZED (SELECT * FROM pgcredit.receivable_stats(d))
  SELECT coalesce((SELECT receivables = 123456789 FROM s WHERE s.customer = c), false)
$$;

-- Nothing kept yet: computed
SELECT day, built_on, customers FROM pgcredit.book_state;
SELECT bc_kept('2025-06-30') AS kept, bc_diff('2025-06-30') AS differ;

-- Keep the book of a day: every customer, whole
SELECT * FROM pgcredit.refresh_book('2025-06-30');
SELECT day, built_on = current_date AS today, customers, bc_kept('2025-06-30') AS kept FROM pgcredit.book_state;
SELECT count(*) AS kept_rows, count(*) FILTER (WHERE in_book) AS in_book FROM pgcredit.book_cache;
SELECT bc_diff('2025-06-30') AS differ;
-- ...and read: a kept row altered shows
SELECT receivables AS c1_before FROM pgcredit.book_cache WHERE customer = 'C1' \gset
SELECT bc_mark('C1'), bc_mark('C2');
SELECT bc_marked('2025-06-30', 'C1') AS c1_read_kept, bc_marked('2025-06-30', 'C2') AS c2_read_kept;
-- another day is computed
SELECT bc_marked('2025-06-29', 'C1') AS other_day_read_kept, bc_diff('2025-06-29') AS differ;
-- the portfolio and the newly overdue items are read from the kept
-- shares too: altered by hand, they show (and are set back)
SELECT count(*) > 0 AS some_newly_overdue, sum(late_items) AS late_items
FROM pgcredit.book_cache WHERE late_items > 0;
SELECT dso, days_1_30 FROM pgcredit.portfolio_stats('2025-06-30') \gset p_
UPDATE pgcredit.book_cache SET days_1_30 = days_1_30 + 1000, dso_sales = 2 * dso_sales WHERE customer = 'C7';
SELECT days_1_30 = :p_days_1_30 + 1000 AS bands_read_kept, dso < :p_dso AS dso_read_kept
FROM pgcredit.portfolio_stats('2025-06-30');
UPDATE pgcredit.book_cache SET days_1_30 = days_1_30 - 1000, dso_sales = dso_sales / 2 WHERE customer = 'C7';
SELECT customer, late_items AS kept_late_items FROM pgcredit.book_cache WHERE late_items > 0 ORDER BY customer LIMIT 1 \gset
UPDATE pgcredit.book_cache SET late_items = late_items + 10 WHERE customer = :'customer';
SELECT n = :kept_late_items + 10 AS newly_overdue_read_kept
FROM pgcredit._settings_or_default() cfg,
     pgcredit._newly_overdue('2025-06-30', cfg.watch_overdue_days, cfg.watch_new_overdue_window) o
WHERE o.customer = :'customer';
UPDATE pgcredit.book_cache SET late_items = late_items - 10 WHERE customer = :'customer';
-- with other days than the kept ones: computed
SELECT count(*) = (SELECT count(*) FROM pgcredit._receivable_newly_overdue('2025-06-30', 20, 10)) AS other_days_computed
FROM pgcredit._newly_overdue('2025-06-30', 20, 10);

-- A new open invoice of C1: C1 computed again, C2 still read from the kept book
INSERT INTO bc_invoice VALUES (5001, 'C1', 500, 500, '2025-06-01', '2025-07-01', NULL);
SELECT bc_marked('2025-06-30', 'C1') AS c1_read_kept, bc_marked('2025-06-30', 'C2') AS c2_read_kept;
WITH s AS MATERIALIZED (SELECT * FROM pgcredit.receivable_stats('2025-06-30'))
SELECT s.receivables = :c1_before + 500 AS c1_has_it FROM s WHERE s.customer = 'C1';
-- the others' rows, as computed (C2 aside, altered by hand)
SELECT count(*) AS differ FROM (
  (SELECT * FROM pgcredit.receivable_stats('2025-06-30') WHERE customer <> 'C2'
   EXCEPT ALL SELECT * FROM pgcredit._receivable_stats_computed('2025-06-30', NULL) WHERE customer <> 'C2')
  UNION ALL
  (SELECT * FROM pgcredit._receivable_stats_computed('2025-06-30', NULL) WHERE customer <> 'C2'
   EXCEPT ALL SELECT * FROM pgcredit.receivable_stats('2025-06-30') WHERE customer <> 'C2')) x;
-- refresh_book() computes the changed customers only, and the hand-made
-- change of C2 stays (it is not recomputed)
SELECT * FROM pgcredit.refresh_book('2025-06-30');
SELECT bc_marked('2025-06-30', 'C2') AS c2_read_kept;
SELECT * FROM pgcredit.refresh_book('2025-06-30');

-- A day kept anew: nothing altered
SELECT whole FROM pgcredit.refresh_book('2025-06-29');
SELECT whole FROM pgcredit.refresh_book('2025-06-30');
SELECT bc_diff('2025-06-30') AS differ;

-- Each kind of change of a customer's row makes it be computed again
SELECT bc_mark('C3');
-- a paid invoice changed (it counts in no exposure)
UPDATE bc_invoice SET paid_on = paid_on - 1
WHERE id = (SELECT min(id) FROM bc_invoice WHERE customer = 'C3' AND paid_on IS NOT NULL AND invoiced_on <= '2025-06-30');
SELECT bc_marked('2025-06-30', 'C3') AS read_kept, bc_diff('2025-06-30') AS differ;
SELECT whole, computed FROM pgcredit.refresh_book('2025-06-30');
SELECT bc_mark('C4');
-- an open amount paid in part
UPDATE bc_invoice SET open_amount = open_amount / 2
WHERE id = (SELECT max(id) FROM bc_invoice WHERE customer = 'C4' AND open_amount > 0 AND invoiced_on <= '2025-06-30');
SELECT bc_marked('2025-06-30', 'C4') AS read_kept, bc_diff('2025-06-30') AS differ;
SELECT whole, computed FROM pgcredit.refresh_book('2025-06-30');
SELECT bc_mark('C3'), bc_mark('C4');
-- an invoice moved from C4 to C3: both
UPDATE bc_invoice SET customer = 'C3'
WHERE id = (SELECT max(id) FROM bc_invoice WHERE customer = 'C4' AND invoiced_on <= '2025-06-30');
SELECT bc_marked('2025-06-30', 'C3') AS c3_read_kept, bc_marked('2025-06-30', 'C4') AS c4_read_kept,
       bc_diff('2025-06-30') AS differ;
SELECT whole, computed FROM pgcredit.refresh_book('2025-06-30');
SELECT bc_mark('C3');
-- a paid invoice deleted
DELETE FROM bc_invoice
WHERE id = (SELECT min(id) FROM bc_invoice WHERE customer = 'C3' AND paid_on IS NOT NULL AND invoiced_on <= '2025-06-30');
SELECT bc_marked('2025-06-30', 'C3') AS read_kept, bc_diff('2025-06-30') AS differ;
SELECT whole, computed FROM pgcredit.refresh_book('2025-06-30');
-- a new customer with a paid invoice only (no exposure row before)
SELECT count(*) AS exposure_rows FROM pgcredit.exposure WHERE customer = 'NEW';
INSERT INTO bc_invoice VALUES (5002, 'NEW', 80, 0, '2025-05-01', '2025-05-31', '2025-05-20');
SELECT count(*) AS exposure_rows, bool_and(book_version IS NOT NULL) AS has_version
FROM pgcredit.exposure WHERE customer = 'NEW';
SELECT last_payment FROM pgcredit.receivable_stats('2025-06-30') WHERE customer = 'NEW';
SELECT bc_diff('2025-06-30') AS differ;
SELECT whole, computed FROM pgcredit.refresh_book('2025-06-30');
SELECT last_payment FROM pgcredit.book_cache WHERE customer = 'NEW';

-- A change rolled back leaves the kept row valid
SELECT bc_mark('C5');
BEGIN;
INSERT INTO bc_invoice VALUES (5003, 'C5', 10, 10, '2025-06-01', '2025-07-01', NULL);
SELECT bc_marked('2025-06-30', 'C5') AS read_kept_in_transaction;
ROLLBACK;
SELECT bc_marked('2025-06-30', 'C5') AS read_kept_after_rollback;
-- and one rolled back to a savepoint
BEGIN;
SAVEPOINT s;
INSERT INTO bc_invoice VALUES (5003, 'C5', 10, 10, '2025-06-01', '2025-07-01', NULL);
ROLLBACK TO SAVEPOINT s;
SELECT bc_marked('2025-06-30', 'C5') AS read_kept_after_savepoint;
COMMIT;

-- Kept, changed and changed again in one transaction
BEGIN;
INSERT INTO bc_invoice VALUES (5004, 'C5', 10, 10, '2025-06-01', '2025-07-01', NULL);
SELECT whole, computed FROM pgcredit.refresh_book('2025-06-30');
SELECT bc_mark('C5');
UPDATE bc_invoice SET open_amount = 4 WHERE id = 5004;
SELECT bc_marked('2025-06-30', 'C5') AS read_kept, bc_diff('2025-06-30') AS differ;
COMMIT;
SELECT whole, computed FROM pgcredit.refresh_book('2025-06-30');
SELECT bc_diff('2025-06-30') AS differ;

-- Changes beyond the ledger's rows: the whole book is computed
SELECT bc_mark('C6');
SELECT bc_marked('2025-06-30', 'C6') AS read_kept;
-- a rate
INSERT INTO pgcredit.fx_rate (currency_from, currency_to, valid_from, rate) VALUES ('USD', 'EUR', '2020-01-01', 0.9);
SELECT bc_kept('2025-06-30') AS kept, bc_marked('2025-06-30', 'C6') AS read_kept, bc_diff('2025-06-30') AS differ;
SELECT whole FROM pgcredit.refresh_book('2025-06-30');
-- the settings, then an account's currency
SELECT pgcredit.set_exposure_history(false, 'a test of the kept book');
SELECT bc_kept('2025-06-30') AS kept;
SELECT pgcredit.set_exposure_history(true, 'a test of the kept book');
SELECT whole FROM pgcredit.refresh_book('2025-06-30');
INSERT INTO pgcredit.account (customer, credit_limit) VALUES ('C6', 1000), ('D1', 1000);
SELECT bc_kept('2025-06-30') AS kept_after_accounts_without_currency;
SELECT customer, currency FROM pgcredit.set_account_currency('D1', 'USD', 'billed in dollars');
SELECT bc_kept('2025-06-30') AS kept, bc_marked('2025-06-30', 'C6') AS read_kept, bc_diff('2025-06-30') AS differ;
SELECT whole FROM pgcredit.refresh_book('2025-06-30');
-- invoices in euros of D1: converted into its account's dollars; and
-- of C6 in dollars, into euros
INSERT INTO pgcredit.fx_rate (currency_from, currency_to, valid_from, rate) VALUES ('EUR', 'USD', '2020-01-01', 1.1);
SELECT whole FROM pgcredit.refresh_book('2025-06-30');
INSERT INTO bc_invoice VALUES (5010, 'D1', 90, 90, '2025-06-01', '2025-07-01', NULL, 'EUR'),
                              (5011, 'D1', 10, 0, '2025-05-01', '2025-06-01', '2025-06-10', 'EUR');
UPDATE bc_invoice SET currency = 'USD' WHERE customer = 'C6' AND id % 2 = 0;
SELECT customer, receivables, last_payment FROM pgcredit.receivable_stats('2025-06-30') WHERE customer = 'D1';
SELECT bc_diff('2025-06-30') AS differ;
SELECT whole, computed FROM pgcredit.refresh_book('2025-06-30');
SELECT bc_diff('2025-06-30') AS differ;
-- a table attached
CREATE TABLE bc_other (id int PRIMARY KEY, customer text NOT NULL, amount numeric NOT NULL, due date);
INSERT INTO bc_other VALUES (1, 'C7', 70, '2025-01-01');
SELECT (a).kind FROM (SELECT pgcredit.attach_receivables('bc_other', 'customer', 'amount', 'due') a) x;
SELECT bc_kept('2025-06-30') AS kept, bc_diff('2025-06-30') AS differ;
SELECT whole FROM pgcredit.refresh_book('2025-06-30');
-- exposure rebuilt (rows may have changed without the guard)
SELECT pgcredit.rebuild_exposure() AS fixed;
SELECT bc_kept('2025-06-30') AS kept;
SELECT whole FROM pgcredit.refresh_book('2025-06-30');
-- detached
SELECT (pgcredit.detach('bc_other')).relid AS detached;
SELECT bc_kept('2025-06-30') AS kept, bc_diff('2025-06-30') AS differ;
SELECT whole FROM pgcredit.refresh_book('2025-06-30');
-- TRUNCATE of an attached table
SELECT (a).kind FROM (SELECT pgcredit.attach_receivables('bc_other', 'customer', 'amount', 'due') a) x;
SELECT whole FROM pgcredit.refresh_book('2025-06-30');
TRUNCATE bc_other;
SELECT bc_kept('2025-06-30') AS kept, bc_diff('2025-06-30') AS differ;
SELECT (pgcredit.detach('bc_other')).relid AS detached;

-- More customers changed than are worth computing one by one (at least
-- 100): the whole book, by receivable_stats() and by refresh_book()
SELECT whole FROM pgcredit.refresh_book('2025-06-30');
SELECT bc_mark('C149');
UPDATE bc_invoice SET due = due + 1 WHERE customer IN (SELECT 'C' || g FROM generate_series(0, 100) g);
SELECT bc_kept('2025-06-30') AS kept, bc_marked('2025-06-30', 'C149') AS unchanged_read_kept,
       bc_diff('2025-06-30') AS differ;
SELECT whole, computed FROM pgcredit.refresh_book('2025-06-30');

-- An item disputed on the day, out of the score: nothing is kept
INSERT INTO pgcredit.risk_settings (disputed_in_score) VALUES (false);
SELECT id AS disputed_item FROM bc_invoice WHERE customer = 'C8' AND open_amount > 0 ORDER BY id LIMIT 1 \gset
SELECT (pgcredit.open_dispute('bc_invoice', jsonb_build_object('id', :disputed_item), 'wrong price',
                              '2025-06-01')).id IS NOT NULL AS opened;
SELECT * FROM pgcredit.refresh_book('2025-06-30');
SELECT day, customers FROM pgcredit.book_state;
SELECT bc_diff('2025-06-30') AS differ;
DELETE FROM pgcredit.risk_settings;
SELECT whole FROM pgcredit.refresh_book('2025-06-30');
SELECT bc_diff('2025-06-30') AS differ;

-- The views read it: customer_risk with the kept book equals it computed
CREATE TABLE bc_risk AS SELECT * FROM pgcredit.customer_risk_at('2025-06-30');
UPDATE pgcredit.book_state SET day = NULL;
SELECT bc_kept('2025-06-30') AS kept, count(*) AS differ FROM (
  (SELECT * FROM bc_risk EXCEPT ALL SELECT * FROM pgcredit.customer_risk_at('2025-06-30'))
  UNION ALL (SELECT * FROM pgcredit.customer_risk_at('2025-06-30') EXCEPT ALL SELECT * FROM bc_risk)) x;
SELECT count(*) > 140 AS many_rows FROM bc_risk;
-- refresh_scores() of today keeps today's book
SELECT customers > 0 AS scored FROM pgcredit.refresh_scores(current_date);
SELECT day = current_date AS today_kept, bc_kept(current_date) AS kept FROM pgcredit.book_state;
SELECT bc_diff(current_date) AS differ;

-- Rights: refresh_book() is the controller's; the kept book is read by
-- readers and written by no one else; an application role's writes to
-- an attached table need no right on it
CREATE ROLE regress_bc_reader IN ROLE pgcredit_reader;
CREATE ROLE regress_bc_controller IN ROLE pgcredit_controller;
CREATE ROLE regress_bc_nobody;
CREATE ROLE regress_bc_app;
GRANT SELECT, INSERT, UPDATE ON bc_invoice TO regress_bc_app;
SET ROLE regress_bc_reader;
SELECT * FROM pgcredit.refresh_book('2025-06-30');
UPDATE pgcredit.book_cache SET receivables = 0;
UPDATE pgcredit.book_state SET generation = 0;
SELECT count(*) > 0 AS reads FROM pgcredit.book_cache;
RESET ROLE;
SET ROLE regress_bc_nobody;
SELECT * FROM pgcredit.refresh_book('2025-06-30');
SELECT count(*) FROM pgcredit.book_cache;
SELECT count(*) FROM pgcredit.book_state;
RESET ROLE;
SET ROLE regress_bc_controller;
SELECT whole FROM pgcredit.refresh_book('2025-06-30');
DELETE FROM pgcredit.book_cache;
RESET ROLE;
SELECT bc_mark('C9');
SET ROLE regress_bc_app;
INSERT INTO bc_invoice VALUES (5005, 'C9', 90, 90, '2025-06-01', '2025-07-01', NULL);
UPDATE pgcredit.exposure SET book_version = 0 WHERE customer = 'C9';
SELECT nextval('pgcredit.book_version_seq');
RESET ROLE;
SELECT bc_marked('2025-06-30', 'C9') AS read_kept, bc_diff('2025-06-30') AS differ;

-- A table's owner may disable the guard on its table (doc/security.md):
-- its writes then give no version, and the kept book, as exposure, falls
-- behind until rebuild_exposure() repairs both
CREATE ROLE regress_bc_owner;
SELECT whole FROM pgcredit.refresh_book('2025-06-30');
ALTER TABLE bc_invoice OWNER TO regress_bc_owner;
SET ROLE regress_bc_owner;
ALTER TABLE bc_invoice DISABLE TRIGGER zz_pgcredit_guard;
UPDATE bc_invoice SET open_amount = open_amount + 1 WHERE id = 5005;
ALTER TABLE bc_invoice ENABLE TRIGGER zz_pgcredit_guard;
RESET ROLE;
SELECT bc_kept('2025-06-30') AS kept, bc_diff('2025-06-30') > 0 AS behind,
       (SELECT count(*) FROM pgcredit.verify_exposure()) AS exposure_mismatches;
SELECT pgcredit.rebuild_exposure() AS fixed;
SELECT bc_kept('2025-06-30') AS kept, bc_diff('2025-06-30') AS differ,
       (SELECT count(*) FROM pgcredit.verify_exposure()) AS exposure_mismatches;

\c :regress_db
DROP DATABASE regress_book_cache;
DROP ROLE regress_bc_reader, regress_bc_controller, regress_bc_nobody, regress_bc_app, regress_bc_owner;

-- Expected credit loss, IFRS 9 simplified approach: a provision matrix of
-- loss rates per aging band, fixed by hand or computed from the ledger's
-- roll rates, times a forward-looking factor; the loss allowance per
-- customer and for the book.  Both methods are checked against figures
-- worked out by hand below.  In a database of its own.
\set SHOW_CONTEXT never
\set regress_db :DBNAME
SET client_min_messages = warning;
DROP DATABASE IF EXISTS regress_provision;
CREATE DATABASE regress_provision;
\c regress_provision
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE EXTENSION pgcredit;
SET pgcredit.horizon_today = '2025-06-30';

----------------------------------------------------------------------
-- 1. A fixed matrix on a known book.  The book of the standard's
-- illustrative provision matrix (IFRS 9, IE74-IE77): 15,000,000 not yet
-- due, 7,500,000 1-30 days past due, 4,000,000 31-60, 2,500,000 61-90,
-- 1,000,000 over 90, at rates of 0.3 %, 1.6 %, 3.6 %, 6.6 % and 10.6 %.
-- By hand: 15,000,000 x 0.003 = 45,000; 7,500,000 x 0.016 = 120,000;
-- 4,000,000 x 0.036 = 144,000; 2,500,000 x 0.066 = 165,000;
-- 1,000,000 x 0.106 = 106,000; in all 580,000.
----------------------------------------------------------------------
CREATE TABLE pv_invoice (id int PRIMARY KEY, customer text NOT NULL, amount numeric(14,2) NOT NULL,
  open_amount numeric(14,2) NOT NULL, invoiced_on date NOT NULL, due date, paid_on date);
INSERT INTO pv_invoice VALUES
  (1, 'P1', 10000000, 10000000, '2025-06-15', '2025-07-15', NULL),
  (2, 'P2',  5000000,  5000000, '2025-06-15', '2025-07-15', NULL),
  (3, 'P1',  7500000,  7500000, '2025-05-16', '2025-06-15', NULL),
  (4, 'P2',  4000000,  4000000, '2025-04-15', '2025-05-15', NULL),
  (5, 'P1',  2500000,  2500000, '2025-03-16', '2025-04-15', NULL),
  (6, 'P2',  1000000,  1000000, '2025-01-30', '2025-03-01', NULL);
SELECT (a).kind FROM (SELECT pgcredit.attach_receivables('pv_invoice', 'customer', 'open_amount', 'due',
  invoice_amount_column => 'amount', invoiced_column => 'invoiced_on', paid_column => 'paid_on') a) x;

-- no matrix yet: no provision
SELECT band, receivables, loss_rate, provision FROM pgcredit.provision_at('2025-06-30');
SELECT method, months, forward_factor FROM pgcredit.set_provision_settings('fixed', 12, 1, 'the standard''s example');
SELECT band, loss_rate FROM pgcredit.set_provision_rates(0.003, 0.016, 0.036, 0.066, 0.106, 'the standard''s example');
SELECT band, loss_rate, adjusted_rate, method FROM pgcredit.refresh_provision_matrix('2025-06-30');
SELECT band, receivables, loss_rate, provision FROM pgcredit.provision_at('2025-06-30');
SELECT sum(provision) AS book_provision FROM pgcredit.provision_at('2025-06-30');
-- per customer: P1 10,000,000 x 0.003 + 7,500,000 x 0.016 + 2,500,000 x 0.066 = 315,000;
-- P2 5,000,000 x 0.003 + 4,000,000 x 0.036 + 1,000,000 x 0.106 = 265,000
SELECT customer, receivables, provision_current, provision_1_30, provision_31_60, provision_61_90,
       provision_over_90, provision, coverage_pct, day
FROM pgcredit.expected_credit_loss_at('2025-06-30') ORDER BY customer;
-- a forward-looking factor of 1.1: every rate 10 % higher, 638,000
SELECT forward_factor FROM pgcredit.set_provision_settings('fixed', 12, 1.1, 'a downturn expected');
SELECT band, adjusted_rate FROM pgcredit.refresh_provision_matrix('2025-06-30');
SELECT sum(provision) AS book_provision FROM pgcredit.provision_at('2025-06-30');

----------------------------------------------------------------------
-- 2. Roll rates on a history worked out by hand: two months before
-- 2025-03-31 (month ends 01-31, 02-28, 03-31), one customer's invoices
--   A 1000 due 02-10, never paid       B 500 due 02-15, paid 03-05
--   C  200 due 01-20, never paid       D 300 due 2024-11-25, never paid
--   E  400 due 2024-10-01, paid (cleared) 02-20 and written off that day
--   F  800 due 03-20, invoiced 02-18
-- Bands at 01-31: current A B, 1-30 C, 61-90 D, over 90 E; at 02-28:
-- current F, 1-30 A B, 31-60 C, over 90 D; at 03-31: 1-30 F, 31-60 A,
-- 61-90 C, over 90 D.  So, item by item, a month apart:
--   current 1500 + 800 = 2300, rolled on 1500 + 800 = 2300: rate 1
--   1-30 200 + 1500 = 1700, rolled on 200 (C) + 1000 (A; B was paid):
--     1200 / 1700 = 0.705882
--   31-60 200, rolled on 200: 1;  61-90 300, rolled on 300: 1
--   over 90 400 + 300 = 700; written off in the two months 400:
--     400 / 700 = 0.571429
-- Loss rates, the products to a write-off: over 90, 61-90 and 31-60
-- 0.571429; 1-30 and current 0.705882 x 0.571429 = 0.403361.
----------------------------------------------------------------------
CREATE TABLE pv_history (id int PRIMARY KEY, customer text NOT NULL, amount numeric(12,2) NOT NULL,
  open_amount numeric(12,2) NOT NULL, invoiced_on date NOT NULL, due date, paid_on date);
SELECT (a).kind FROM (SELECT pgcredit.attach_receivables('pv_history', 'customer', 'open_amount', 'due',
  invoice_amount_column => 'amount', invoiced_column => 'invoiced_on', paid_column => 'paid_on') a) x;
SELECT (pgcredit.detach('pv_invoice')).relid AS first_book_detached;
INSERT INTO pv_history VALUES
  (1, 'H', 1000, 1000, '2025-01-11', '2025-02-10', NULL),
  (2, 'H',  500,    0, '2025-01-16', '2025-02-15', '2025-03-05'),
  (3, 'H',  200,  200, '2024-12-21', '2025-01-20', NULL),
  (4, 'H',  300,  300, '2024-10-26', '2024-11-25', NULL),
  (5, 'H',  400,    0, '2024-09-01', '2024-10-01', '2025-02-20'),
  (6, 'H',  800,  800, '2025-02-18', '2025-03-20', NULL),
  (7, 'H',   90,   90, '2025-01-05', NULL, NULL);
SELECT amount FROM pgcredit.write_off('H', 400, '2025-02-20', 'E given up');
SELECT * FROM pgcredit.roll_rates('2025-03-31', 2);
SELECT method, months FROM pgcredit.set_provision_settings('roll_rate', 2, 1, 'two months of history');
SELECT band, roll_rate, loss_rate, adjusted_rate, method, months, from_month_end, to_month_end
FROM pgcredit.refresh_provision_matrix('2025-03-31');
-- H on 03-31: 800 x 0.403361 + 1000 x 0.571429 + 200 x 0.571429 + 300 x 0.571429
-- = 322.6888 + 571.429 + 114.2858 + 171.4287 = 1,179.83 (the item without a
-- due date is in no band)
SELECT customer, receivables, provision, coverage_pct FROM pgcredit.expected_credit_loss_at('2025-03-31');
-- a recovery in the window lowers the net loss: (400 - 100) / 700
SELECT amount FROM pgcredit.record_recovery((SELECT max(id) FROM pgcredit.write_off), 100, '2025-03-10', 'dividend');
SELECT band, rolled, roll_rate FROM pgcredit.roll_rates('2025-03-31', 2) WHERE band = 'over_90';

-- Bad input changes nothing
SELECT pgcredit.set_provision_settings('guess', 12, 1, 'r');
SELECT pgcredit.set_provision_settings('roll_rate', 0, 1, 'r');
SELECT pgcredit.set_provision_settings('roll_rate', NULL, 1, 'r');
SELECT pgcredit.set_provision_settings('roll_rate', 12, 'NaN', 'r');
SELECT pgcredit.set_provision_settings('roll_rate', 12, -1, 'r');
SELECT pgcredit.set_provision_settings('roll_rate', 12, 1, NULL);
SELECT pgcredit.set_provision_rates(0.01, 0.02, 0.03, 1.2, 0.5, 'r');
SELECT pgcredit.set_provision_rates(0.01, NULL, 0.03, 0.2, 0.5, 'r');
SELECT pgcredit.set_provision_rates(0.01, 'NaN', 0.03, 0.2, 0.5, 'r');
SELECT pgcredit.roll_rates('2025-03-31', 0);
SELECT pgcredit.roll_rates(NULL, 2);
SELECT count(*) FROM pgcredit.expected_credit_loss_at(NULL);
SELECT count(*) FROM pgcredit.provision_at('infinity');
SELECT method, months, forward_factor FROM pgcredit.provision_settings;
SELECT band, loss_rate FROM pgcredit.provision_rate ORDER BY loss_rate;

-- Rights: controllers set and refresh, readers read
CREATE ROLE regress_pv_reader IN ROLE pgcredit_reader;
CREATE ROLE regress_pv_nobody;
SET ROLE regress_pv_reader;
SELECT count(*) AS rows FROM pgcredit.expected_credit_loss_at('2025-03-31');
SELECT count(*) AS bands FROM pgcredit.roll_rates('2025-03-31', 2);
SELECT pgcredit.refresh_provision_matrix('2025-03-31');
SELECT pgcredit.set_provision_settings('fixed', 12, 1, 'reader');
UPDATE pgcredit.provision_matrix SET adjusted_rate = 0;
RESET ROLE;
SET ROLE regress_pv_nobody;
SELECT count(*) FROM pgcredit.provision;
SELECT count(*) FROM pgcredit.roll_rates('2025-03-31', 2);
RESET ROLE;

\c :regress_db
DROP DATABASE regress_provision;
DROP ROLE regress_pv_reader, regress_pv_nobody;

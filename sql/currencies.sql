-- Currencies: an account is kept in a currency (its own, else the book's
-- base currency); an attached table may name a currency column and a
-- rate date column.  A row in another currency than its account's counts
-- converted with the rate of pgcredit.fx_rate valid on its rate date (the
-- latest valid_from on or before it), rounded to 2 places, halves away
-- from zero.  A missing rate is an error (PC015), never a zero; a credit
-- group sums members kept in its own currency only (PC016).
\set SHOW_CONTEXT never
SET client_min_messages = warning;

CREATE TABLE fx_order (id serial PRIMARY KEY, customer text NOT NULL, amount numeric(12,2) NOT NULL,
                       currency char(3), ordered_on date, status text NOT NULL DEFAULT 'open',
                       held boolean NOT NULL DEFAULT false);
CREATE TABLE fx_invoice (id serial PRIMARY KEY, customer text NOT NULL, open_amount numeric(12,2) NOT NULL,
                         currency text, invoiced_on date, due date);

-- without a base currency, nothing is converted: a currency column is refused
SELECT pgcredit.attach_orders('fx_order', 'customer', 'amount', currency_column => 'currency',
                              rate_date_column => 'ordered_on');
\echo :LAST_ERROR_SQLSTATE
SELECT base_currency FROM pgcredit.set_base_currency('euro', 'book');
SELECT base_currency FROM pgcredit.set_base_currency('EUR', NULL);
SELECT base_currency FROM pgcredit.set_base_currency('EUR', 'the book is kept in euros');

-- Rates: one unit of currency_from is worth rate units of currency_to
INSERT INTO pgcredit.fx_rate (currency_from, currency_to, valid_from, rate) VALUES
  ('USD', 'EUR', '2026-01-01', 0.9),
  ('USD', 'EUR', '2026-02-01', 0.8),
  ('GBP', 'EUR', '2026-01-01', 1.15),
  ('CHF', 'EUR', '2026-01-01', 0.5),
  ('EUR', 'USD', '2026-01-01', 1.1);
-- refused rates: not finite, not above 0, codes that are not ISO 4217 codes
\set VERBOSITY terse
INSERT INTO pgcredit.fx_rate (currency_from, currency_to, valid_from, rate) VALUES ('SEK', 'EUR', '2026-01-01', 'NaN');
INSERT INTO pgcredit.fx_rate (currency_from, currency_to, valid_from, rate) VALUES ('SEK', 'EUR', '2026-01-01', 'Infinity');
INSERT INTO pgcredit.fx_rate (currency_from, currency_to, valid_from, rate) VALUES ('SEK', 'EUR', '2026-01-01', 0);
INSERT INTO pgcredit.fx_rate (currency_from, currency_to, valid_from, rate) VALUES ('SEK', 'EUR', '2026-01-01', -0.09);
INSERT INTO pgcredit.fx_rate (currency_from, currency_to, valid_from, rate) VALUES ('SEK', 'EUR', '2026-01-01', NULL);
INSERT INTO pgcredit.fx_rate (currency_from, currency_to, valid_from, rate) VALUES ('sek', 'EUR', '2026-01-01', 0.09);
INSERT INTO pgcredit.fx_rate (currency_from, currency_to, valid_from, rate) VALUES ('SEKR', 'EUR', '2026-01-01', 0.09);
INSERT INTO pgcredit.fx_rate (currency_from, currency_to, valid_from, rate) VALUES ('EUR', 'EUR', '2026-01-01', 1);
INSERT INTO pgcredit.fx_rate (currency_from, currency_to, valid_from, rate) VALUES ('SEK', 'EUR', 'infinity', 0.09);
INSERT INTO pgcredit.fx_rate (currency_from, currency_to, valid_from, rate) VALUES ('USD', 'EUR', '2026-01-01', 0.91);
\set VERBOSITY default
SELECT count(*) AS rates FROM pgcredit.fx_rate;
-- every change of a rate is audited
SELECT action, new_value ->> 'currency_from' AS "from", new_value ->> 'rate' AS rate
FROM pgcredit.audit_log WHERE action LIKE 'fx_rate%' ORDER BY id;

-- The conversion: the rate valid on the day, 2 places, halves away from zero
SELECT d, pgcredit.fx_convert(100, 'USD', 'EUR', d) AS eur
FROM unnest('{2026-01-01,2026-01-31,2026-02-01,2027-06-30}'::date[]) d;
SELECT a, pgcredit.fx_convert(a, 'CHF', 'EUR', '2026-01-01') AS eur
FROM unnest('{0.01,-0.01,0.03,1.005,-1.005}'::numeric[]) a;
SELECT pgcredit.fx_convert(100, 'EUR', 'EUR', '1900-01-01') AS same_currency;
-- a missing rate is an error naming the currencies and the day, never 0
SELECT pgcredit.fx_convert(100, 'USD', 'EUR', '2025-12-31');
\echo :LAST_ERROR_SQLSTATE
SELECT pgcredit.fx_convert(100, 'SEK', 'EUR', '2026-01-01');
\echo :LAST_ERROR_SQLSTATE
SELECT pgcredit.fx_convert(100, 'XYZ', 'EUR', '2026-01-01');
SELECT pgcredit.fx_convert(100, 'usd', 'EUR', '2026-01-01');
SELECT pgcredit.fx_convert('NaN', 'USD', 'EUR', '2026-01-01');
SELECT pgcredit.fx_convert(100, 'USD', 'EUR', 'infinity');

-- Attaching: the currency column must be text, with a rate date column
SELECT pgcredit.attach_orders('fx_order', 'customer', 'amount', currency_column => 'currency');
SELECT pgcredit.attach_orders('fx_order', 'customer', 'amount', currency_column => 'amount',
                              rate_date_column => 'ordered_on');
SELECT pgcredit.attach_orders('fx_order', 'customer', 'amount', currency_column => 'currency',
                              rate_date_column => 'status');
SELECT pgcredit.attach_orders('fx_order', 'customer', 'amount', rate_date_column => 'ordered_on');
-- a row there before attaching without a rate refuses the attachment
CREATE TABLE fx_old (customer text, amount numeric, currency text, day date);
INSERT INTO fx_old VALUES ('FX-A', 10, 'SEK', '2026-01-01');
SELECT pgcredit.attach_receivables('fx_old', 'customer', 'amount', currency_column => 'currency',
                                   rate_date_column => 'day');
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) AS attached FROM pgcredit.attachment WHERE relid = 'fx_old'::regclass;
DROP TABLE fx_old;
-- an order there before attaching counts converted
INSERT INTO fx_order (customer, amount, currency, ordered_on) VALUES ('FX-A', 100, 'USD', '2026-01-10');
SELECT currency_column, rate_date_column
FROM pgcredit.attach_orders('fx_order', 'customer', 'amount', 'status', '{open}',
                            currency_column => 'currency', rate_date_column => 'ordered_on');
SELECT currency_column, rate_date_column
FROM pgcredit.attach_receivables('fx_invoice', 'customer', 'open_amount', 'due',
                                 currency_column => 'currency', rate_date_column => 'invoiced_on');
-- the base currency stays while such tables are attached
SELECT pgcredit.set_base_currency('USD', 'move the book');
\echo :LAST_ERROR_SQLSTATE

SELECT customer, credit_limit, currency FROM pgcredit.open_account('FX-A', 1000);
SELECT customer, open_orders, currency FROM pgcredit.exposure WHERE customer = 'FX-A';

-- Orders in the account's currency, in none (NULL: the account's) and in
-- foreign ones: 90 + 200 + 50 + 0.9 * 500 (January) + 0.8 * 250 (February)
INSERT INTO fx_order (customer, amount, currency, ordered_on) VALUES ('FX-A', 200, 'EUR', NULL);
INSERT INTO fx_order (customer, amount, currency, ordered_on) VALUES ('FX-A', 50, NULL, NULL);
INSERT INTO fx_order (customer, amount, currency, ordered_on) VALUES ('FX-A', 500, 'USD', '2026-01-20');
INSERT INTO fx_order (customer, amount, currency, ordered_on) VALUES ('FX-A', 250, 'USD', '2026-02-03');
SELECT open_orders FROM pgcredit.exposure WHERE customer = 'FX-A';
-- 10 EUR of credit left: 12.50 USD (10.00 EUR in February) fits, 12.51 does not
INSERT INTO fx_order (customer, amount, currency, ordered_on) VALUES ('FX-A', 12.51, 'USD', '2026-02-03');
\echo :LAST_ERROR_SQLSTATE
INSERT INTO fx_order (customer, amount, currency, ordered_on) VALUES ('FX-A', 12.50, 'USD', '2026-02-03');
SELECT open_orders FROM pgcredit.exposure WHERE customer = 'FX-A';

-- refused rows change nothing: a missing rate (PC015), an unknown or
-- malformed code, a foreign row without a rate date
INSERT INTO fx_order (customer, amount, currency, ordered_on) VALUES ('FX-A', -100, 'USD', '2025-12-01');
\echo :LAST_ERROR_SQLSTATE
INSERT INTO fx_order (customer, amount, currency, ordered_on) VALUES ('FX-A', -100, 'XYZ', '2026-01-10');
\echo :LAST_ERROR_SQLSTATE
INSERT INTO fx_order (customer, amount, currency, ordered_on) VALUES ('FX-A', -100, 'us$', '2026-01-10');
INSERT INTO fx_order (customer, amount, currency, ordered_on) VALUES ('FX-A', -100, 'USD', NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT open_orders FROM pgcredit.exposure WHERE customer = 'FX-A';

-- a row leaves exposure with exactly what it brought: cancel, change, delete
UPDATE fx_order SET status = 'cancelled' WHERE amount = 500;
SELECT open_orders FROM pgcredit.exposure WHERE customer = 'FX-A';
UPDATE fx_order SET amount = 600, currency = 'GBP' WHERE amount = 250;   -- 200 EUR become 690: too much
\echo :LAST_ERROR_SQLSTATE
UPDATE fx_order SET amount = 100, currency = 'GBP' WHERE amount = 250;   -- 200 EUR become 115
UPDATE fx_order SET ordered_on = '2026-01-31' WHERE amount = 12.50;      -- 11.25 EUR
SELECT open_orders FROM pgcredit.exposure WHERE customer = 'FX-A';
DELETE FROM fx_order WHERE currency = 'GBP';
SELECT open_orders FROM pgcredit.exposure WHERE customer = 'FX-A';
SELECT * FROM pgcredit.verify_exposure();

-- OCA/credit-control #314: an invoice in a foreign currency counts
-- converted, not as its amount in the company's currency
INSERT INTO fx_invoice (customer, open_amount, currency, invoiced_on, due)
VALUES ('FX-A', 100, 'USD', '2026-01-15', '2026-02-15');
SELECT receivables, open_orders FROM pgcredit.exposure WHERE customer = 'FX-A';
SELECT amount FROM pgcredit.receivable_due WHERE customer = 'FX-A';
-- OCA/credit-control #543: an invoice without a rate does not count as 0
INSERT INTO fx_invoice (customer, open_amount, currency, invoiced_on, due)
VALUES ('FX-A', 100, 'SEK', '2026-01-15', '2026-02-15');
\echo :LAST_ERROR_SQLSTATE
SELECT receivables FROM pgcredit.exposure WHERE customer = 'FX-A';

-- An account kept in another currency than the book's: B in USD, whose
-- orders in euros are converted into dollars (1.1), its dollars not
SELECT customer, currency FROM pgcredit.open_account('FX-B', 500);
SELECT customer, currency FROM pgcredit.set_account_currency('FX-B', 'USD', 'customer invoiced in dollars');
SELECT customer, currency FROM pgcredit.exposure WHERE customer = 'FX-B';
INSERT INTO fx_order (customer, amount, currency, ordered_on) VALUES ('FX-B', 100, 'EUR', '2026-01-05');
INSERT INTO fx_order (customer, amount, currency, ordered_on) VALUES ('FX-B', 300, 'USD', '2026-01-05');
INSERT INTO fx_invoice (customer, open_amount, currency, invoiced_on, due)
VALUES ('FX-B', 50, NULL, '2026-01-15', '2026-02-15');
SELECT receivables, open_orders FROM pgcredit.exposure WHERE customer = 'FX-B';
-- 40 USD left: 40 EUR would be 44 USD
INSERT INTO fx_order (customer, amount, currency, ordered_on) VALUES ('FX-B', 40, 'EUR', '2026-01-05');
\echo :LAST_ERROR_SQLSTATE
-- no GBP to USD rate: a clear error, not a silent conversion
INSERT INTO fx_order (customer, amount, currency, ordered_on) VALUES ('FX-B', 1, 'GBP', '2026-01-05');
-- the currency of an account with exposure stays
SELECT pgcredit.set_account_currency('FX-B', 'EUR', 'back to euros');
\echo :LAST_ERROR_SQLSTATE
-- nor of one whose open items cancel out: converted anew, they need not
SELECT customer FROM pgcredit.open_account('FX-C', 500);
INSERT INTO fx_invoice (customer, open_amount, currency, invoiced_on, due)
VALUES ('FX-C', 100, 'USD', '2026-01-15', '2026-02-15'), ('FX-C', -90, 'EUR', '2026-01-15', '2026-02-15');
SELECT receivables FROM pgcredit.exposure WHERE customer = 'FX-C';
SELECT pgcredit.set_account_currency('FX-C', 'USD', 'r');
\echo :LAST_ERROR_SQLSTATE
DELETE FROM fx_invoice WHERE customer = 'FX-C';
SELECT currency FROM pgcredit.set_account_currency('FX-C', 'USD', 'nothing open now');
SELECT pgcredit.set_account_currency('FX-B', 'dollar', 'r');
SELECT pgcredit.set_account_currency('NOBODY', 'USD', 'r');
SELECT action, customer, old_value, new_value FROM pgcredit.audit_log
WHERE action IN ('set_account_currency', 'set_base_currency') ORDER BY id;
SELECT * FROM pgcredit.verify_exposure();

-- A rate corrected for a past day: the rows in exposure keep the old
-- conversion until revalue_exposure() recomputes them and reports who
-- crossed a limit
UPDATE pgcredit.fx_rate SET rate = 1.6 WHERE currency_from = 'EUR' AND currency_to = 'USD';
UPDATE pgcredit.fx_rate SET rate = 0.7 WHERE currency_from = 'USD' AND valid_from = '2026-02-01';
SELECT * FROM pgcredit.verify_exposure();
SELECT * FROM pgcredit.revalue_exposure('rates corrected');
SELECT * FROM pgcredit.verify_exposure();
SELECT receivables, open_orders FROM pgcredit.exposure WHERE customer IN ('FX-A', 'FX-B', 'FX-C') ORDER BY customer;
SELECT action, new_value, reason FROM pgcredit.audit_log WHERE action = 'revalue_exposure';
-- and back down
UPDATE pgcredit.fx_rate SET rate = 1.1 WHERE currency_from = 'EUR' AND currency_to = 'USD';
SELECT * FROM pgcredit.revalue_exposure();
-- a rate missing for a row in exposure stops revaluation, changing nothing
DELETE FROM pgcredit.fx_rate WHERE currency_from = 'EUR';
SELECT * FROM pgcredit.revalue_exposure();
\echo :LAST_ERROR_SQLSTATE
INSERT INTO pgcredit.fx_rate (currency_from, currency_to, valid_from, rate) VALUES ('EUR', 'USD', '2026-01-01', 1.1);
SELECT * FROM pgcredit.verify_exposure();

-- Rates load from CSV like any table, with the loader's rights
SELECT status, rows_loaded, rows_rejected FROM pgcredit.load_csv('pgcredit.fx_rate',
  E'currency_from,currency_to,valid_from,rate\nUSD,EUR,2026-03-01,0.85\nGBP,EUR,2026-03-01,1.2\nJPY,EUR,2026-03-01,NaN\n');
SELECT line_number, column_name, raw_value FROM pgcredit.import_reject
WHERE run_id = (SELECT max(id) FROM pgcredit.import_run);
SELECT currency_from, valid_from, rate FROM pgcredit.fx_rate WHERE valid_from = '2026-03-01' ORDER BY 1;
SELECT pgcredit.fx_convert(100, 'USD', 'EUR', '2026-03-01');
SELECT * FROM pgcredit.revalue_exposure();

-- Credit groups sum their members' exposure, so they share one currency
SELECT id, currency FROM pgcredit.create_group('G-EUR', 5000);
SELECT id, currency FROM pgcredit.create_group('G-USD', 5000);
SELECT id, currency FROM pgcredit.set_group_currency('G-USD', 'USD', 'American subsidiaries');
SELECT id, currency FROM pgcredit.create_group('G-USD-WEST', parent => 'G-USD');
SELECT pgcredit.join_group('FX-A', 'G-EUR', 'subsidiary');
SELECT pgcredit.join_group('FX-B', 'G-EUR', 'subsidiary');
\echo :LAST_ERROR_SQLSTATE
SELECT pgcredit.join_group('FX-B', 'G-USD-WEST', 'subsidiary');
SELECT pgcredit.set_group_parent('G-USD-WEST', 'G-EUR', 'reorganised');
\echo :LAST_ERROR_SQLSTATE
SELECT pgcredit.set_group_currency('G-EUR', 'USD', 'r');
\echo :LAST_ERROR_SQLSTATE
SELECT pgcredit.set_group_currency('G-USD-WEST', 'EUR', 'r');
-- a group created under another is kept in its currency
SELECT id, currency FROM pgcredit.create_group('G-X', parent => 'G-USD');
SELECT id, currency FROM pgcredit.create_group('G-Y', parent => 'G-USD', reason => 'in dollars too');
SELECT pgcredit.leave_group('FX-B', 'r');
SELECT group_id, exposure FROM pgcredit.group_exposure WHERE group_id LIKE 'G-%' ORDER BY 1;

-- Rights: only pgcredit_admin writes rates; readers read them
CREATE ROLE regress_fx_reader IN ROLE pgcredit_reader;
CREATE ROLE regress_fx_admin IN ROLE pgcredit_admin;
SET ROLE regress_fx_reader;
SELECT count(*) > 0 AS reads FROM pgcredit.fx_rate;
INSERT INTO pgcredit.fx_rate (currency_from, currency_to, valid_from, rate) VALUES ('USD', 'EUR', '2026-04-01', 2);
UPDATE pgcredit.fx_rate SET rate = 2;
SELECT pgcredit.revalue_exposure();
SELECT pgcredit.set_base_currency('USD', 'r');
RESET ROLE;
SET ROLE regress_fx_admin;
INSERT INTO pgcredit.fx_rate (currency_from, currency_to, valid_from, rate) VALUES ('USD', 'EUR', '2026-04-01', 0.86);
-- who wrote a rate cannot be forged
INSERT INTO pgcredit.fx_rate (currency_from, currency_to, valid_from, rate, entered_by, entered_at)
VALUES ('USD', 'EUR', '2026-04-02', 0.86, 'postgres', '2000-01-01');
UPDATE pgcredit.fx_rate SET entered_by = 'postgres' WHERE valid_from = '2026-04-01';
SELECT valid_from, entered_by, entered_at > '2000-01-01' AS now FROM pgcredit.fx_rate WHERE valid_from IN ('2026-04-01', '2026-04-02') ORDER BY valid_from;
SELECT count(*) FROM pgcredit.revalue_exposure();
RESET ROLE;
SELECT role_name, action FROM pgcredit.audit_log WHERE action = 'fx_rate_insert' ORDER BY id DESC LIMIT 1;
-- a superuser's stand, as pg_restore writes them back
INSERT INTO pgcredit.fx_rate (currency_from, currency_to, valid_from, rate, entered_by, entered_at)
VALUES ('USD', 'EUR', '2019-05-01', 0.89, 'treasury', '2019-05-01 08:00+00');
SELECT entered_by, entered_at = '2019-05-01 08:00+00' AS kept FROM pgcredit.fx_rate WHERE valid_from = '2019-05-01';

-- detached, the tables leave exposure with what they brought
SELECT relid FROM pgcredit.detach('fx_order');
SELECT relid FROM pgcredit.detach('fx_invoice');
SELECT customer, receivables, open_orders FROM pgcredit.exposure WHERE customer IN ('FX-A', 'FX-B', 'FX-C') ORDER BY 1;
SELECT base_currency FROM pgcredit.set_base_currency(NULL, 'single-currency book again');
DROP TABLE fx_order, fx_invoice;
DROP ROLE regress_fx_reader, regress_fx_admin;
SELECT pgcredit.leave_group('FX-A', 'done');
DELETE FROM pgcredit.credit_group WHERE id IN ('G-X', 'G-Y', 'G-USD-WEST');
DELETE FROM pgcredit.credit_group WHERE id LIKE 'G-%';
DELETE FROM pgcredit.fx_rate;
DELETE FROM pgcredit.import_reject WHERE run_id IN (SELECT id FROM pgcredit.import_run WHERE target = 'pgcredit.fx_rate'::regclass);
DELETE FROM pgcredit.import_run WHERE target = 'pgcredit.fx_rate'::regclass;
DELETE FROM pgcredit.alert WHERE customer IN ('FX-A', 'FX-B', 'FX-C');
DELETE FROM pgcredit.receivable_due WHERE customer IN ('FX-A', 'FX-B', 'FX-C');
DELETE FROM pgcredit.exposure WHERE customer IN ('FX-A', 'FX-B', 'FX-C');
DELETE FROM pgcredit.account WHERE customer IN ('FX-A', 'FX-B', 'FX-C');
DELETE FROM pgcredit.audit_log WHERE customer IN ('FX-A', 'FX-B', 'FX-C')
  OR action IN ('create_group', 'set_group_currency', 'drop_group', 'attach_orders', 'attach_receivables', 'detach',
                'rebuild_exposure', 'revalue_exposure', 'set_base_currency', 'join_group', 'leave_group')
  OR action LIKE 'fx_rate%';

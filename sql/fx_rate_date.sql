-- The rate date is the writer's data: a row dated to another day counts
-- at that day's rate.  A company that does not let its application
-- choose it fills it with a default and grants INSERT on the other
-- columns only; the application then cannot backdate an order to a
-- cheaper rate.
\set SHOW_CONTEXT never
SET client_min_messages = warning;
SELECT base_currency FROM pgcredit.set_base_currency('EUR', 'the book is kept in euros');
INSERT INTO pgcredit.fx_rate (currency_from, currency_to, valid_from, rate) VALUES
  ('JPY', 'EUR', '2020-01-01', 0.0040),
  ('JPY', 'EUR', '2026-01-01', 0.0062);
CREATE TABLE frd_order (id serial PRIMARY KEY, customer text NOT NULL, amount numeric(14,2) NOT NULL,
                        currency text NOT NULL, placed_on date NOT NULL DEFAULT current_date);
SELECT relid FROM pgcredit.attach_orders('frd_order', 'customer', 'amount',
                                         currency_column => 'currency', rate_date_column => 'placed_on');
SELECT customer, credit_limit FROM pgcredit.open_account('FRD-1', 1000);
CREATE ROLE regress_frd_app LOGIN;
GRANT USAGE ON SCHEMA pgcredit TO regress_frd_app;
GRANT INSERT (customer, amount, currency) ON frd_order TO regress_frd_app;
GRANT USAGE ON SEQUENCE frd_order_id_seq TO regress_frd_app;

-- the owner may write any day: 200,000 yen dated 2020 count 800 euros,
-- dated today 1,240, past the limit
INSERT INTO frd_order (customer, amount, currency, placed_on) VALUES ('FRD-1', 200000, 'JPY', '2020-06-01');
SELECT open_orders FROM pgcredit.exposure WHERE customer = 'FRD-1';
DELETE FROM frd_order;

SET SESSION AUTHORIZATION regress_frd_app;
-- the application cannot name the day
INSERT INTO frd_order (customer, amount, currency, placed_on) VALUES ('FRD-1', 200000, 'JPY', '2020-06-01');
\echo :LAST_ERROR_SQLSTATE
-- today's rate: 1,240 euros, refused
INSERT INTO frd_order (customer, amount, currency) VALUES ('FRD-1', 200000, 'JPY');
\echo :LAST_ERROR_SQLSTATE
-- 100,000 yen is 620 euros: it fits
INSERT INTO frd_order (customer, amount, currency) VALUES ('FRD-1', 100000, 'JPY');
RESET SESSION AUTHORIZATION;
SELECT count(*) AS orders, sum(amount) AS yen FROM frd_order;
SELECT open_orders FROM pgcredit.exposure WHERE customer = 'FRD-1';

SELECT relid FROM pgcredit.detach('frd_order');
DROP TABLE frd_order;
REVOKE USAGE ON SCHEMA pgcredit FROM regress_frd_app;
DROP ROLE regress_frd_app;
DELETE FROM pgcredit.fx_rate;
DELETE FROM pgcredit.exposure WHERE customer = 'FRD-1';
DELETE FROM pgcredit.receivable_due WHERE customer = 'FRD-1';
DELETE FROM pgcredit.account WHERE customer = 'FRD-1';
SELECT base_currency FROM pgcredit.set_base_currency(NULL, 'single-currency book again');
DELETE FROM pgcredit.audit_log WHERE customer = 'FRD-1' OR action IN ('set_base_currency', 'attach_orders', 'detach')
  OR action LIKE 'fx_rate%';

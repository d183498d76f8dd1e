-- Approvals in a book with several currencies: the thresholds of
-- approval_policy and the sizes of approval_authority are amounts in the
-- book's base currency, and a customer's figures in the currency of its
-- account are converted at today's rate before they are compared (a
-- raise of 500,000 yen is not a raise of 500,000 euros); a missing rate
-- is PC015 and changes nothing.
\set SHOW_CONTEXT never
SET client_min_messages = warning;
ALTER TABLE pgcredit.approval_request ALTER COLUMN id RESTART;
SELECT base_currency FROM pgcredit.set_base_currency('EUR', 'the book is kept in euros');
-- the rate valid today is the latest valid_from on or before it: not the
-- one of 2099
INSERT INTO pgcredit.fx_rate (currency_from, currency_to, valid_from, rate) VALUES
  ('JPY', 'EUR', '2025-01-01', 0.0050),
  ('JPY', 'EUR', '2026-01-01', 0.0062),
  ('JPY', 'EUR', '2099-01-01', 1);
SELECT customer, credit_limit FROM pgcredit.open_account('APFX-EUR', 10000);
SELECT customer, credit_limit FROM pgcredit.open_account('APFX-JPY', 1000000);
SELECT customer, credit_limit FROM pgcredit.open_account('APFX-CHF', 10000);
SELECT customer, currency FROM pgcredit.set_account_currency('APFX-JPY', 'JPY', 'invoiced in yen');
SELECT customer, currency FROM pgcredit.set_account_currency('APFX-CHF', 'CHF', 'invoiced in francs');

INSERT INTO pgcredit.approval_policy (limit_approval_above) VALUES (2000);

-- 200,000 yen is 1,240 euros: a controller raises it alone
SELECT credit_limit FROM pgcredit.set_credit_limit('APFX-JPY', 1200000, 'small raise in yen');
-- 500,000 yen is 3,100 euros: it needs approval, and the detail shows both
SELECT credit_limit FROM pgcredit.set_credit_limit('APFX-JPY', 1700000, 'big raise in yen');
\echo :LAST_ERROR_SQLSTATE
SELECT credit_limit FROM pgcredit.set_temporary_limit('APFX-JPY', 1700000, '2099-12-31', 'big season in yen');
\echo :LAST_ERROR_SQLSTATE
SELECT credit_limit FROM pgcredit.account WHERE customer = 'APFX-JPY';
-- an account in the base currency is judged as before
SELECT credit_limit FROM pgcredit.set_credit_limit('APFX-EUR', 13000, 'raise in euros');
\echo :LAST_ERROR_SQLSTATE
SELECT credit_limit FROM pgcredit.set_credit_limit('APFX-EUR', 11500, 'small raise in euros');
-- no rate from francs: a clear error, not a silent zero, and no change
-- (the message names today's date: the SQLSTATE alone is shown)
\set VERBOSITY sqlstate
SELECT credit_limit FROM pgcredit.set_credit_limit('APFX-CHF', 10001, 'tiny raise in francs');
\set VERBOSITY default
\echo :LAST_ERROR_SQLSTATE
SELECT :'LAST_ERROR_MESSAGE' ~ '^no exchange rate from CHF to EUR on ' AS names_the_pair;
SELECT credit_limit FROM pgcredit.account WHERE customer = 'APFX-CHF';
-- without a threshold nothing is converted, and a missing rate stops nothing
UPDATE pgcredit.approval_policy SET limit_approval_above = NULL;
SELECT credit_limit FROM pgcredit.set_credit_limit('APFX-CHF', 10001, 'tiny raise in francs');
UPDATE pgcredit.approval_policy SET limit_approval_above = 2000;

-- A limit keeps its figure when its account changes currency: 11,500
-- euros become 11,500 yen (71.30 euros), and back, 11,500 yen would
-- become 11,500 euros, a raise without approval.  The limit in the new
-- currency is judged as a limit opened anew.
SELECT customer, currency FROM pgcredit.set_account_currency('APFX-EUR', 'JPY', 'now in yen');
SELECT customer, currency FROM pgcredit.set_account_currency('APFX-EUR', NULL, 'back to euros');
\echo :LAST_ERROR_SQLSTATE
SELECT currency, credit_limit FROM pgcredit.account WHERE customer = 'APFX-EUR';
-- the way the hint gives: the limit to 0, the currency, then the limit
SELECT credit_limit FROM pgcredit.set_credit_limit('APFX-EUR', 0, 'before the currency changes');
SELECT customer, currency FROM pgcredit.set_account_currency('APFX-EUR', NULL, 'back to euros');
SELECT credit_limit FROM pgcredit.set_credit_limit('APFX-EUR', 1500, 'the limit in euros again');
-- 1,500 euros under the threshold become 1,500 dinars, 4,500 euros
INSERT INTO pgcredit.fx_rate (currency_from, currency_to, valid_from, rate) VALUES ('KWD', 'EUR', '2026-01-01', 3);
SELECT customer, currency FROM pgcredit.set_account_currency('APFX-EUR', 'KWD', 'now in dinars');
\echo :LAST_ERROR_SQLSTATE
SELECT currency, credit_limit FROM pgcredit.account WHERE customer = 'APFX-EUR';
-- cover keeps its figure too: a limit of 0 yen and a deposit of 100,000
-- yen (620 euros, added without approval) would become 100,000 euros
SELECT customer, credit_limit FROM pgcredit.open_account('APFX-COV', 0);
SELECT customer, currency FROM pgcredit.set_account_currency('APFX-COV', 'JPY', 'invoiced in yen');
SELECT kind, amount FROM pgcredit.add_cover('APFX-COV', 'deposit', 'cash', 100000, 'deposit in yen');
SELECT customer, currency FROM pgcredit.set_account_currency('APFX-COV', NULL, 'to euros');
\echo :LAST_ERROR_SQLSTATE
SELECT currency FROM pgcredit.account WHERE customer = 'APFX-COV';

-- The authority matrix is in euros too: managers approve raises of up to
-- 2,500 euros.  Rita asks, Mark approves.
CREATE ROLE regress_apfx_managers NOLOGIN;
CREATE ROLE regress_apfx_rita LOGIN IN ROLE pgcredit_controller;
CREATE ROLE regress_apfx_mark LOGIN IN ROLE pgcredit_controller, regress_apfx_managers;
INSERT INTO pgcredit.approval_authority (kind, risk_tier, approver, max_increase) VALUES
  ('limit', NULL, 'regress_apfx_managers', 2500);
SET SESSION AUTHORIZATION regress_apfx_rita;
-- 350,000 yen more is 2,170 euros; 450,000 yen more is 2,790 euros
SELECT id, customer, new_limit, status FROM pgcredit.request_limit('APFX-JPY', 1550000, 'new plant');
SELECT id, customer, new_limit, status FROM pgcredit.request_limit('APFX-JPY', 1650000, 'new plant, bigger');
RESET SESSION AUTHORIZATION;
SET SESSION AUTHORIZATION regress_apfx_mark;
-- Mark sees the one within his authority, its size in euros
SELECT id, customer, new_limit, increase, amount, approvers FROM pgcredit.pending_requests ORDER BY id;
SELECT pgcredit.approve_request(2, 'bigger than my authority');
\echo :LAST_ERROR_SQLSTATE
SELECT status FROM pgcredit.approve_request(1, 'fine');
RESET SESSION AUTHORIZATION;
SELECT credit_limit FROM pgcredit.account WHERE customer = 'APFX-JPY';
SELECT id, status FROM pgcredit.approval_request ORDER BY id;

-- a role with nothing cannot call the conversion
CREATE ROLE regress_apfx_nobody LOGIN;
SET SESSION AUTHORIZATION regress_apfx_nobody;
SELECT pgcredit._in_book_currency('APFX-JPY', 1);
\echo :LAST_ERROR_SQLSTATE
RESET SESSION AUTHORIZATION;

DELETE FROM pgcredit.approval_authority;
DELETE FROM pgcredit.approval_policy;
DELETE FROM pgcredit.approval_request;
ALTER TABLE pgcredit.approval_request ALTER COLUMN id RESTART;
ALTER TABLE pgcredit.approval_authority ALTER COLUMN id RESTART;
DELETE FROM pgcredit.fx_rate;
DELETE FROM pgcredit.cover WHERE customer LIKE 'APFX-%';
DELETE FROM pgcredit.exposure WHERE customer LIKE 'APFX-%';
DELETE FROM pgcredit.account WHERE customer LIKE 'APFX-%';
SELECT base_currency FROM pgcredit.set_base_currency(NULL, 'single-currency book again');
DELETE FROM pgcredit.audit_log WHERE customer LIKE 'APFX-%' OR action = 'set_base_currency'
  OR action LIKE 'fx_rate%' OR action ~ '^approval_';
DROP ROLE regress_apfx_rita, regress_apfx_mark, regress_apfx_managers, regress_apfx_nobody;

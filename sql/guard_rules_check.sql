-- check_order(): the verdict the guard would give an order (pass, hold
-- or refuse, which rule, its SQLSTATE, the credit available), from the
-- guard's own code, writing nothing.
\set SHOW_CONTEXT never
SET client_min_messages = warning;
SELECT setval('pgcredit.credit_rule_id_seq', 100, false);

CREATE TABLE ck_order (id serial PRIMARY KEY, customer text NOT NULL, amount numeric(12,2) NOT NULL);
CREATE TABLE ck_held (id serial PRIMARY KEY, customer text NOT NULL, amount numeric(12,2) NOT NULL,
                      held boolean NOT NULL DEFAULT false);
SELECT kind, mode FROM pgcredit.attach_orders('ck_order', 'customer', 'amount');
SELECT kind, mode FROM pgcredit.attach_orders('ck_held', 'customer', 'amount', mode => 'hold', hold_column => 'held');
SELECT customer, credit_limit, tolerance_pct FROM pgcredit.open_account('K1', 1000, 10);
INSERT INTO ck_order (customer, amount) VALUES ('K1', 600);

-- within the limit, over it, and as the table it would go into says
SELECT * FROM pgcredit.check_order('K1', 500);
SELECT * FROM pgcredit.check_order('K1', 501);
SELECT verdict, sqlstate FROM pgcredit.check_order('K1', 501, 'ck_order');
SELECT verdict, sqlstate FROM pgcredit.check_order('K1', 501, 'ck_held');
-- a rule whose action is refuse: refused in every table
SELECT id FROM pgcredit.add_rule('largest_order', 'refuse', 'big orders', amount => 400);
SELECT verdict, rule_id, kind, sqlstate, reason FROM pgcredit.check_order('K1', 450, 'ck_held');
-- a temporary limit in force today counts; one from tomorrow does not
SELECT temporary_limit FROM pgcredit.set_temporary_limit('K1', 2000, current_date + 5, 'season');
SELECT verdict, credit_available FROM pgcredit.check_order('K1', 300);
SELECT temporary_limit FROM pgcredit.set_temporary_limit('K1', 2000, current_date + 5, 'season', valid_from => current_date + 1);
SELECT verdict, credit_available FROM pgcredit.check_order('K1', 300);
SELECT temporary_limit FROM pgcredit.clear_temporary_limit('K1', 'season over');
-- an account on hold, a customer without an account (allowed, then denied)
SELECT status FROM pgcredit.place_hold('K1', 'bounced cheque');
SELECT verdict, rule_id, kind, sqlstate FROM pgcredit.check_order('K1', 1);
SELECT status FROM pgcredit.release_hold('K1', 'cheque cleared');
SELECT * FROM pgcredit.check_order('NOBODY', 100);
SELECT no_account_policy FROM pgcredit.set_no_account_policy('deny', reason => 'accounts first');
SELECT verdict, rule_id, kind, sqlstate FROM pgcredit.check_order('NOBODY', 100, 'ck_order');
SELECT no_account_policy FROM pgcredit.set_no_account_policy('allow', reason => 'back');

-- the same verdict as the guard, order after order
CREATE TEMP TABLE ck_compare (amount numeric, predicted text, predicted_state text, actual text);
DO $$
DECLARE
  a numeric;
  c record;
BEGIN
  FOREACH a IN ARRAY ARRAY[100, 300, 350, 50, 0.01, 399.99, 400.01] LOOP
    SELECT * INTO c FROM pgcredit.check_order('K1', a, 'ck_order');
    BEGIN
      INSERT INTO ck_order (customer, amount) VALUES ('K1', a);
      INSERT INTO ck_compare VALUES (a, c.verdict, c.sqlstate, 'pass');
    EXCEPTION WHEN SQLSTATE 'PC000' THEN
      INSERT INTO ck_compare VALUES (a, c.verdict, c.sqlstate, 'refuse ' || SQLSTATE);
    END;
  END LOOP;
END
$$;
SELECT * FROM ck_compare;

-- it writes nothing: no exposure, no audit, no trial, no order count
SELECT id FROM pgcredit.add_rule('utilisation', 'shadow', 'try', share => 0.1);
CREATE TEMP TABLE ck_before AS
SELECT (SELECT row(e.*)::text FROM pgcredit.exposure e WHERE customer = 'K1') AS exposure,
       (SELECT count(*) FROM pgcredit.audit_log) AS audit, (SELECT count(*) FROM pgcredit.rule_trial) AS trials,
       (SELECT count(*) FROM pgcredit.exposure) AS rows;
SELECT a.verdict, b.verdict FROM pgcredit.check_order('K1', 10) a, pgcredit.check_order('NEW', 10) b;
SELECT b.exposure = (SELECT row(e.*)::text FROM pgcredit.exposure e WHERE customer = 'K1') AS same_exposure,
       b.audit = (SELECT count(*) FROM pgcredit.audit_log) AS same_audit,
       b.trials = (SELECT count(*) FROM pgcredit.rule_trial) AS same_trials,
       b.rows = (SELECT count(*) FROM pgcredit.exposure) AS same_rows
FROM ck_before b;

-- bad input
SELECT * FROM pgcredit.check_order('K1', 'NaN');
SELECT * FROM pgcredit.check_order('K1', 'Infinity');
SELECT * FROM pgcredit.check_order('K1', -5);
SELECT * FROM pgcredit.check_order(NULL, 5);
SELECT * FROM pgcredit.check_order('K1', NULL);
SELECT * FROM pgcredit.check_order('K1', 5, 'ck_compare');
\echo :LAST_ERROR_SQLSTATE

-- pgcredit_sales: check_order for any customer, and nothing else; the
-- application role and a role with nothing may not call it
CREATE ROLE regress_ck_sales IN ROLE pgcredit_sales;
CREATE ROLE regress_ck_nobody;
SET ROLE regress_ck_sales;
SELECT verdict, credit_available FROM pgcredit.check_order('K1', 10);
SELECT count(*) FROM pgcredit.account;
SELECT count(*) FROM pgcredit.held_orders;
SELECT pgcredit.override_block('K1', 'sales wants it');
SET ROLE regress_ck_nobody;
SELECT verdict FROM pgcredit.check_order('K1', 10);
RESET ROLE;
DROP ROLE regress_ck_sales;
DROP ROLE regress_ck_nobody;

-- the same verdict as the guard at the edges: an order of 0 raises no
-- exposure and is never stopped, even for a blocked customer; a key too
-- long for pgcredit is refused with the guard's error
SELECT status FROM pgcredit.set_status('K1', 'blocked', 'check at the edges');
INSERT INTO ck_order (customer, amount) VALUES ('K1', 0);
SELECT verdict, kind, exposure FROM pgcredit.check_order('K1', 0);
SELECT verdict, kind FROM pgcredit.check_order('K1', 0.01);
SELECT status FROM pgcredit.set_status('K1', 'ok', 'edges done');
DELETE FROM ck_order WHERE amount = 0;
\set VERBOSITY terse
INSERT INTO ck_order (customer, amount) VALUES (repeat('k', 1001), 1);
\echo :LAST_ERROR_SQLSTATE
SELECT verdict FROM pgcredit.check_order(repeat('k', 1001), 1);
\echo :LAST_ERROR_SQLSTATE
\set VERBOSITY default
SELECT verdict FROM pgcredit.check_order(repeat('k', 1000), 1);

-- with order_table, the key is read as that table's customer column reads
-- it and made canonical as the guard stores it: for a numeric column
-- '7001.00' and '7001' are customer "7001"; for char(n) the padding goes.  Without
-- a table the key is taken as given ('7001.00' is no account's key).
CREATE TABLE ck_num (id serial PRIMARY KEY, customer numeric(10,2) NOT NULL, amount numeric(12,2) NOT NULL);
CREATE TABLE ck_chr (id serial PRIMARY KEY, customer char(6) NOT NULL, amount numeric(12,2) NOT NULL);
SELECT kind, mode FROM pgcredit.attach_orders('ck_num', 'customer', 'amount');
SELECT kind, mode FROM pgcredit.attach_orders('ck_chr', 'customer', 'amount');
SELECT customer FROM pgcredit.open_account('7001', 100, 0);
SELECT customer FROM pgcredit.open_account('CKAB', 100, 0);
SELECT k, c.verdict, c.sqlstate, c.credit_available
FROM unnest(ARRAY['7001.00', '7001', ' 7001.0', '7001.001']) AS k, pgcredit.check_order(k, 150, 'ck_num') c;
SELECT verdict, sqlstate, credit_available FROM pgcredit.check_order('7001.00', 150);
SELECT verdict, sqlstate, credit_available FROM pgcredit.check_order('7001', 150);
SELECT k, c.verdict, c.sqlstate FROM unnest(ARRAY['7001.00', '7001']) AS k, pgcredit.check_order(k, 50, 'ck_num') c;
\set VERBOSITY terse
INSERT INTO ck_num (customer, amount) VALUES ('7001.00', 150);
\echo :LAST_ERROR_SQLSTATE
\set VERBOSITY default
INSERT INTO ck_num (customer, amount) VALUES ('7001.00', 50);
SELECT customer, open_orders FROM pgcredit.exposure WHERE customer IN ('7001', '7001.00');
SELECT k, c.verdict, c.sqlstate, c.exposure FROM unnest(ARRAY['7001.00', '7001']) AS k, pgcredit.check_order(k, 60, 'ck_num') c;
SELECT k, c.verdict, c.sqlstate FROM unnest(ARRAY['CKAB', 'CKAB  ', 'CKAB ']) AS k, pgcredit.check_order(k, 150, 'ck_chr') c;
SELECT verdict, sqlstate FROM pgcredit.check_order('CKAB  ', 150);
\set VERBOSITY terse
INSERT INTO ck_chr (customer, amount) VALUES ('CKAB', 150);
\echo :LAST_ERROR_SQLSTATE
\set VERBOSITY default
-- a key the column's type refuses is an error, as the INSERT's would be
SELECT verdict FROM pgcredit.check_order('one', 5, 'ck_num');
SELECT verdict FROM pgcredit.check_order('123456789012', 5, 'ck_num');
SELECT verdict FROM pgcredit.check_order('CKABCDE', 5, 'ck_chr');
SELECT verdict FROM pgcredit.check_order('one', 5);
SELECT relid FROM pgcredit.detach('ck_num');
SELECT relid FROM pgcredit.detach('ck_chr');
DROP TABLE ck_num, ck_chr;
DELETE FROM pgcredit.audit_log WHERE customer IN ('7001', 'CKAB');
DELETE FROM pgcredit.exposure WHERE customer IN ('7001', 'CKAB');
DELETE FROM pgcredit.account WHERE customer IN ('7001', 'CKAB');

SELECT relid FROM pgcredit.detach('ck_order');
SELECT relid FROM pgcredit.detach('ck_held');
DROP TABLE ck_order, ck_held;
DELETE FROM pgcredit.credit_rule WHERE NOT builtin;
DELETE FROM pgcredit.rule_trial;
DELETE FROM pgcredit.settings;
DELETE FROM pgcredit.audit_log WHERE customer = 'K1' OR action LIKE '%rule%' OR action = 'set_no_account_policy';
DELETE FROM pgcredit.exposure WHERE customer = 'K1';
DELETE FROM pgcredit.account WHERE customer = 'K1';

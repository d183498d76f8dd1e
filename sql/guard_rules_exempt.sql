-- Exempting a customer or a tier from a rule of everyone, the built-in
-- ones included.  A shadow rule never changes a live verdict, also not
-- for its own customer: it does not exempt.  A rule whose action is
-- exempt does: at its scope it replaces the wider rules of its kind,
-- stops nothing, and records in rule_trial what it let through.
\set SHOW_CONTEXT never
SET client_min_messages = warning;
SELECT setval('pgcredit.credit_rule_id_seq', 100, false);

CREATE TABLE ex_order (id serial PRIMARY KEY, customer text NOT NULL, amount numeric(12,2) NOT NULL);
SELECT kind, mode FROM pgcredit.attach_orders('ex_order', 'customer', 'amount');
SELECT customer, credit_limit, risk_tier FROM pgcredit.open_account('EX1', 100);
SELECT customer, credit_limit, risk_tier FROM pgcredit.open_account('EX2', 100, risk_tier => 'C');
SELECT customer, credit_limit, risk_tier FROM pgcredit.open_account('EX3', 100, risk_tier => 'C');
SELECT customer, credit_limit, risk_tier FROM pgcredit.open_account('EX4', 100);

-- a shadow rule of EX1's own does not take it out of the built-in limit
SELECT id, kind, scope, scope_value, action
FROM pgcredit.add_rule('credit_limit', 'shadow', 'EX1 pays by letter of credit', scope => 'customer', scope_value => 'EX1');
\set VERBOSITY terse
INSERT INTO ex_order (customer, amount) VALUES ('EX1', 500);
\echo :LAST_ERROR_SQLSTATE
\set VERBOSITY default
SELECT count(*) AS trials FROM pgcredit.rule_trial;

-- exempt: EX1's order over its limit goes in and leaves a trial; the
-- other customers are still refused by the built-in rule
SELECT id, action FROM pgcredit.set_rule_action(100, 'exempt', 'EX1 is secured');
SELECT verdict, rule_id, kind, credit_available FROM pgcredit.check_order('EX1', 500);
INSERT INTO ex_order (customer, amount) VALUES ('EX1', 500);
SELECT verdict, rule_id, kind, sqlstate FROM pgcredit.check_order('EX4', 500);
\set VERBOSITY terse
INSERT INTO ex_order (customer, amount) VALUES ('EX4', 500);
\echo :LAST_ERROR_SQLSTATE
\set VERBOSITY default
SELECT customer, open_orders FROM pgcredit.exposure WHERE customer IN ('EX1', 'EX4') ORDER BY customer;
SELECT rule_id, kind, customer, amount, sqlstate, figures FROM pgcredit.rule_trial ORDER BY id;
-- other kinds still apply to an exempt customer
SELECT id, kind, action FROM pgcredit.add_rule('largest_order', 'refuse', 'nothing above 1000', amount => 1000);
\set VERBOSITY terse
INSERT INTO ex_order (customer, amount) VALUES ('EX1', 1500);
\echo :LAST_ERROR_SQLSTATE
\set VERBOSITY default
SELECT (pgcredit.drop_rule(101, 'done')).kind;

-- a tier: every customer of tier C but the excluded EX3
SELECT id, kind, scope, scope_value, action, exclusions
FROM pgcredit.add_rule('credit_limit', 'exempt', 'tier C on secured terms', scope => 'tier', scope_value => 'C',
                       exclusions => '{EX3}');
-- an order within the limit leaves no trial, one over it does
INSERT INTO ex_order (customer, amount) VALUES ('EX2', 50);
SELECT count(*) AS trials FROM pgcredit.rule_trial;
INSERT INTO ex_order (customer, amount) VALUES ('EX2', 300);
\set VERBOSITY terse
INSERT INTO ex_order (customer, amount) VALUES ('EX3', 300);
\echo :LAST_ERROR_SQLSTATE
\set VERBOSITY default
-- a live rule of the customer's own comes before its tier's exemption,
-- and the exemption then records nothing for it
SELECT id, kind, scope, scope_value, action
FROM pgcredit.add_rule('credit_limit', 'refuse', 'EX2 no longer secured', scope => 'customer', scope_value => 'EX2');
SELECT verdict, rule_id, sqlstate FROM pgcredit.check_order('EX2', 10);
\set VERBOSITY terse
INSERT INTO ex_order (customer, amount) VALUES ('EX2', 10);
\echo :LAST_ERROR_SQLSTATE
\set VERBOSITY default
SELECT rule_id, customer, amount, sqlstate FROM pgcredit.rule_trial ORDER BY id;

-- the account status: EX1 on hold, exempt from the built-in status rule
SELECT status FROM pgcredit.place_hold('EX1', 'disputed invoice');
\set VERBOSITY terse
INSERT INTO ex_order (customer, amount) VALUES ('EX1', 5);
\echo :LAST_ERROR_SQLSTATE
\set VERBOSITY default
SELECT id, kind, action, statuses
FROM pgcredit.add_rule('account_status', 'exempt', 'the dispute is on our side', scope => 'customer',
                       scope_value => 'EX1', statuses => '{hold,blocked}');
INSERT INTO ex_order (customer, amount) VALUES ('EX1', 5);
SELECT rule_id, kind, customer, amount, sqlstate FROM pgcredit.rule_trial WHERE rule_id = 104;

-- an exemption outside its days does nothing
SELECT valid_until = current_date - 1 AS until_yesterday
FROM pgcredit.set_rule_validity(100, NULL, current_date - 1, 'secured until yesterday');
\set VERBOSITY terse
INSERT INTO ex_order (customer, amount) VALUES ('EX1', 5);
\echo :LAST_ERROR_SQLSTATE
\set VERBOSITY default

-- refused: an exemption for everyone (the built-in rules cannot be
-- dropped), and exclusions on a customer's rule
SELECT pgcredit.add_rule('credit_limit', 'exempt', 'no limits');
\echo :LAST_ERROR_SQLSTATE
SELECT pgcredit.add_rule('credit_limit', 'exempt', 'x', scope => 'customer', scope_value => 'EX4', exclusions => '{EX1}');
\echo :LAST_ERROR_SQLSTATE
SELECT pgcredit.add_rule('credit_limit', 'exempted', 'x', scope => 'customer', scope_value => 'EX4');
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) AS rules FROM pgcredit.credit_rule;
SELECT count(*) AS mismatches FROM pgcredit.verify_exposure();

SELECT relid FROM pgcredit.detach('ex_order');
DROP TABLE ex_order;
DELETE FROM pgcredit.credit_rule WHERE NOT builtin;
DELETE FROM pgcredit.rule_trial;
DELETE FROM pgcredit.alert WHERE customer LIKE 'EX_';
DELETE FROM pgcredit.audit_log WHERE customer LIKE 'EX_' OR action IN ('attach_orders', 'detach') OR action LIKE '%rule%';
DELETE FROM pgcredit.exposure WHERE customer LIKE 'EX_';
DELETE FROM pgcredit.account WHERE customer LIKE 'EX_';

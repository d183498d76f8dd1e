-- The credit policy as data: rules of each kind and scope, what the
-- guard does when one fires (refuse, hold), which rule decided, and the
-- rules refused when malformed.  Dates are relative to today: the guard
-- judges with current_date, so no output here depends on the day.
\set SHOW_CONTEXT never
SET client_min_messages = warning;
-- rule numbers as in a fresh install, whatever ran before in this database
SELECT setval('pgcredit.credit_rule_id_seq', 100, false);

CREATE TABLE rr_invoice (id serial PRIMARY KEY, customer text NOT NULL,
                         open_amount numeric(12,2) NOT NULL, due date NOT NULL);
CREATE TABLE rr_order (id serial PRIMARY KEY, customer text NOT NULL,
                       amount numeric(12,2) NOT NULL, status text NOT NULL DEFAULT 'open');
CREATE TABLE rr_held (id serial PRIMARY KEY, customer text NOT NULL,
                      amount numeric(12,2) NOT NULL, held boolean NOT NULL DEFAULT false);
SELECT kind, mode FROM pgcredit.attach_receivables('rr_invoice', 'customer', 'open_amount', 'due');
SELECT kind, mode FROM pgcredit.attach_orders('rr_order', 'customer', 'amount', 'status', '{open}');
SELECT kind, mode FROM pgcredit.attach_orders('rr_held', 'customer', 'amount', mode => 'hold', hold_column => 'held');
SELECT customer, credit_limit, risk_tier FROM pgcredit.open_account('RA', 1000, risk_tier => 'A');
SELECT customer, credit_limit, risk_tier FROM pgcredit.open_account('RB', 1000, risk_tier => 'B');
SELECT customer, credit_limit, risk_tier FROM pgcredit.open_account('RC', 1000);
-- RA owes 300 that is 40 days past due
INSERT INTO rr_invoice (customer, open_amount, due) VALUES ('RA', 300, current_date - 40);

-- The rules installed with pgcredit are today's checks; they cannot be
-- changed or dropped.
SELECT id, name, kind, scope, action, statuses, builtin FROM pgcredit.credit_rule ORDER BY id;
SELECT pgcredit.set_rule_action(2, 'shadow', 'try without a limit');
\echo :LAST_ERROR_SQLSTATE
SELECT pgcredit.drop_rule(1, 'no more holds');
\echo :LAST_ERROR_SQLSTATE

-- Malformed rules are refused, each with its own message, adding nothing.
\set VERBOSITY terse
SELECT pgcredit.add_rule('credit_score', 'refuse', 'new kind');
SELECT pgcredit.add_rule('utilisation', 'warn', 'new action', share => 0.9);
SELECT pgcredit.add_rule('utilisation', 'hold', 'a group', scope => 'group', scope_value => 'retail', share => 0.9);
\echo :LAST_ERROR_SQLSTATE
SELECT pgcredit.add_rule('utilisation', 'hold', 'tier without tier', scope => 'tier', share => 0.9);
SELECT pgcredit.add_rule('utilisation', 'hold', 'tier F', scope => 'tier', scope_value => 'F', share => 0.9);
SELECT pgcredit.add_rule('utilisation', 'hold', 'everyone with a value', scope_value => 'A', share => 0.9);
SELECT pgcredit.add_rule('credit_limit', 'refuse', 'limit with days', days => 3);
SELECT pgcredit.add_rule('utilisation', 'hold', 'no share');
SELECT pgcredit.add_rule('utilisation', 'hold', 'NaN share', share => 'NaN');
SELECT pgcredit.add_rule('utilisation', 'hold', 'zero share', share => 0);
SELECT pgcredit.add_rule('overdue_amount', 'hold', 'nothing to compare');
SELECT pgcredit.add_rule('overdue_amount', 'hold', 'negative', amount => -1);
SELECT pgcredit.add_rule('overdue_amount', 'hold', 'infinite', amount => 'Infinity');
SELECT pgcredit.add_rule('largest_order', 'hold', 'min without multiple', amount => 10, min_orders => 2);
SELECT pgcredit.add_rule('days_past_due', 'hold', 'negative days', days => -1);
SELECT pgcredit.add_rule('account_status', 'hold', 'no such status', statuses => '{closed}');
SELECT pgcredit.add_rule('account_status', 'hold', 'no status', statuses => '{}');
SELECT pgcredit.add_rule('limit_expired', 'hold', 'backwards', valid_from => current_date, valid_until => current_date - 1);
SELECT pgcredit.add_rule('limit_expired', 'hold', 'forever', valid_until => 'infinity');
SELECT pgcredit.add_rule('limit_expired', 'hold', 'one customer excluded from himself',
                         scope => 'customer', scope_value => 'RA', exclusions => '{RA}');
SELECT pgcredit.add_rule('limit_expired', 'hold', 'null exclusion', exclusions => ARRAY[NULL]::text[]);
SELECT pgcredit.add_rule('limit_expired', 'hold', '');
\set VERBOSITY default
SELECT count(*) AS rules FROM pgcredit.credit_rule;

-- overdue_amount: RA has 300 overdue.  Everyone may have at most 250.
SELECT id = 100 AS first_user_rule, kind, scope, action, amount
FROM pgcredit.add_rule('overdue_amount', 'refuse', 'collections policy', amount => 250);
INSERT INTO rr_order (customer, amount) VALUES ('RA', 10);
\echo :LAST_ERROR_SQLSTATE
INSERT INTO rr_order (customer, amount) VALUES ('RB', 10);
-- a tier A rule replaces the rule for everyone for tier A customers
SELECT id, scope, scope_value, amount
FROM pgcredit.add_rule('overdue_amount', 'refuse', 'good customers get more room',
                       scope => 'tier', scope_value => 'A', amount => 500);
INSERT INTO rr_order (customer, amount) VALUES ('RA', 10);
-- and a rule for RA alone replaces both: at most 20 % of the limit
SELECT id, scope, scope_value, share
FROM pgcredit.add_rule('overdue_amount', 'hold', 'disputed invoices', scope => 'customer',
                       scope_value => 'RA', share => 0.2);
-- action hold: held in a table attached in hold mode ...
INSERT INTO rr_held (customer, amount) VALUES ('RA', 10) RETURNING held;
SELECT customer, amount, why FROM pgcredit.held_order WHERE customer = 'RA';
-- ... refused where the table cannot hold an order
INSERT INTO rr_order (customer, amount) VALUES ('RA', 10);
\echo :LAST_ERROR_SQLSTATE
-- days of grace: only what is more than 60 days past due counts
SELECT (pgcredit.drop_rule(102, 'dispute settled')).kind AS dropped;
SELECT (pgcredit.drop_rule(101, 'tier rule withdrawn')).kind AS dropped;
INSERT INTO rr_order (customer, amount) VALUES ('RA', 10);
\echo :LAST_ERROR_SQLSTATE
SELECT id, days FROM pgcredit.add_rule('overdue_amount', 'refuse', 'sixty days of grace', amount => 250,
                                       days => 60, scope => 'customer', scope_value => 'RA');
INSERT INTO rr_order (customer, amount) VALUES ('RA', 10);
-- exclusions: the rule for everyone leaves RB out
SELECT exclusions FROM pgcredit.set_rule_exclusions(100, '{RB}', 'RB pays by direct debit');
INSERT INTO rr_invoice (customer, open_amount, due) VALUES ('RB', 400, current_date - 10);
INSERT INTO rr_order (customer, amount) VALUES ('RB', 10);
SELECT exclusions FROM pgcredit.set_rule_exclusions(100, NULL, 'direct debit cancelled');
INSERT INTO rr_order (customer, amount) VALUES ('RB', 10);
\echo :LAST_ERROR_SQLSTATE
DELETE FROM rr_invoice WHERE customer = 'RB';
SELECT (pgcredit.drop_rule(id, 'end of test')).kind AS dropped
FROM pgcredit.credit_rule WHERE kind = 'overdue_amount' ORDER BY id;

-- A rule in force only from tomorrow does nothing today; its window is
-- checked by date, with nothing run when it starts.
SELECT id AS big_rule, valid_from = current_date + 1 AS from_tomorrow
FROM pgcredit.add_rule('largest_order', 'refuse', 'big orders need a look from tomorrow', amount => 100,
                       valid_from => current_date + 1) \gset
\echo :from_tomorrow
INSERT INTO rr_order (customer, amount) VALUES ('RC', 150);
SELECT valid_from = current_date AS from_today
FROM pgcredit.set_rule_validity(:big_rule, current_date, current_date + 30, 'starts today');
-- largest_order, absolute
INSERT INTO rr_order (customer, amount) VALUES ('RC', 150);
\echo :LAST_ERROR_SQLSTATE
INSERT INTO rr_order (customer, amount) VALUES ('RC', 100);
SELECT valid_until = current_date - 1 AS ended_yesterday
FROM pgcredit.set_rule_validity(:big_rule, current_date - 30, current_date - 1, 'ended');
INSERT INTO rr_order (customer, amount) VALUES ('RC', 150);
SELECT (pgcredit.drop_rule(:big_rule, 'done')).kind AS dropped;
-- largest_order, as a multiple of the customer's average order: RC has
-- placed 150, 100 and 150 (counted on its exposure row by the guard; the
-- refused order is not)
SELECT order_count, order_sum FROM pgcredit.exposure WHERE customer = 'RC';
SELECT id AS usual_rule, multiple, min_orders
FROM pgcredit.add_rule('largest_order', 'refuse', 'three times the usual', multiple => 3, min_orders => 3) \gset
INSERT INTO rr_order (customer, amount) VALUES ('RC', 400);
\echo :LAST_ERROR_SQLSTATE
INSERT INTO rr_order (customer, amount) VALUES ('RC', 399.99);
SELECT order_count, order_sum FROM pgcredit.exposure WHERE customer = 'RC';
-- a customer with fewer orders than min_orders is not judged by its average
SELECT order_count FROM pgcredit.exposure WHERE customer = 'RB';
INSERT INTO rr_order (customer, amount) VALUES ('RB', 500);
SELECT (pgcredit.drop_rule(:usual_rule, 'done')).kind AS dropped;
DELETE FROM rr_order;

-- utilisation: above 80 % of the limit, orders are held for a look
SELECT id, share FROM pgcredit.add_rule('utilisation', 'hold', 'look before the last 20 %', share => 0.8);
INSERT INTO rr_held (customer, amount) VALUES ('RB', 800) RETURNING held;
INSERT INTO rr_held (customer, amount) VALUES ('RB', 1) RETURNING held;
SELECT customer, amount, why FROM pgcredit.held_order WHERE customer = 'RB';
-- the credit limit rule is judged first: past the limit, it decides
INSERT INTO rr_order (customer, amount) VALUES ('RB', 300);
-- a rule whose action is refuse overrides one that would only hold,
-- also in a table attached in hold mode
SELECT id FROM pgcredit.add_rule('utilisation', 'refuse', 'no more than 90 %', share => 0.9);
INSERT INTO rr_held (customer, amount) VALUES ('RB', 150);
\echo :LAST_ERROR_SQLSTATE
SELECT (pgcredit.drop_rule(id, 'done')).kind AS dropped
FROM pgcredit.credit_rule WHERE kind = 'utilisation' ORDER BY id;

-- limit_expired: a limit not reviewed since its review date
SELECT next_review = current_date - 1 AS due_yesterday
FROM pgcredit.update_account('RC', 'annual review', next_review => (current_date - 1));
INSERT INTO rr_order (customer, amount) VALUES ('RC', 10);
SELECT id FROM pgcredit.add_rule('limit_expired', 'refuse', 'no credit without a review');
\set VERBOSITY terse
INSERT INTO rr_order (customer, amount) VALUES ('RC', 10);
\set VERBOSITY default
\echo :LAST_ERROR_SQLSTATE
-- with a week of grace it passes; reviewed, it passes too
SELECT id AS grace_rule, days FROM pgcredit.add_rule('limit_expired', 'refuse', 'a week of grace for RC', days => 7,
                                                     scope => 'customer', scope_value => 'RC') \gset
INSERT INTO rr_order (customer, amount) VALUES ('RC', 10);
SELECT (pgcredit.drop_rule(:grace_rule, 'grace over')).kind AS dropped;
SELECT next_review > current_date AS reviewed
FROM pgcredit.update_account('RC', 'reviewed', next_review => (current_date + 365));
INSERT INTO rr_order (customer, amount) VALUES ('RC', 10);
SELECT (pgcredit.drop_rule(id, 'done')).kind AS dropped
FROM pgcredit.credit_rule WHERE kind = 'limit_expired' ORDER BY id;

-- account_status: a tier B rule that also stops accounts on watch
SELECT id, statuses FROM pgcredit.add_rule('account_status', 'refuse', 'tier B on watch waits',
                                           scope => 'tier', scope_value => 'B', statuses => '{watch,hold,blocked}');
SELECT status FROM pgcredit.set_status('RB', 'watch', 'late twice');
SELECT status FROM pgcredit.set_status('RC', 'watch', 'late twice');
INSERT INTO rr_held (customer, amount) VALUES ('RB', 1);
\echo :LAST_ERROR_SQLSTATE
INSERT INTO rr_order (customer, amount) VALUES ('RC', 1);
SELECT status FROM pgcredit.set_status('RB', 'ok', 'paid');
SELECT status FROM pgcredit.set_status('RC', 'ok', 'paid');
SELECT (pgcredit.drop_rule(id, 'done')).kind AS dropped
FROM pgcredit.credit_rule WHERE kind = 'account_status' AND NOT builtin;

-- days_past_due: set_max_days_past_due() keeps the rule named
-- 'max days past due', the path for databases that used the setting
SELECT max_days_past_due FROM pgcredit.set_max_days_past_due(30, 'collections policy');
SELECT name, kind, scope, action, days FROM pgcredit.credit_rule WHERE kind = 'days_past_due';
INSERT INTO rr_order (customer, amount) VALUES ('RA', 1);
\echo :LAST_ERROR_SQLSTATE
SELECT max_days_past_due FROM pgcredit.set_max_days_past_due(45, 'more lenient');
SELECT name, days FROM pgcredit.credit_rule WHERE kind = 'days_past_due';
INSERT INTO rr_order (customer, amount) VALUES ('RA', 1);
SELECT max_days_past_due FROM pgcredit.set_max_days_past_due(NULL, 'check off');
SELECT count(*) AS days_rules FROM pgcredit.credit_rule WHERE kind = 'days_past_due';

-- Temporary limits: the guard applies the limit in force today, and a
-- temporary limit lapses by date with nothing run.
SELECT customer, credit_limit FROM pgcredit.open_account('RT', 100);
SELECT temporary_limit, temporary_from = current_date + 1 AS from_tomorrow
FROM pgcredit.set_temporary_limit('RT', 500, current_date + 10, 'season', valid_from => current_date + 1);
INSERT INTO rr_order (customer, amount) VALUES ('RT', 300);
SELECT temporary_limit, temporary_until = current_date AS last_day_today
FROM pgcredit.set_temporary_limit('RT', 500, current_date, 'season from today');
INSERT INTO rr_order (customer, amount) VALUES ('RT', 300);
INSERT INTO rr_order (customer, amount) VALUES ('RT', 250);
-- the same window as it is once its last day has passed (written past
-- the functions, which refuse a window that has ended, and copied to the
-- exposure row as every account change is)
UPDATE pgcredit.account SET temporary_from = current_date - 10, temporary_until = current_date - 1
WHERE customer = 'RT';
SELECT pgcredit._lock_exposure('RT');
INSERT INTO rr_order (customer, amount) VALUES ('RT', 1);
\echo :LAST_ERROR_SQLSTATE

-- Every change of the rules is in the audit log.
SELECT action, count(*) FROM pgcredit.audit_log
WHERE action IN ('add_rule', 'drop_rule', 'set_rule_action', 'set_rule_validity', 'set_rule_exclusions')
GROUP BY action ORDER BY action;
SELECT action, old_value ->> 'kind' AS kind, new_value ->> 'exclusions' AS exclusions, reason
FROM pgcredit.audit_log WHERE action = 'set_rule_exclusions' ORDER BY id;

-- Only an admin changes the rules; readers read them.
CREATE ROLE regress_rr_controller IN ROLE pgcredit_controller;
CREATE ROLE regress_rr_admin IN ROLE pgcredit_admin;
SET ROLE regress_rr_controller;
SELECT pgcredit.add_rule('utilisation', 'hold', 'my own policy', share => 0.5);
SELECT count(*) AS rules_seen FROM pgcredit.credit_rule;
UPDATE pgcredit.credit_rule SET action = 'shadow' WHERE id = 2;
SET ROLE regress_rr_admin;
UPDATE pgcredit.credit_rule SET action = 'shadow' WHERE id = 2;
SELECT created_by = session_user AS by_me FROM pgcredit.add_rule('utilisation', 'shadow', 'admin tries', share => 0.5);
RESET ROLE;
SELECT (pgcredit.drop_rule(id, 'done')).kind AS dropped FROM pgcredit.credit_rule WHERE NOT builtin;
DROP ROLE regress_rr_controller;
DROP ROLE regress_rr_admin;

-- limit_expired: days of grace added to the review date never wrap
-- around.  A review date of infinity (never due), or a grace of the
-- most days an int holds, never expires the limit; a review date of
-- -infinity always has.
SELECT id AS grace_rule FROM pgcredit.add_rule('limit_expired', 'refuse', 'grace for RC', days => 30,
                                               scope => 'customer', scope_value => 'RC') \gset
SELECT next_review FROM pgcredit.update_account('RC', 'never due', next_review => 'infinity');
INSERT INTO rr_order (customer, amount) VALUES ('RC', 10);
SELECT verdict, rule_id FROM pgcredit.check_order('RC', 10);
SELECT (pgcredit.drop_rule(:grace_rule, 'grace over')).kind AS dropped;
SELECT id AS grace_rule FROM pgcredit.add_rule('limit_expired', 'refuse', 'endless grace for RC', days => 2147483647,
                                               scope => 'customer', scope_value => 'RC') \gset
SELECT next_review > current_date AS reviewed
FROM pgcredit.update_account('RC', 'reviewed', next_review => (current_date + 365));
INSERT INTO rr_order (customer, amount) VALUES ('RC', 10);
SELECT verdict, rule_id FROM pgcredit.check_order('RC', 10);
SELECT next_review FROM pgcredit.update_account('RC', 'long overdue', next_review => '-infinity');
DO $$
DECLARE d text;
BEGIN
  INSERT INTO rr_order (customer, amount) VALUES ('RC', 10);
  RAISE NOTICE 'not refused';
EXCEPTION WHEN SQLSTATE 'PC008' THEN
  GET STACKED DIAGNOSTICS d = PG_EXCEPTION_DETAIL;
  -- the days since -infinity (above what an int holds), never negative
  RAISE WARNING 'refused: %', d ~ '^The account''s review is [0-9]{10,} days overdue, with 2147483647 days';
END $$;
SELECT verdict, kind FROM pgcredit.check_order('RC', 10);
SELECT (pgcredit.drop_rule(:grace_rule, 'grace over')).kind AS dropped;
SELECT next_review > current_date AS reviewed
FROM pgcredit.update_account('RC', 'reviewed', next_review => (current_date + 365));

-- a rule added in a transaction applies to that transaction's next
-- order; rolled back (to a savepoint), it is forgotten at once
BEGIN;
INSERT INTO rr_order (customer, amount) VALUES ('RC', 10);
SAVEPOINT before_rule;
SELECT id AS tx_rule FROM pgcredit.add_rule('largest_order', 'refuse', 'RC small orders only', amount => 5,
                                            scope => 'customer', scope_value => 'RC') \gset
\set VERBOSITY terse
INSERT INTO rr_order (customer, amount) VALUES ('RC', 10);
\set VERBOSITY default
\echo :LAST_ERROR_SQLSTATE
ROLLBACK TO SAVEPOINT before_rule;
INSERT INTO rr_order (customer, amount) VALUES ('RC', 10);
SELECT count(*) AS rules_of_rc FROM pgcredit.credit_rule WHERE scope_value = 'RC';
COMMIT;

SELECT relid FROM pgcredit.detach('rr_order');
SELECT relid FROM pgcredit.detach('rr_held');
SELECT relid FROM pgcredit.detach('rr_invoice');
DROP TABLE rr_order, rr_held, rr_invoice;
DELETE FROM pgcredit.held_order WHERE customer IN ('RA', 'RB', 'RC', 'RT');
DELETE FROM pgcredit.alert WHERE customer IN ('RA', 'RB', 'RC', 'RT');
DELETE FROM pgcredit.audit_log WHERE customer IN ('RA', 'RB', 'RC', 'RT') OR action LIKE '%rule%'
  OR action = 'set_max_days_past_due';
DELETE FROM pgcredit.exposure WHERE customer IN ('RA', 'RB', 'RC', 'RT');
DELETE FROM pgcredit.account WHERE customer IN ('RA', 'RB', 'RC', 'RT');

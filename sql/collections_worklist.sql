-- The collectors' worklist: the order worked out by hand, today's
-- action, collectors by assignment, and what a collector may not do.
\set SHOW_CONTEXT never
SET client_min_messages = warning;

CREATE TABLE wl_invoice (id int PRIMARY KEY, customer text NOT NULL, amount numeric(12,2) NOT NULL, due date);
SELECT kind FROM pgcredit.attach_receivables('wl_invoice', 'customer', 'amount', 'due');
SELECT name FROM pgcredit.create_dunning_policy('wl', 'worklist test');
SELECT level FROM pgcredit.set_dunning_level('wl', 1, 7, 'phone', 'call', 'worklist test');
SELECT level FROM pgcredit.set_dunning_level('wl', 2, 30, 'letter', 'final', 'worklist test');
SELECT pgcredit.set_tier_dunning_policy('default', 'wl', 'worklist test');

SELECT customer FROM pgcredit.open_account('W1', 5000, risk_tier => 'A', reason => 'worklist test');
SELECT customer FROM pgcredit.open_account('W2', 5000, risk_tier => 'E', reason => 'worklist test');
SELECT customer FROM pgcredit.open_account('W4', 5000, risk_tier => 'C', reason => 'worklist test');
SELECT customer FROM pgcredit.open_account('W5', 5000, risk_tier => 'B', reason => 'worklist test');
-- W5's latest scoring put it in tier D: the scoring wins over the account
INSERT INTO pgcredit.score_history (customer, as_of, combined_score, tier)
VALUES ('W5', '2024-05-01', 35, 'D'), ('W5', '2024-07-01', 90, 'A');

INSERT INTO wl_invoice VALUES
  (1, 'W1', 1000, '2024-05-22'),                       -- 10 days on 06-01
  (2, 'W2', 300, '2024-04-17'),                        -- 45 days
  (3, 'W3', 500, '2023-11-14'),                        -- 200 days, no account
  (4, 'W4', 800, '2024-06-15'),                        -- not due
  (5, 'W5', 100, '2024-05-27'), (6, 'W5', 200, '2024-04-02');  -- 5 and 60 days

SET pgcredit.horizon_today = '2024-06-01';
-- W2 promised on 05-10 to pay 100 by 05-20, and paid nothing: the run
-- of 06-01 finds the promise broken
SELECT customer, amount, promised_for, status
FROM pgcredit.record_promise('W2', 100, '2024-05-20', 'will pay part', made_on => '2024-05-10');
SELECT customer, level, template FROM pgcredit.run_collections('2024-06-01') ORDER BY customer;
SELECT customer, status, paid FROM pgcredit.promise_to_pay WHERE customer LIKE 'W%';

-- On 2024-06-01, priority = overdue x tier weight x (1 + days of the
-- oldest item, at most 180, / 30) x (1 + 0.5 a broken promise):
--   W3  500 x 1.5 (no tier) x (1 + 180/30 = 7)        = 5250.00
--   W2  300 x 3 (E)         x (1 + 45/30 = 2.5) x 1.5 = 3375.00
--   W5  300 x 2 (D, scored 05-01) x (1 + 60/30 = 3)   = 1800.00
--   W1  1000 x 1 (A)        x (1 + 10/30 = 1.3333)    = 1333.30
-- W4 has nothing past due: not listed.
SELECT customer, priority, overdue, oldest_days_past_due, risk_tier, combined_score, tier_weight,
       age_weight, broken_promises, promise_weight, account_status, level, action_today, channel_today,
       next_level, next_action_on
FROM pgcredit.collection_worklist_at('2024-06-01');

-- The view reads the day from pgcredit.as_of
SET pgcredit.as_of = '2024-06-01';
SELECT day, customer, priority FROM pgcredit.collection_worklist;
RESET pgcredit.as_of;

-- Collectors: alice works W1 herself and W2 through her team; bob W3
CREATE ROLE regress_wl_team IN ROLE pgcredit_collector;
CREATE ROLE regress_wl_alice IN ROLE regress_wl_team;
CREATE ROLE regress_wl_bob IN ROLE pgcredit_collector;
CREATE ROLE regress_wl_reader IN ROLE pgcredit_reader;
CREATE ROLE regress_wl_controller IN ROLE pgcredit_controller;
CREATE ROLE regress_wl_nobody;
SET ROLE regress_wl_controller;
SELECT customer, collector FROM pgcredit.assign_collector('W1', 'regress_wl_alice', 'her region');
SELECT customer, collector FROM pgcredit.assign_collector('W2', 'regress_wl_team', 'the team''s');
SELECT customer, collector FROM pgcredit.assign_collector('W3', 'regress_wl_bob', 'his region');
SELECT customer, collector FROM pgcredit.assign_collector('W5', 'regress_wl_bob', 'his region');
SELECT customer, collector FROM pgcredit.assign_collector('W5', NULL, 'nobody''s for now');
RESET ROLE;

-- Off (the default): every collector sees every customer
SET ROLE regress_wl_bob;
SELECT customer, collector, priority FROM pgcredit.collection_worklist_at('2024-06-01');
RESET ROLE;

-- On: a collector sees the customers of the roles it is a member of; a
-- reader (and every role above) sees them all
SELECT pgcredit.set_worklist_by_assignment(true, 'collectors work their own customers');
SET ROLE regress_wl_alice;
SELECT customer, collector, priority FROM pgcredit.collection_worklist_at('2024-06-01');
RESET ROLE;
SET ROLE regress_wl_bob;
SELECT customer, collector, priority FROM pgcredit.collection_worklist_at('2024-06-01');
RESET ROLE;
SET ROLE regress_wl_reader;
SELECT count(*) FROM pgcredit.collection_worklist_at('2024-06-01');
RESET ROLE;

-- A collector reads the worklist and nothing else, and changes nothing
SET ROLE regress_wl_alice;
SELECT count(*) FROM pgcredit.collection_action;
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) FROM pgcredit.collector_assignment;
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) FROM pgcredit.collection_status;
\echo :LAST_ERROR_SQLSTATE
SELECT pgcredit.assign_collector('W3', 'regress_wl_alice', 'mine now');
\echo :LAST_ERROR_SQLSTATE
SELECT pgcredit.set_worklist_by_assignment(false, 'show me everything');
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) FROM pgcredit.run_collections('2024-06-01');
\echo :LAST_ERROR_SQLSTATE
-- SET ROLE to a role it is not a member of is refused by PostgreSQL
SET ROLE regress_wl_bob;
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
SET ROLE regress_wl_nobody;
SELECT count(*) FROM pgcredit.collection_worklist;
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
SET ROLE regress_wl_controller;
SELECT pgcredit.set_worklist_by_assignment(false, 'r');
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;

-- Bad input changes nothing
SELECT pgcredit.assign_collector('W1', 'regress_wl_nosuchrole', 'r');
\echo :LAST_ERROR_SQLSTATE
SELECT pgcredit.assign_collector(NULL, 'regress_wl_bob', 'r');
SELECT pgcredit.assign_collector('W1', 'regress_wl_bob', ' ');
SELECT pgcredit.set_worklist_by_assignment(NULL, 'r');
SELECT count(*) FROM pgcredit.collection_worklist_at('infinity');
SELECT customer, collector FROM pgcredit.collector_assignment ORDER BY customer;
SELECT action, customer, old_value, new_value, reason FROM pgcredit.audit_log
WHERE action IN ('assign_collector', 'set_worklist_by_assignment') ORDER BY id;

-- Clean up
RESET pgcredit.horizon_today;
SELECT pgcredit.set_worklist_by_assignment(false, 'worklist test done');
SELECT relid FROM pgcredit.detach('wl_invoice');
DROP TABLE wl_invoice;
DELETE FROM pgcredit.collector_assignment;
DELETE FROM pgcredit.promise_to_pay WHERE customer LIKE 'W%';
DELETE FROM pgcredit.alert WHERE customer LIKE 'W%';
DELETE FROM pgcredit.collection_action WHERE customer LIKE 'W%';
DELETE FROM pgcredit.collection_state; DELETE FROM pgcredit.collection_run;
DELETE FROM pgcredit.dunning_assignment;
DELETE FROM pgcredit.dunning_policy;
DELETE FROM pgcredit.score_history WHERE customer LIKE 'W%';
DELETE FROM pgcredit.account WHERE customer LIKE 'W%';
DELETE FROM pgcredit.exposure WHERE customer LIKE 'W%';
DROP ROLE regress_wl_alice, regress_wl_team, regress_wl_bob, regress_wl_reader, regress_wl_controller,
  regress_wl_nobody;

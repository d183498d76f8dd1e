-- Promises to pay and payment plans: a promise kept, one partly kept and
-- one broken, decided by the first run after their day; dunning paused on
-- exactly the days they cover; a plan followed by dunning on its
-- instalments' dates until an instalment is missed and the items are
-- dunned again at their own levels; a plan completed within its grace
-- days; a replay of every day from nothing; payments without a date; the
-- score; bad input; attacks by each role.  Every expected figure is
-- worked out by hand in the comments.
\set SHOW_CONTEXT never
SET client_min_messages = warning;
SELECT coalesce(max(id), 0) AS pp_audit_start FROM pgcredit.audit_log \gset
SELECT coalesce(max(id), 0) AS pp_alert_start FROM pgcredit.alert \gset

-- The receivables, with a payment date: every payment below is dated, so
-- that each day sees what was open on it, also in a replay
CREATE TABLE pp_invoice (id int PRIMARY KEY, customer text NOT NULL, open_amount numeric(12,2) NOT NULL,
                         invoice_amount numeric(12,2) NOT NULL, due date, paid_on date);
SELECT kind FROM pgcredit.attach_receivables('pp_invoice', 'customer', 'open_amount', 'due',
                                             invoice_amount_column => 'invoice_amount',
                                             paid_column => 'paid_on');

-- One ladder for everyone: a reminder 2 days before the due date, then
-- 3, 14 and 30 days after it (the last puts the account on hold); no
-- quiet days, no minimum
SELECT name FROM pgcredit.create_dunning_policy('pp', 'promises test');
SELECT level FROM pgcredit.set_dunning_level('pp', 1, -2, 'email', 'reminder', 'ladder');
SELECT level FROM pgcredit.set_dunning_level('pp', 2, 3, 'email', 'first_notice', 'ladder');
SELECT level FROM pgcredit.set_dunning_level('pp', 3, 14, 'letter', 'second_notice', 'ladder');
SELECT level FROM pgcredit.set_dunning_level('pp', 4, 30, 'letter', 'final_notice', 'ladder', 'hold');
SELECT pgcredit.set_tier_dunning_policy('default', 'pp', 'promises test');
SELECT customer FROM pgcredit.open_account('PL1', 5000, reason => 'promises test');

INSERT INTO pp_invoice VALUES
  -- PK keeps its promise: paid on 03-10
  (1, 'PK', 0, 500, '2024-03-02', '2024-03-10'),
  -- PP keeps it partly: item 2 paid on 03-08, item 3 never
  (2, 'PP', 0, 300, '2024-02-20', '2024-03-08'),
  (3, 'PP', 200, 200, '2024-02-20', NULL),
  -- PB breaks it: nothing paid
  (4, 'PB', 400, 400, '2024-02-27', NULL),
  -- PL1's plan: item 12 paid on 03-14, item 11 only on 05-20
  (11, 'PL1', 0, 600, '2024-02-15', '2024-05-20'),
  (12, 'PL1', 0, 400, '2024-02-25', '2024-03-14'),
  -- PL2's plan: paid on 03-25, within the grace days of its instalment
  (13, 'PL2', 0, 200, '2024-02-20', '2024-03-25');

-- The book's today is 2024-05-31; a nightly job runs from 02-10 to 03-04
SET pgcredit.horizon_today = '2024-05-31';
CREATE FUNCTION pg_temp.pp_run(first date, last date) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  FOR d IN 0 .. last - first LOOP
    PERFORM pgcredit.run_collections(first + d);
  END LOOP;
END
$$;
SELECT pg_temp.pp_run('2024-02-10', '2024-03-04');

-- On 03-05 PK, PP and PB promise to pay by 03-12 (PP and PB all they
-- owe, PK all of it too); PL1 and PL2 agree payment plans.
-- Each promise covers the items open on 03-04, the day before it is
-- made (an item paid later counts whole): PK item 1 (500), PP items 2
-- and 3 (300 + 200 = 500), PB item 4 (400).  Dunning has run to 03-04:
-- the promises pause from 03-05 to 03-12.
SELECT customer, amount, made_on, promised_for, status, owed, pauses_from, pauses_until
FROM pgcredit.record_promise('PK', 500, '2024-03-12', 'will pay by the 12th', made_on => '2024-03-05');
SELECT customer, amount, owed, pauses_from, pauses_until
FROM pgcredit.record_promise('PP', 500, '2024-03-12', 'will pay by the 12th', made_on => '2024-03-05');
SELECT customer, amount, owed, pauses_from, pauses_until
FROM pgcredit.record_promise('PB', 400, '2024-03-12', 'will pay by the 12th', made_on => '2024-03-05');
SELECT p.customer, i.item_key ->> 'id' AS item, i.due, i.amount
FROM pgcredit.promise_to_pay p JOIN pgcredit.promise_item i ON i.promise_id = p.id
WHERE p.customer LIKE 'P_' ORDER BY p.customer, item;

-- PL1 reschedules what it has past due on 03-05, items 11 (600) and 12
-- (400): 1000 in three instalments, 300 on 03-15, 300 on 04-15, 400 on
-- 05-15, no grace.  PL2 reschedules item 13 (200): 100 on 03-20 and 100
-- on 04-20, with 5 days of grace.
SELECT customer, created_on, amount, grace_days, status, pauses_from, ended_on
FROM pgcredit.create_payment_plan('PL1', '[{"due": "2024-03-15", "amount": 300},
                                          {"due": "2024-04-15", "amount": 300},
                                          {"due": "2024-05-15", "amount": 400}]',
                                  'cannot pay at once', created_on => '2024-03-05');
SELECT customer, created_on, amount, grace_days, status, pauses_from
FROM pgcredit.create_payment_plan('PL2', '[{"due": "2024-03-20", "amount": 100},
                                          {"due": "2024-04-20", "amount": "100"}]',
                                  'two halves', created_on => '2024-03-05', grace_days => 5);
SELECT p.customer, i.item_key ->> 'id' AS item, i.due, i.amount
FROM pgcredit.payment_plan p JOIN pgcredit.payment_plan_item i ON i.plan_id = p.id
WHERE p.customer LIKE 'PL_' ORDER BY p.customer, item;
SELECT p.customer, i.n, i.due, i.amount
FROM pgcredit.payment_plan p JOIN pgcredit.plan_instalment i ON i.plan_id = p.id
WHERE p.customer LIKE 'PL_' ORDER BY p.customer, i.n;
-- the plans' ids, to show instalment keys without them
SELECT id AS pl1 FROM pgcredit.payment_plan WHERE customer = 'PL1' \gset
SELECT id AS pl2 FROM pgcredit.payment_plan WHERE customer = 'PL2' \gset

-- The days of the promises: on 03-12, their last day, they are open
SELECT pg_temp.pp_run('2024-03-05', '2024-03-12');
SELECT customer, status, paid, decided_on FROM pgcredit.promise_to_pay WHERE customer LIKE 'P_' ORDER BY customer;
-- The run of 03-13 decides them first, from what was paid of their items
-- from 03-05 to 03-12: PK 500 of 500 (item 1 paid on 03-10): kept; PP
-- 300 of 500 (item 2 paid on 03-08, item 3 open): partly kept; PB 0:
-- broken
SELECT pg_temp.pp_run('2024-03-13', '2024-03-13');
SELECT customer, amount, status, paid, decided_on FROM pgcredit.promise_to_pay WHERE customer LIKE 'P_' ORDER BY customer;
SELECT kind, customer, details - 'promise' AS details FROM pgcredit.alert
WHERE id > :pp_alert_start AND kind LIKE 'promise%' ORDER BY customer;
-- ... and the rest of the days
SELECT pg_temp.pp_run('2024-03-14', '2024-05-31');

-- Every action, by hand:
-- PK, item 1 due 03-02: level 1 on 02-29 (a leap day).  Its level 2
--   would come on 03-05, the day the promise is made: paused to 03-12,
--   and item 1 is paid on 03-10.  Nothing more.
-- PP, items 2 and 3 due 02-20: level 1 on 02-18, level 2 on 02-23 (500,
--   both); level 3 comes on 03-05: paused.  On 03-13 item 3 (200) has
--   reached level 3 (02-20 + 14 = 03-05) and goes out; item 2 is paid.
--   Level 4 (hold) on 03-21 (02-20 + 30); PP has no account to hold.
-- PB, item 4 due 02-27: level 1 on 02-25, level 2 on 03-01; level 3
--   (03-12, the promise's last day) paused: out on 03-13.  Level 4 on
--   03-28.
-- PL1 before its plan: item 11 (due 02-15) level 1 on 02-13, level 2
--   on 02-18; item 12 (due 02-25) level 1 on 02-23, level 2 on 02-28;
--   item 11 level 3 on 02-29 (02-15 + 14).  From 03-05 the plan: items 11
--   and 12 leave dunning (item 11's level 4 on 03-16 and item 12's level
--   3 on 03-10 are not sent); the instalments come instead.  Instalment 1
--   (300, due 03-15): its reminder on 03-13, 300 unpaid.  Item 12 (400)
--   is paid on 03-14: instalment 1 is paid, 100 goes to instalment 2,
--   200 of it left.  Instalment 2 (due 04-15): its reminder on 04-13 for
--   200; unpaid at the end of 04-15 (no grace): the run of 04-16 breaks
--   the plan, and item 11 (600) is dunned again: 61 days late, past
--   level 4 (02-15 + 30 = 03-16), above the level 3 it had reached: out
--   on 04-16, and the account goes on hold.  Item 11 paid on 05-20:
--   today's run (05-31) lifts the hold.
-- PL2, item 13 (due 02-20): level 1 on 02-18, level 2 on 02-23; level 3
--   on 03-05 under the plan: not sent.  Instalment 1 (100, due 03-20):
--   reminder on 03-18, level 2 on 03-23 (03-20 + 3), both for 100; the
--   grace days run to 03-25, when item 13 is paid (200): the run of
--   03-26 finds every item paid and completes the plan.
-- overdue: what dunning follows and is past due on the day: under a plan,
--   the instalments past due (0 on 03-13: none is due before it).
SELECT as_of, customer, level, template, amount, items, overdue, account_status, status_set
FROM pgcredit.collection_action WHERE customer IN ('PK', 'PP', 'PB', 'PL1', 'PL2') ORDER BY customer, as_of;
SELECT a.as_of, a.customer, i.relid::regclass AS "table",
       CASE WHEN i.relid = 'pgcredit.plan_instalment'::regclass
            THEN format('plan %s, instalment %s', CASE (i.item_key ->> 'plan')::bigint WHEN :pl1 THEN 'PL1'
                                                    WHEN :pl2 THEN 'PL2' END, i.item_key ->> 'instalment')
            ELSE 'item ' || (i.item_key ->> 'id') END AS item, i.due, i.amount, i.level
FROM pgcredit.collection_action a JOIN pgcredit.collection_action_item i ON i.action_id = a.id
WHERE a.customer IN ('PL1', 'PL2') ORDER BY a.customer, a.as_of, item;

-- The plans as the runs left them: PL1 broken on 04-16 at instalment 2,
-- PL2 completed on 03-26
SELECT customer, status, ended_on, missed_instalment FROM pgcredit.payment_plan
WHERE customer LIKE 'PL_' ORDER BY customer;
SELECT kind, customer, details - 'plan' AS details FROM pgcredit.alert
WHERE id > :pp_alert_start AND kind = 'plan_broken';
SELECT kind, customer, details ->> 'status' AS status FROM pgcredit.alert
WHERE id > :pp_alert_start AND kind = 'account_hold' AND customer = 'PL1';
SELECT customer, status FROM pgcredit.account WHERE customer = 'PL1';

-- The instalments of the plans running on a day, with what was paid:
-- on 03-13 nothing of PL1's (item 12 is paid on 03-14) nor PL2's; on
-- 03-14 PL1's 400 pays instalment 1 (300) and 100 of instalment 2; on
-- 04-16 PL1 no longer runs, and PL2 was completed on 03-26
SELECT plan_id = :pl1 AS is_pl1, customer, n, due, amount, paid, unpaid
FROM pgcredit.plan_instalments_at('2024-03-13') ORDER BY customer, n;
SELECT customer, n, due, amount, paid, unpaid FROM pgcredit.plan_instalments_at('2024-03-14')
WHERE customer = 'PL1' ORDER BY n;
SELECT count(*) FROM pgcredit.plan_instalments_at('2024-04-16');

-- Where PL1 stands on 04-14, under its plan: two items, instalment 2's
-- 200 (not yet due, at level 1 since 04-13) and instalment 3's 400; the
-- next level due is instalment 2's level 2 on 04-18 (04-15 + 3), should
-- the plan still run then.  On 04-16 its items again: item 11, at level
-- 4, the last
SELECT day, customer, open_items, overdue, level, last_action_on, next_level, next_action_on
FROM pgcredit.collection_status_at('2024-04-14') WHERE customer = 'PL1';
SELECT day, customer, open_items, overdue, level, last_action_on, next_level, next_action_on
FROM pgcredit.collection_status_at('2024-04-16') WHERE customer = 'PL1';

-- Replaying every day from nothing reproduces every action: a promise
-- or a plan decided later still holds on the days it held
CREATE TEMP TABLE pp_first AS
  SELECT a.as_of, a.customer, a.level, a.amount, a.items, a.overdue, a.account_status, a.status_set,
         i.relid, i.item_key, i.due, i.amount AS item_amount, i.level AS item_level
  FROM pgcredit.collection_action a JOIN pgcredit.collection_action_item i ON i.action_id = a.id
  WHERE a.customer IN ('PK', 'PP', 'PB', 'PL1', 'PL2');
DELETE FROM pgcredit.collection_action WHERE customer IN ('PK', 'PP', 'PB', 'PL1', 'PL2');
DELETE FROM pgcredit.collection_state; DELETE FROM pgcredit.collection_run;
SELECT pg_temp.pp_run('2024-02-10', '2024-05-31');
SELECT count(*) AS differences FROM (
  (SELECT a.as_of, a.customer, a.level, a.amount, a.items, a.overdue, a.account_status, a.status_set,
          i.relid, i.item_key, i.due, i.amount, i.level
   FROM pgcredit.collection_action a JOIN pgcredit.collection_action_item i ON i.action_id = a.id
   WHERE a.customer IN ('PK', 'PP', 'PB', 'PL1', 'PL2')
   EXCEPT ALL SELECT * FROM pp_first)
  UNION ALL
  (SELECT * FROM pp_first EXCEPT ALL
   SELECT a.as_of, a.customer, a.level, a.amount, a.items, a.overdue, a.account_status, a.status_set,
          i.relid, i.item_key, i.due, i.amount, i.level
   FROM pgcredit.collection_action a JOIN pgcredit.collection_action_item i ON i.action_id = a.id
   WHERE a.customer IN ('PK', 'PP', 'PB', 'PL1', 'PL2'))) d;
SELECT count(*) AS rows_compared FROM pp_first;
-- the decisions were taken once: no alert of a promise or a plan twice
SELECT kind, count(*) FROM pgcredit.alert
WHERE id > :pp_alert_start AND kind IN ('promise_broken', 'promise_partly_kept', 'plan_broken')
GROUP BY kind ORDER BY kind;

-- Broken promises in the 365 days before a day: PB's (day 03-12) counts
-- from 03-13, the day after it, to 2025-03-12, 365 days after it (the
-- window of 2025-03-12 starts on 2024-03-12); PP's partly kept likewise
SELECT d, b.customer, b.broken, b.partly_kept
FROM unnest('{2024-03-12,2024-03-13,2025-03-12,2025-03-13}'::date[]) d
LEFT JOIN pgcredit.broken_promises_at(d) b ON b.customer LIKE 'P_'
ORDER BY d, b.customer;
SET pgcredit.as_of = '2024-06-01';
SELECT * FROM pgcredit.promise_record WHERE customer LIKE 'P_';
RESET pgcredit.as_of;

-- The score: with broken_promise_penalty 7.5, PB's combined score loses
-- 7.5 points for its one broken promise; PP's partly kept one costs
-- nothing (scored in a transaction rolled back)
BEGIN;
SELECT count(*) > 0 AS scored FROM pgcredit.refresh_scores('2024-04-01');
CREATE TEMP TABLE pp_plain AS SELECT customer, combined_score FROM pgcredit.score_history
WHERE as_of = '2024-04-01' AND customer IN ('PK', 'PP', 'PB');
INSERT INTO pgcredit.risk_settings (broken_promise_penalty) VALUES (7.5);
SELECT count(*) > 0 AS scored FROM pgcredit.refresh_scores('2024-04-01');
SELECT h.customer, p.combined_score - h.combined_score AS points_off
FROM pgcredit.score_history h JOIN pp_plain p USING (customer)
WHERE h.as_of = '2024-04-01' ORDER BY h.customer;
-- a penalty above the score takes it to 0, not below
UPDATE pgcredit.risk_settings SET broken_promise_penalty = 1000;
SELECT count(*) > 0 AS scored FROM pgcredit.refresh_scores('2024-04-01');
SELECT customer, combined_score, tier FROM pgcredit.score_history WHERE as_of = '2024-04-01' AND customer = 'PB';
ROLLBACK;
INSERT INTO pgcredit.risk_settings (broken_promise_penalty) VALUES ('NaN');
INSERT INTO pgcredit.risk_settings (broken_promise_penalty) VALUES (-1);

-- Recorded after the day's run: on 05-31, run already, PC's promise
-- pauses from 06-01, the first day not yet run; cancelled the same day,
-- it pauses nothing (pauses_until 05-31, before pauses_from)
INSERT INTO pp_invoice VALUES (5, 'PC', 250, 250, '2024-05-20', NULL);
SELECT customer, made_on, promised_for, pauses_from, pauses_until
FROM pgcredit.record_promise('PC', 100, '2024-06-10', 'will pay something', made_on => '2024-05-31');
SELECT id AS pc_promise FROM pgcredit.promise_to_pay WHERE customer = 'PC' AND status = 'open' \gset
SELECT customer, status, decided_on, pauses_from, pauses_until FROM pgcredit.cancel_promise(:pc_promise, 'withdrawn');
-- On 06-01, before its run, PC promises again: it pauses from 06-01
SET pgcredit.horizon_today = '2024-06-01';
SELECT customer, pauses_from, pauses_until
FROM pgcredit.record_promise('PC', 100, '2024-06-10', 'will pay something');
SELECT count(*) AS pc_actions FROM pgcredit.due_collection_actions('2024-06-01') WHERE customer = 'PC';
-- cancelled before the run of 06-01: PC is dunned on 06-01 again (item 5
-- due 05-20, 12 days late: level 2)
SELECT id AS pc_promise FROM pgcredit.promise_to_pay WHERE customer = 'PC' AND status = 'open' \gset
SELECT status, decided_on, pauses_from, pauses_until FROM pgcredit.cancel_promise(:pc_promise, 'withdrawn');
SELECT customer, level, amount FROM pgcredit.due_collection_actions('2024-06-01') WHERE customer = 'PC';

-- Payments without a date: an item whose open amount falls counts what
-- fell as paid from the day the run sees it.  PU owes item 21 (1000,
-- due 05-01) and agrees on 06-01, naming the item, 500 on 06-10 and 500
-- on 07-10; it pays 400, then 100 more
INSERT INTO pp_invoice VALUES (21, 'PU', 1000, 1000, '2024-05-01', NULL);
SELECT customer, amount, pauses_from
FROM pgcredit.create_payment_plan('PU', '[{"due": "2024-06-10", "amount": 500}, {"due": "2024-07-10", "amount": 500}]',
                                  'in two', items => '[{"table": "pp_invoice", "key": {"id": 21}}]');
UPDATE pp_invoice SET open_amount = 600 WHERE id = 21;
SELECT customer, n, due, amount, paid, unpaid FROM pgcredit.plan_instalments_at('2024-06-01') WHERE customer = 'PU';
UPDATE pp_invoice SET open_amount = 500 WHERE id = 21;
SELECT customer, n, due, amount, paid, unpaid FROM pgcredit.plan_instalments_at('2024-06-01') WHERE customer = 'PU';
-- PV promises 300 by 06-03 for item 22 and pays 200 of it without a date
-- (today 06-01); the run of 06-04 decides: partly kept, 200
INSERT INTO pp_invoice VALUES (22, 'PV', 300, 300, '2024-05-01', NULL);
SELECT customer, amount, owed FROM pgcredit.record_promise('PV', 300, '2024-06-03', 'by Monday');
UPDATE pp_invoice SET open_amount = 100 WHERE id = 22;
SET pgcredit.horizon_today = '2024-06-04';
SELECT pg_temp.pp_run('2024-06-01', '2024-06-04');
SELECT customer, status, paid, decided_on FROM pgcredit.promise_to_pay WHERE customer = 'PV';

-- PB, whose promise was broken, may promise again (one open at a time)
SELECT customer, amount, owed FROM pgcredit.record_promise('PB', 100, '2024-06-10', 'a second one');

-- Bad input is refused and changes nothing
SELECT count(*) AS promises FROM pgcredit.promise_to_pay \gset
SELECT count(*) AS plans FROM pgcredit.payment_plan \gset
SELECT pgcredit.record_promise(NULL, 100, '2024-06-10', 'r');
SELECT pgcredit.record_promise('PP', NULL, '2024-06-10', 'r');
SELECT pgcredit.record_promise('PP', 0, '2024-06-10', 'r');
SELECT pgcredit.record_promise('PP', -5, '2024-06-10', 'r');
SELECT pgcredit.record_promise('PP', 'NaN', '2024-06-10', 'r');
SELECT pgcredit.record_promise('PP', 'Infinity', '2024-06-10', 'r');
SELECT pgcredit.record_promise('PP', 100, NULL, 'r');
SELECT pgcredit.record_promise('PP', 100, 'infinity', 'r');
SELECT pgcredit.record_promise('PP', 100, '2024-06-01', 'r');
SELECT pgcredit.record_promise('PP', 100, '2025-06-06', 'r');
SELECT pgcredit.record_promise('PP', 100, '2024-06-10', 'r', made_on => '2024-06-05');
SELECT pgcredit.record_promise('PP', 100, '2024-06-10', 'r', made_on => NULL);
SELECT pgcredit.record_promise('PP', 100, '2024-06-10', NULL);
SELECT pgcredit.record_promise('PP', 100, '2024-06-10', ' ');
SELECT pgcredit.record_promise(repeat('x', 1001), 100, '2024-06-10', 'r');
SELECT pgcredit.record_promise('NOBODY', 100, '2024-06-10', 'r');
SELECT pgcredit.record_promise('PP', 201, '2024-06-10', 'r');
SELECT pgcredit.record_promise('PU', 100, '2024-06-10', 'r');
\echo :LAST_ERROR_SQLSTATE
SELECT pgcredit.record_promise('PB', 100, '2024-06-11', 'r');
SELECT pgcredit.create_payment_plan('PB', '[{"due": "2024-06-10", "amount": 400}]', 'r');
\echo :LAST_ERROR_SQLSTATE
SELECT pgcredit.cancel_promise(NULL, 'r');
SELECT pgcredit.cancel_promise(-1, 'r');
SELECT id AS pk_promise FROM pgcredit.promise_to_pay WHERE customer = 'PK' \gset
SELECT pgcredit.cancel_promise(:pk_promise, 'r');
SELECT pgcredit.create_payment_plan('PP', NULL, 'r');
SELECT pgcredit.create_payment_plan('PP', '{"due": "2024-06-10", "amount": 200}', 'r');
SELECT pgcredit.create_payment_plan('PP', '[]', 'r');
SELECT pgcredit.create_payment_plan('PP', '[{"due": "2024-06-10"}]', 'r');
SELECT pgcredit.create_payment_plan('PP', '[{"due": "2024-06-31", "amount": 200}]', 'r');
SELECT pgcredit.create_payment_plan('PP', '[{"due": "2024-06-10", "amount": "lots"}]', 'r');
SELECT pgcredit.create_payment_plan('PP', '[{"due": "infinity", "amount": 200}]', 'r');
SELECT pgcredit.create_payment_plan('PP', '[{"due": "2024-06-10", "amount": 0}]', 'r');
SELECT pgcredit.create_payment_plan('PP', '[{"due": "2024-06-10", "amount": "NaN"}]', 'r');
SELECT pgcredit.create_payment_plan('PP', '[{"due": "2024-06-10", "amount": "-Infinity"}]', 'r');
SELECT pgcredit.create_payment_plan('PP', '[{"due": "2024-05-10", "amount": 200}]', 'r');
SELECT pgcredit.create_payment_plan('PP', '[{"due": "2024-06-10", "amount": 100}, {"due": "2024-06-10", "amount": 100}]', 'r');
SELECT pgcredit.create_payment_plan('PP', '[{"due": "2034-06-13", "amount": 200}]', 'r');
SELECT pgcredit.create_payment_plan('PP', '[{"due": "2024-06-10", "amount": 150}]', 'r');
\echo :LAST_ERROR_SQLSTATE
SELECT pgcredit.create_payment_plan('PP', '[{"due": "2024-06-10", "amount": 200}]', 'r', items => '{}');
SELECT pgcredit.create_payment_plan('PP', '[{"due": "2024-06-10", "amount": 200}]', 'r', items => '[{"key": {"id": 3}}]');
SELECT pgcredit.create_payment_plan('PP', '[{"due": "2024-06-10", "amount": 200}]', 'r',
                                    items => '[{"table": "pp_nothing", "key": {"id": 3}}]');
SELECT pgcredit.create_payment_plan('PP', '[{"due": "2024-06-10", "amount": 200}]', 'r',
                                    items => '[{"table": "pp_invoice", "key": {"id": 3}}, {"table": "pp_invoice", "key": {"id": "3"}}]');
SELECT pgcredit.create_payment_plan('PP', '[{"due": "2024-06-10", "amount": 200}]', 'r',
                                    items => '[{"table": "public.pp_invoice", "key": {"id": 4}}]');
SELECT pgcredit.create_payment_plan('PP', '[{"due": "2024-06-10", "amount": 200}]', 'r',
                                    items => '[{"table": "pp_invoice", "key": {"id": 2}}]');
\echo :LAST_ERROR_SQLSTATE
SELECT pgcredit.create_payment_plan('PK', '[{"due": "2024-06-10", "amount": 200}]', 'r');
\echo :LAST_ERROR_SQLSTATE
SELECT pgcredit.create_payment_plan('PP', '[{"due": "2024-06-10", "amount": 200}]', 'r', grace_days => -1);
SELECT pgcredit.create_payment_plan('PP', '[{"due": "2024-06-10", "amount": 200}]', 'r', grace_days => NULL);
SELECT pgcredit.create_payment_plan('PP', '[{"due": "2024-06-10", "amount": 200}]', 'r', created_on => '2024-06-05');
SELECT pgcredit.create_payment_plan('PP', '[{"due": "2024-06-10", "amount": 200}]', '');
SELECT pgcredit.create_payment_plan('PU', '[{"due": "2024-06-10", "amount": 500}]', 'r');
\echo :LAST_ERROR_SQLSTATE
SELECT pgcredit.cancel_payment_plan(NULL, 'r');
SELECT pgcredit.cancel_payment_plan(-1, 'r');
SELECT pgcredit.cancel_payment_plan(:pl1, 'r');
SELECT pgcredit.plan_instalments_at(NULL);
SELECT count(*) = :promises AS promises_unchanged FROM pgcredit.promise_to_pay;
SELECT count(*) = :plans AS plans_unchanged FROM pgcredit.payment_plan;
-- a plan is cancelled: from the first day not yet run (06-05; 06-04 ran)
-- its item is dunned again
SELECT id AS pu_plan FROM pgcredit.payment_plan WHERE customer = 'PU' \gset
SELECT customer, status, ended_on FROM pgcredit.cancel_payment_plan(:pu_plan, 'renegotiated');

-- Every change is audited with its reason; the runs' decisions too
SELECT action, customer, new_value ->> 'status' AS status, reason FROM pgcredit.audit_log
WHERE id > :pp_audit_start
  AND action IN ('record_promise', 'cancel_promise', 'decide_promise', 'create_payment_plan',
                 'cancel_payment_plan', 'decide_payment_plan')
ORDER BY id;

-- Attacks.  The owner of a receivables table has a row-level security
-- policy whose function writes down who ran it: recording a promise
-- reads the customer's rows through an index as the table's owner, never
-- as pgcredit; the daily run reads them with a plain heap scan (the
-- function does not run at all)
CREATE ROLE regress_pp_nobody;
CREATE ROLE regress_pp_app;
CREATE ROLE regress_pp_reader IN ROLE pgcredit_reader;
CREATE ROLE regress_pp_controller IN ROLE pgcredit_controller;
CREATE ROLE regress_pp_owner IN ROLE pgcredit_admin;
GRANT CREATE ON SCHEMA public TO regress_pp_owner;
SET ROLE regress_pp_owner;
CREATE TABLE pp_spy_log (who name);
CREATE FUNCTION pp_spy() RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO public.pp_spy_log VALUES (current_user);
  RETURN true;
END
$$;
GRANT INSERT ON pp_spy_log TO PUBLIC;
CREATE TABLE pp_owned (id int PRIMARY KEY, customer text NOT NULL, amount numeric(12,2) NOT NULL, due date);
CREATE INDEX ON pp_owned (customer);
CREATE POLICY pp_everything ON pp_owned USING (pp_spy());
ALTER TABLE pp_owned ENABLE ROW LEVEL SECURITY;
ALTER TABLE pp_owned FORCE ROW LEVEL SECURITY;
SELECT kind FROM pgcredit.attach_receivables('pp_owned', 'customer', 'amount', 'due');
INSERT INTO pp_owned VALUES (1, 'PX', 300, '2024-05-01');
GRANT SELECT, INSERT, UPDATE ON pp_owned TO regress_pp_app;
RESET ROLE;
DELETE FROM pp_spy_log;

-- a role with nothing
SET ROLE regress_pp_nobody;
SELECT pgcredit.record_promise('PX', 100, '2024-06-10', 'r');
\echo :LAST_ERROR_SQLSTATE
SELECT pgcredit.create_payment_plan('PX', '[{"due": "2024-06-10", "amount": 300}]', 'r');
\echo :LAST_ERROR_SQLSTATE
SELECT pgcredit.cancel_payment_plan(:pl1, 'r');
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) FROM pgcredit.promise_to_pay;
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) FROM pgcredit.promise_record;
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) FROM pgcredit.broken_promises_at('2024-06-01');
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) FROM pgcredit.plan_instalments_at('2024-06-01');
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;

-- the application: its tables, nothing of pgcredit's; it cannot forge a
-- kept promise or end a plan, nor call the internals
SET ROLE regress_pp_app;
INSERT INTO pgcredit.promise_to_pay (customer, amount, made_on, promised_for, note, status, owed, paid, decided_on,
                                     pauses_from, pauses_until)
VALUES ('PX', 300, '2024-06-01', '2024-06-02', 'x', 'kept', 300, 300, '2024-06-03', '2024-06-01', '2024-06-02');
\echo :LAST_ERROR_SQLSTATE
UPDATE pgcredit.payment_plan SET status = 'completed', ended_on = '2024-06-01';
\echo :LAST_ERROR_SQLSTATE
UPDATE pgcredit.plan_instalment SET amount = 0.01;
\echo :LAST_ERROR_SQLSTATE
SELECT pgcredit._decide_promises('2024-06-30');
\echo :LAST_ERROR_SQLSTATE
SELECT pgcredit._decide_plans('2024-06-30');
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) FROM pgcredit._open_items_of('PX', '2024-06-01');
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) FROM pgcredit._items_with_plans_at('2024-06-01');
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;

-- a reader reads, and records nothing
SET ROLE regress_pp_reader;
SELECT customer, broken, partly_kept FROM pgcredit.broken_promises_at('2024-06-01') WHERE customer LIKE 'P_'
ORDER BY customer;
SELECT count(*) FROM pgcredit.plan_instalments_at('2024-06-04');
SELECT pgcredit.record_promise('PX', 100, '2024-06-10', 'r');
\echo :LAST_ERROR_SQLSTATE
SELECT pgcredit.cancel_promise(1, 'r');
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;

-- a controller records through the functions only; its own objects named
-- like pgcredit's change nothing (every name is qualified, the path fixed)
SET ROLE regress_pp_controller;
CREATE TEMP TABLE promise_to_pay (customer text, status text);
CREATE TEMP TABLE plan_instalment (plan_id bigint, n int, due date, amount numeric);
SET search_path = pg_temp, public;
SELECT customer, amount, owed, promised_for FROM pgcredit.record_promise('PX', 100, '2024-06-04', 'will pay today');
RESET search_path;
DROP TABLE pg_temp.promise_to_pay, pg_temp.plan_instalment;
UPDATE pgcredit.promise_to_pay SET status = 'kept' WHERE customer = 'PX';
\echo :LAST_ERROR_SQLSTATE
DELETE FROM pgcredit.payment_plan;
\echo :LAST_ERROR_SQLSTATE
SELECT pgcredit._decide_promises('2024-06-30');
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
SET pgcredit.horizon_today = '2024-06-05';
SET ROLE regress_pp_controller;
SELECT customer, level FROM pgcredit.run_collections('2024-06-05') WHERE customer = 'PX';
RESET ROLE;
-- the owner's function ran as the owner when the promise was recorded,
-- and not during the run that decided it (broken: nothing paid)
SELECT who, count(*) FROM pp_spy_log GROUP BY who;
SELECT customer, status, paid, decided_on FROM pgcredit.promise_to_pay WHERE customer = 'PX';

-- Clean up
RESET pgcredit.horizon_today;
SELECT relid FROM pgcredit.detach('pp_invoice');
SELECT relid FROM pgcredit.detach('pp_owned');
DROP TABLE pp_invoice, pp_owned, pp_spy_log;
DROP FUNCTION pp_spy();
DELETE FROM pgcredit.promise_to_pay;
DELETE FROM pgcredit.payment_plan;
DELETE FROM pgcredit.collection_action WHERE customer LIKE 'P%';
DELETE FROM pgcredit.collection_state; DELETE FROM pgcredit.collection_run;
DELETE FROM pgcredit.dunning_status WHERE customer LIKE 'P%';
DELETE FROM pgcredit.dunning_assignment;
DELETE FROM pgcredit.dunning_policy;
DELETE FROM pgcredit.account WHERE customer LIKE 'P%';
DELETE FROM pgcredit.exposure WHERE customer LIKE 'P%';
REVOKE CREATE ON SCHEMA public FROM regress_pp_owner;
DROP OWNED BY regress_pp_owner;
DROP ROLE regress_pp_nobody, regress_pp_app, regress_pp_reader, regress_pp_controller, regress_pp_owner;

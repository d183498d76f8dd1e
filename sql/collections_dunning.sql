-- Dunning: policies as data, run_collections() day by day, levels on
-- their exact days (a month end, a leap day), quiet days, the minimum
-- amount, payments that stop the ladder, holds set and lifted, reruns
-- that add nothing and a replay that reproduces every day.  Every
-- expected action below is worked out by hand in the comments.
\set SHOW_CONTEXT never
SET client_min_messages = warning;
-- the audit log before this file, left out of what it shows
SELECT coalesce(max(id), 0) AS dn_audit_start FROM pgcredit.audit_log \gset

-- The receivables: open amount, invoice amount and payment date, so that
-- a past day sees what was open on it
CREATE TABLE dn_invoice (id int PRIMARY KEY, customer text NOT NULL, open_amount numeric(12,2) NOT NULL,
                         invoice_amount numeric(12,2) NOT NULL, due date, paid_on date);
SELECT kind FROM pgcredit.attach_receivables('dn_invoice', 'customer', 'open_amount', 'due',
                                             invoice_amount_column => 'invoice_amount',
                                             paid_column => 'paid_on');

-- The standard ladder: a reminder 3 days before the due date, then 7,
-- 21, 45 (hold) and 60 days after it (blocked); 5 quiet days; at least 20
SELECT name, min_amount, quiet_days
FROM pgcredit.create_dunning_policy('std', 'the standard ladder', min_amount => 20, quiet_days => 5);
SELECT level, days, channel, template, account_status FROM pgcredit.set_dunning_level('std', 1, -3, 'email', 'reminder', 'ladder');
SELECT level, days, channel, template, account_status FROM pgcredit.set_dunning_level('std', 2, 7, 'email', 'first_notice', 'ladder');
SELECT level, days, channel, template, account_status FROM pgcredit.set_dunning_level('std', 3, 21, 'letter', 'second_notice', 'ladder');
SELECT level, days, channel, template, account_status FROM pgcredit.set_dunning_level('std', 4, 45, 'letter', 'final_notice', 'ladder', 'hold');
SELECT level, days, channel, template, account_status FROM pgcredit.set_dunning_level('std', 5, 60, 'agency', 'agency', 'ladder', 'blocked');
SELECT pgcredit.set_tier_dunning_policy('default', 'std', 'everyone without a tier policy');
-- tier A: one gentle reminder ten days late
SELECT name FROM pgcredit.create_dunning_policy('gentle', 'good payers', quiet_days => 0);
SELECT level, days FROM pgcredit.set_dunning_level('gentle', 1, 10, 'email', 'gentle_reminder', 'gentle');
SELECT pgcredit.set_tier_dunning_policy('A', 'gentle', 'good payers');

SELECT customer FROM pgcredit.open_account('DN1', 1000, reason => 'dunning test');
SELECT customer FROM pgcredit.open_account('DN6', 1000, reason => 'dunning test');
SELECT customer, risk_tier FROM pgcredit.update_account('DN6', 'a good payer', risk_tier => 'A');
SELECT pgcredit.exempt_from_dunning('DN7', 'disputes everything through its lawyer');

INSERT INTO dn_invoice VALUES
  -- DN1: a month end and a leap day; both paid on 2024-04-20
  (1, 'DN1', 0, 100, '2024-01-31', '2024-04-20'),
  (2, 'DN1', 0, 50, '2024-02-29', '2024-04-20'),
  -- DN2: two items 3 days apart, the quiet days push the second; paid
  (3, 'DN2', 0, 60, '2024-03-01', '2024-03-20'),
  (4, 'DN2', 0, 40, '2024-03-04', '2024-03-26'),
  -- DN3: each item alone below the minimum of 20, together above it
  (5, 'DN3', 15, 15, '2024-03-10', NULL),
  (6, 'DN3', 10, 10, '2024-03-20', NULL),
  -- DN4: the second item's reminder comes due within the quiet days and
  -- they end after its due date; item 11 is exactly the minimum
  (11, 'DN4', 0, 20, '2024-03-01', '2024-03-15'),
  (12, 'DN4', 0, 30, '2024-03-02', '2024-03-15'),
  -- DN6: tier A, the gentle policy
  (7, 'DN6', 100, 100, '2024-03-01', NULL),
  -- DN7: exempt
  (8, 'DN7', 500, 500, '2024-01-01', NULL),
  -- DN8: a credit note is nothing to dun; no due date neither
  (9, 'DN8', -30, -30, '2024-02-01', NULL),
  (10, 'DN8', 30, 30, NULL, NULL);

-- What the first day brings, without writing it
SELECT customer, policy, level, channel, template, amount, items, overdue, item_list -> 0 -> 'key' AS first_key
FROM pgcredit.due_collection_actions('2024-01-28');

-- Every day from 2024-01-25 to 2024-04-30, as a nightly job would; the
-- book's today is 2024-04-30 (only today's run lifts statuses)
SET pgcredit.horizon_today = '2024-04-30';
DO $$
BEGIN
  FOR d IN 0 .. ('2024-04-30'::date - '2024-01-25'::date) LOOP
    PERFORM pgcredit.run_collections('2024-01-25'::date + d);
  END LOOP;
END
$$;

-- DN1, daily, 5 quiet days.  Item 1 (due 01-31): level 1 on 01-28, 2 on
-- 02-07, 3 on 02-21, 4 on 03-16 (01-31 + 45 in a leap year), 5 on 03-31.
-- Item 2 (due 02-29): level 1 on 02-26 (5 days after 02-21: allowed), 2
-- on 03-07, 3 on 03-21 (5 days after 03-16), 4 on 04-14 (02-29 + 45),
-- 5 on 04-29, but both are paid on 04-20: nothing after 04-14.
-- DN2: item 3 (due 03-01) level 1 on 02-27; item 4 (due 03-04) reaches
-- level 1 on 03-01, within the quiet days: sent on 03-03.  Item 3 level 2
-- on 03-08; item 4 level 2 due 03-11, quiet until 03-13.  Item 3 is paid
-- on 03-20, before its level 3 (03-22); item 4 level 3 on 03-25, paid
-- the day after.
-- DN3: item 5 (15, due 03-10) alone is below 20 and waits; on 03-17 item
-- 5 reaches level 2 and item 6 (10, due 03-20) level 1: 25, at level 2.
-- On 03-27 item 6 reaches level 2 alone (10): nothing; on 03-31 item 5
-- reaches level 3 and with item 6's level 2 makes 25, at level 3.  On
-- 04-10 item 6's level 3 alone: nothing; on 04-24 item 5 reaches level 4
-- (03-10 + 45), with item 6's level 3: 25 at level 4, a hold for a
-- customer without an account: nothing to set.
-- DN4: item 11 (20, exactly the minimum) level 1 on 02-27; item 12's
-- reminder comes due on 02-28, quiet until 03-03, and by then item 12 is
-- past due (03-02): a reminder is not sent after the due date, item 12
-- waits for level 2.  Item 11 level 2 on 03-08; item 12 level 2 on
-- 03-09, quiet until 03-13.  Both paid on 03-15.
-- DN6: tier A, gentle: 03-11.  DN7 exempt, DN8 nothing to dun: none.
SELECT as_of, customer, policy, level, days, channel, template, amount, items, overdue,
       account_status, status_set
FROM pgcredit.collection_action WHERE customer LIKE 'DN%' ORDER BY as_of, customer;

-- The items each action named, with the level each reached
SELECT a.as_of, a.customer, i.item_key ->> 'id' AS item, i.due, i.amount, i.level
FROM pgcredit.collection_action a JOIN pgcredit.collection_action_item i ON i.action_id = a.id
WHERE a.customer LIKE 'DN%' ORDER BY a.as_of, a.customer, i.item_key ->> 'id';

-- DN1 went on hold on 03-16 and was blocked on 03-31; today's run
-- (04-30) found both items paid and lifted it; every change is audited
-- (action numbers shown as #: they depend on the tests run before)
CREATE TEMP VIEW dn_audit AS
  SELECT id, action, customer, regexp_replace(old_value::text, 'action \d+', 'action #', 'g') AS old_value,
         regexp_replace(new_value::text, 'action \d+', 'action #', 'g') AS new_value,
         regexp_replace(reason, 'action \d+', 'action #', 'g') AS reason
  FROM pgcredit.audit_log;
SELECT action, old_value, new_value, reason FROM dn_audit
WHERE customer = 'DN1' AND action = 'dunning_status' ORDER BY id;
SELECT customer, status, hold_reason FROM pgcredit.account WHERE customer = 'DN1';
SELECT count(*) AS dunning_statuses FROM pgcredit.dunning_status WHERE customer LIKE 'DN%';
SELECT kind, customer, details ->> 'status' AS status FROM pgcredit.alert
WHERE customer = 'DN1' AND kind = 'account_hold' ORDER BY id;

-- Running a day again adds nothing, the latest or an earlier one; an
-- earlier day never run is refused: it would not count the actions of
-- the days after it
SELECT count(*) FROM pgcredit.run_collections('2024-04-30');
SELECT count(*) FROM pgcredit.run_collections('2024-03-16');
SELECT count(*) FROM pgcredit.run_collections('2024-01-20');
\echo :LAST_ERROR_SQLSTATE
SELECT runs, last_as_of, latest_as_of FROM pgcredit.collection_state;
SELECT as_of, runs, actions FROM pgcredit.collection_run
WHERE as_of IN ('2024-01-25', '2024-01-28', '2024-03-16', '2024-03-31', '2024-04-30') ORDER BY as_of;
SELECT count(*) AS days_run, sum(actions) AS actions FROM pgcredit.collection_run;
SELECT count(*) AS actions FROM pgcredit.collection_action WHERE customer LIKE 'DN%';
-- the preview of a day that was run shows nothing left to do
SELECT count(*) AS due_again FROM pgcredit.due_collection_actions('2024-03-16');

-- Replaying the days from nothing reproduces every action: the payments
-- that came later do not change what a past day saw
CREATE TEMP TABLE dn_first AS
  SELECT as_of, customer, policy, level, amount, items, overdue, account_status, status_set
  FROM pgcredit.collection_action WHERE customer LIKE 'DN%';
CREATE TEMP TABLE dn_first_items AS
  SELECT a.as_of, a.customer, i.relid, i.item_key, i.due, i.amount, i.level
  FROM pgcredit.collection_action a JOIN pgcredit.collection_action_item i ON i.action_id = a.id
  WHERE a.customer LIKE 'DN%';
-- (from nothing: the superuser empties the actions and the runs' state)
DELETE FROM pgcredit.collection_action WHERE customer LIKE 'DN%';
DELETE FROM pgcredit.collection_state;
DELETE FROM pgcredit.collection_run;
DO $$
BEGIN
  FOR d IN 0 .. ('2024-04-30'::date - '2024-01-25'::date) LOOP
    PERFORM pgcredit.run_collections('2024-01-25'::date + d);
  END LOOP;
END
$$;
SELECT count(*) AS differences FROM (
  (SELECT as_of, customer, policy, level, amount, items, overdue, account_status, status_set
   FROM pgcredit.collection_action WHERE customer LIKE 'DN%' EXCEPT ALL SELECT * FROM dn_first)
  UNION ALL
  (SELECT * FROM dn_first EXCEPT ALL
   SELECT as_of, customer, policy, level, amount, items, overdue, account_status, status_set
   FROM pgcredit.collection_action WHERE customer LIKE 'DN%')
  ) d;
SELECT count(*) AS item_differences FROM (
  (SELECT a.as_of, a.customer, i.relid, i.item_key, i.due, i.amount, i.level
   FROM pgcredit.collection_action a JOIN pgcredit.collection_action_item i ON i.action_id = a.id
   WHERE a.customer LIKE 'DN%' EXCEPT ALL SELECT * FROM dn_first_items)
  UNION ALL
  (SELECT * FROM dn_first_items EXCEPT ALL
   SELECT a.as_of, a.customer, i.relid, i.item_key, i.due, i.amount, i.level
   FROM pgcredit.collection_action a JOIN pgcredit.collection_action_item i ON i.action_id = a.id
   WHERE a.customer LIKE 'DN%')
  ) d;

-- Where each customer stands on 2024-03-18: DN1 at level 4 (on hold),
-- its next action item 2's level 3 on 03-21; DN2 at level 2, next item
-- 3's level 3 on 03-22; DN3 at level 2 since 03-17, item 6's level 2 on
-- 03-27; DN6 at level 1, none left; DN7 exempt, no policy
SELECT day, customer, policy, open_items, overdue, level, last_action_on, last_level, next_level,
       next_action_on
FROM pgcredit.collection_status_at('2024-03-18') WHERE customer LIKE 'DN%';

-- The view reads the day from pgcredit.as_of
SET pgcredit.as_of = '2024-04-30';
SELECT day, customer, open_items, overdue, level, last_action_on, next_level, next_action_on, dunning_status
FROM pgcredit.collection_status WHERE customer LIKE 'DN%';
RESET pgcredit.as_of;

-- A status a person changed is theirs: DN1 put on hold by a controller
-- after dunning blocked it is not lifted by dunning
DELETE FROM pgcredit.collection_action WHERE customer LIKE 'DN%';
DELETE FROM pgcredit.collection_state;
DELETE FROM pgcredit.collection_run;
UPDATE dn_invoice SET open_amount = invoice_amount, paid_on = NULL WHERE id = 1;
SET pgcredit.horizon_today = '2024-03-31';
SELECT customer, level, account_status FROM pgcredit.run_collections('2024-03-31') WHERE customer = 'DN1';
SELECT customer, status FROM pgcredit.account WHERE customer = 'DN1';
SELECT customer, status FROM pgcredit.set_status('DN1', 'hold', 'the controller takes it over');
UPDATE dn_invoice SET open_amount = 0, paid_on = '2024-03-31' WHERE id = 1;
SELECT count(*) FROM pgcredit.run_collections('2024-03-31');
SELECT customer, status, hold_reason FROM pgcredit.account WHERE customer = 'DN1';
SELECT count(*) AS dunning_statuses FROM pgcredit.dunning_status WHERE customer = 'DN1';

-- A person's hold comes back when dunning lifts the block it put over it
SELECT customer FROM pgcredit.open_account('DN5', 1000, reason => 'dunning test');
SELECT customer, status FROM pgcredit.place_hold('DN5', 'credit review pending');
INSERT INTO dn_invoice VALUES (13, 'DN5', 80, 80, '2024-01-15', NULL);
-- 2024-01-15 + 76 days: level 5, blocked, stricter than the hold
SELECT customer, level, account_status FROM pgcredit.run_collections('2024-03-31');
SELECT customer, status, regexp_replace(hold_reason, 'action \d+', 'action #') AS hold_reason
FROM pgcredit.account WHERE customer = 'DN5';
SELECT customer, status, previous_status, previous_hold_reason FROM pgcredit.dunning_status;
UPDATE dn_invoice SET open_amount = 0, paid_on = '2024-03-31' WHERE id = 13;
SELECT count(*) FROM pgcredit.run_collections('2024-03-31');
SELECT customer, status, hold_reason FROM pgcredit.account WHERE customer = 'DN5';
SELECT count(*) AS dunning_statuses FROM pgcredit.dunning_status;
RESET pgcredit.horizon_today;

-- A table without a primary key: a customer's items of one due date are
-- one item
CREATE TABLE dn_nokey (customer text, amount numeric(12,2), due date);
SELECT kind FROM pgcredit.attach_receivables('dn_nokey', 'customer', 'amount', 'due');
INSERT INTO dn_nokey VALUES ('DN9', 30, '2024-02-01'), ('DN9', 20, '2024-02-01'), ('DN9', 5, '2024-02-10');
SELECT customer, level, amount, items, jsonb_path_query_array(item_list, '$[*].key') AS keys
FROM pgcredit.due_collection_actions('2024-02-20') WHERE customer = 'DN9';
-- ... and by customer: DN10's item falling due the same day has its own
-- levels (run from nothing again: the superuser empties the runs' state)
DELETE FROM pgcredit.collection_state;
DELETE FROM pgcredit.collection_run;
SET pgcredit.horizon_today = '2024-03-31';
SELECT customer, level, amount FROM pgcredit.run_collections('2024-02-20') WHERE customer LIKE 'DN9%';
INSERT INTO dn_nokey VALUES ('DN10', 40, '2024-02-01');
SELECT customer, level, amount, items FROM pgcredit.due_collection_actions('2024-02-21')
WHERE customer IN ('DN9', 'DN10');
RESET pgcredit.horizon_today;

-- Bad input changes nothing
SELECT pgcredit.create_dunning_policy(NULL, 'r');
SELECT pgcredit.create_dunning_policy(' ', 'r');
SELECT pgcredit.create_dunning_policy('std', 'r');
\echo :LAST_ERROR_SQLSTATE
SELECT pgcredit.create_dunning_policy('p2', 'r', min_amount => -1);
SELECT pgcredit.create_dunning_policy('p2', 'r', min_amount => 'NaN');
SELECT pgcredit.create_dunning_policy('p2', 'r', min_amount => 'Infinity');
SELECT pgcredit.create_dunning_policy('p2', 'r', quiet_days => 400);
SELECT pgcredit.create_dunning_policy('p2', NULL);
SELECT pgcredit.create_dunning_policy('p2', '');
SELECT pgcredit.set_dunning_level('nope', 1, 7, 'email', 't', 'r');
\echo :LAST_ERROR_SQLSTATE
SELECT pgcredit.set_dunning_level('std', 0, 7, 'email', 't', 'r');
SELECT pgcredit.set_dunning_level('std', 6, 4000, 'email', 't', 'r');
SELECT pgcredit.set_dunning_level('std', 6, NULL, 'email', 't', 'r');
SELECT pgcredit.set_dunning_level('std', 6, 50, 'email', 't', 'r');
SELECT pgcredit.set_dunning_level('std', 2, 30, 'email', 't', 'r');
\echo :LAST_ERROR_SQLSTATE
SELECT pgcredit.set_dunning_level('std', 6, 90, '', 't', 'r');
SELECT pgcredit.set_dunning_level('std', 6, 90, 'email', NULL, 'r');
SELECT pgcredit.set_dunning_level('std', 6, 90, 'email', 't', 'r', 'watch');
SELECT pgcredit.drop_dunning_level('std', 9, 'r');
SELECT pgcredit.set_tier_dunning_policy('F', 'std', 'r');
SELECT pgcredit.set_tier_dunning_policy(NULL, 'std', 'r');
SELECT pgcredit.set_tier_dunning_policy('B', 'nope', 'r');
SELECT pgcredit.set_customer_dunning_policy('DN1', 'nope', 'r');
SELECT pgcredit.set_customer_dunning_policy(NULL, 'std', 'r');
SELECT pgcredit.exempt_from_dunning('DN1', ' ');
SELECT pgcredit.drop_dunning_policy('std', 'r');
\echo :LAST_ERROR_SQLSTATE
SELECT pgcredit.drop_dunning_policy('nope', 'r');
\set VERBOSITY terse
SELECT pgcredit.run_collections(pgcredit._horizon_today() + 1);
\set VERBOSITY default
SELECT pgcredit.run_collections(NULL);
SELECT pgcredit.run_collections('infinity');
SELECT count(*) FROM pgcredit.due_collection_actions('-infinity');
SELECT count(*) FROM pgcredit.collection_status_at(NULL);
SELECT name, min_amount, quiet_days FROM pgcredit.dunning_policy ORDER BY name;
SELECT policy, level, days, channel, template, account_status FROM pgcredit.dunning_level ORDER BY policy, level;

-- The policies change through audited functions
SELECT name, min_amount, quiet_days, description
FROM pgcredit.alter_dunning_policy('gentle', 'two weeks between reminders', quiet_days => 14);
SELECT pgcredit.set_customer_dunning_policy('DN6', 'std', 'a new controller');
SELECT customer, policy FROM pgcredit._dunning_policies('2024-03-01', '{DN1,DN6,DN7,DN99}')
ORDER BY customer;
SELECT pgcredit.set_customer_dunning_policy('DN6', NULL, 'back to its tier');
SELECT pgcredit.drop_dunning_level('gentle', 1, 'reworked');
SELECT pgcredit.set_tier_dunning_policy('A', NULL, 'reworked');
SELECT pgcredit.drop_dunning_policy('gentle', 'reworked');
SELECT action, customer, old_value, new_value, reason FROM pgcredit.audit_log
WHERE action IN ('alter_dunning_policy', 'set_customer_dunning_policy', 'drop_dunning_level',
                 'set_tier_dunning_policy', 'drop_dunning_policy')
  AND (customer IS NULL OR customer LIKE 'DN%') AND reason <> 'everyone without a tier policy'
  AND id > :dn_audit_start
ORDER BY id;

-- Clean up
SELECT relid FROM pgcredit.detach('dn_invoice');
SELECT relid FROM pgcredit.detach('dn_nokey');
DROP TABLE dn_invoice, dn_nokey;
DELETE FROM pgcredit.collection_action WHERE customer LIKE 'DN%';
DELETE FROM pgcredit.collection_state;
DELETE FROM pgcredit.collection_run;
DELETE FROM pgcredit.dunning_exception WHERE customer LIKE 'DN%';
DELETE FROM pgcredit.dunning_assignment;
DELETE FROM pgcredit.dunning_policy;
DELETE FROM pgcredit.account WHERE customer LIKE 'DN%';
DELETE FROM pgcredit.exposure WHERE customer LIKE 'DN%';

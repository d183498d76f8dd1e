-- Disputes: an item of an attached receivables table is disputed with a
-- reason and leaves dunning on the exact days its dispute is open (a
-- past day replays it as it stood), leaves the days_past_due and
-- overdue_amount rules while it is open and comes back when it is
-- resolved, is written off, and optionally leaves the behavioural score.
-- Every figure below is worked out by hand in the comments.
\set SHOW_CONTEXT never
SET client_min_messages = warning;
SELECT setval('pgcredit.collection_dispute_id_seq', 1, false);
SELECT coalesce(max(id), 0) AS ds_audit_start FROM pgcredit.audit_log \gset
-- the rules' numbers, given back at the end for the files after this one
SELECT last_value AS ds_rule_last, is_called AS ds_rule_called FROM pgcredit.credit_rule_id_seq \gset
SELECT setval('pgcredit.credit_rule_id_seq', 400, false);

----------------------------------------------------------------------
-- 1. Dunning skips a disputed item
----------------------------------------------------------------------

CREATE TABLE ds_invoice (id int PRIMARY KEY, customer text NOT NULL, open_amount numeric(12,2) NOT NULL,
                         invoice_amount numeric(12,2) NOT NULL, due date, paid_on date);
SELECT kind FROM pgcredit.attach_receivables('ds_invoice', 'customer', 'open_amount', 'due',
                                             invoice_amount_column => 'invoice_amount',
                                             paid_column => 'paid_on');
-- A ladder without quiet days or minimum: a reminder 3 days before the
-- due date, then 7, 21 and 45 days after it (hold)
SELECT name FROM pgcredit.create_dunning_policy('dsp', 'dispute test');
SELECT level FROM pgcredit.set_dunning_level('dsp', 1, -3, 'email', 'reminder', 'dispute test');
SELECT level FROM pgcredit.set_dunning_level('dsp', 2, 7, 'email', 'first_notice', 'dispute test');
SELECT level FROM pgcredit.set_dunning_level('dsp', 3, 21, 'letter', 'second_notice', 'dispute test');
SELECT level FROM pgcredit.set_dunning_level('dsp', 4, 45, 'letter', 'final_notice', 'dispute test', 'hold');
SELECT pgcredit.set_tier_dunning_policy('default', 'dsp', 'dispute test');
SELECT customer FROM pgcredit.open_account('DS1', 10000, reason => 'dispute test');
INSERT INTO ds_invoice VALUES
  (1, 'DS1', 100, 100, '2024-03-01', NULL),
  (2, 'DS1', 40, 40, '2024-03-01', NULL),
  (3, 'DS2', 200, 200, '2024-03-05', NULL);

-- The nightly run of the days from a to b; the book's today is the last
-- day of the test, so that disputes can be recorded with their days
SET pgcredit.horizon_today = '2024-05-31';
CREATE FUNCTION pg_temp.ds_run(a date, b date) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  FOR d IN 0 .. b - a LOOP
    PERFORM pgcredit.run_collections(a + d);
  END LOOP;
END
$$;

-- Up to 03-09: items 1 and 2 (due 03-01) get level 1 on 02-27 (03-01
-- less 3) and level 2 on 03-08 (03-01 + 7), 140 each time; item 3 (due
-- 03-05) level 1 on 03-02
SELECT pg_temp.ds_run('2024-02-25', '2024-03-09');
-- On 03-10 DS1 disputes item 1, keyed by its primary key (a number is
-- taken as its text)
SELECT id, relid, item_key, customer, amount, due, reason, opened_on, opened_by, status
FROM pgcredit.open_dispute('ds_invoice', '{"id": 1}', 'the goods arrived damaged', '2024-03-10');
-- 03-10 to 03-19: item 3 reaches level 2 on 03-12 (200); item 2 nothing
-- (level 3 on 03-22); item 1 is out of dunning
SELECT pg_temp.ds_run('2024-03-10', '2024-03-19');
-- On 03-20 DS2 disputes item 3 (its level 3 would come on 03-26)
SELECT id, customer, amount, due, opened_on
FROM pgcredit.open_dispute('ds_invoice', '{"id": "3"}', 'never ordered', '2024-03-20');
-- 03-20 to 03-31: item 2 alone reaches level 3 on 03-22: 40, and DS1's
-- overdue that day is 40 (item 1's 100 is disputed); item 3 nothing
SELECT pg_temp.ds_run('2024-03-20', '2024-03-31');
-- On 04-01 item 1's dispute is resolved: it climbs on from the level it
-- reached (2), and on 04-01 (31 days late) it has reached level 3: sent
-- that day, 100, overdue 140 again
SELECT id, status, closed_on, closed_by, closed_amount, note
FROM pgcredit.resolve_dispute(1, 'credit note refused: the damage was the carrier''s', '2024-04-01');
SELECT pg_temp.ds_run('2024-04-01', '2024-04-09');
-- On 04-10 item 3 is written off, and the ledger takes it out the same day
SELECT id, status, closed_on, closed_amount, note
FROM pgcredit.write_off_dispute(2, 'not worth a lawsuit', '2024-04-10');
UPDATE ds_invoice SET open_amount = 0, paid_on = '2024-04-10' WHERE id = 3;
-- 04-10 to 04-30: items 1 and 2 reach level 4 on 04-15 (03-01 + 45):
-- 140, and DS1 goes on hold; item 3 is paid (written off) from 04-10
SELECT pg_temp.ds_run('2024-04-10', '2024-04-30');
-- On 05-01 DS1 pays item 2 and disputes item 1 again (a second dispute
-- of the item, the first being closed); 05-31 is today: its run would
-- lift the hold when no item that reached level 4 is open, but item 1
-- is open, only disputed: the hold stays
UPDATE ds_invoice SET open_amount = 0, paid_on = '2024-05-01' WHERE id = 2;
SELECT id, item_key, amount, opened_on FROM pgcredit.open_dispute('ds_invoice', '{"id": "1"}', 'still damaged', '2024-05-01');
SELECT pg_temp.ds_run('2024-05-01', '2024-05-31');

-- DS1: 02-27 L1 140 (2 items, nothing overdue yet), 03-08 L2 140 (overdue
-- 140), 03-22 L3 40 (item 2; overdue 40), 04-01 L3 100 (item 1; overdue
-- 140), 04-15 L4 140 hold, set.  DS2: 03-02 L1 200, 03-12 L2 200 (overdue
-- 200), nothing while disputed, paid from 04-10; no account to hold.
SELECT as_of, customer, level, template, amount, items, overdue, account_status, status_set
FROM pgcredit.collection_action WHERE customer LIKE 'DS%' ORDER BY as_of, customer;
SELECT a.as_of, a.customer, i.item_key ->> 'id' AS item, i.amount, i.level
FROM pgcredit.collection_action a JOIN pgcredit.collection_action_item i ON i.action_id = a.id
WHERE a.customer LIKE 'DS%' ORDER BY a.as_of, a.customer, i.item_key ->> 'id';
SELECT customer, status, regexp_replace(hold_reason, 'action \d+', 'action #') AS hold_reason
FROM pgcredit.account WHERE customer = 'DS1';
SELECT customer, status FROM pgcredit.dunning_status WHERE customer LIKE 'DS%';

-- Where DS1 stood, as seen now (the first dispute long resolved): on
-- 03-09 both items (140 past due), level 2, next level 3 on 03-22; on
-- 03-10 and 03-31 item 2 alone (40), item 1 disputed (100): level 2 on
-- 03-10, 3 on 03-31 (item 2's 03-22), next level 4 on 04-15; on 04-01
-- both again, level 3 (sent that day), next level 4 on 04-15
SELECT day, customer, open_items, overdue, level, last_action_on, next_level, next_action_on,
       disputed_items, disputed
FROM unnest('{2024-03-09,2024-03-10,2024-03-31,2024-04-01}'::date[]) AS d(d),
     pgcredit.collection_status_at(d) s
WHERE s.customer = 'DS1' ORDER BY day;
-- DS2 on 03-20 and 04-09: its one item disputed, 200; on 04-10 nothing
-- open, still listed for its actions
SELECT day, customer, open_items, overdue, level, last_action_on, disputed_items, disputed
FROM unnest('{2024-03-19,2024-03-20,2024-04-09,2024-04-10}'::date[]) AS d(d),
     pgcredit.collection_status_at(d) s
WHERE s.customer = 'DS2' ORDER BY day;

-- The disputes with their life: days open from opened_on to closed_on
-- (03-10 to 04-01: 22; 03-20 to 04-10: 21), or to today while open
-- (05-01 to 05-31: 30); the open amount now: item 1 100, item 3 0
SELECT id, relid, item_key, customer, due, amount, open_amount, status, days_open, opened_on,
       closed_on, closed_amount, reason, note
FROM pgcredit.disputes ORDER BY id;

-- Replayed from nothing, the days write the same actions: each day sees
-- the disputes as they stood on it (the account's status is left out:
-- DS1 is on hold already, so the replay finds nothing to set)
CREATE TEMP TABLE ds_first AS
  SELECT a.as_of, a.customer, a.level, a.amount, a.items, a.overdue, a.account_status,
         i.item_key, i.amount AS item_amount, i.level AS item_level
  FROM pgcredit.collection_action a JOIN pgcredit.collection_action_item i ON i.action_id = a.id
  WHERE a.customer LIKE 'DS%';
DELETE FROM pgcredit.collection_action WHERE customer LIKE 'DS%';
DELETE FROM pgcredit.collection_state; DELETE FROM pgcredit.collection_run;
SELECT pg_temp.ds_run('2024-02-25', '2024-05-31');
SELECT count(*) AS differences FROM (
  (SELECT a.as_of, a.customer, a.level, a.amount, a.items, a.overdue, a.account_status,
          i.item_key, i.amount, i.level
   FROM pgcredit.collection_action a JOIN pgcredit.collection_action_item i ON i.action_id = a.id
   WHERE a.customer LIKE 'DS%' EXCEPT ALL SELECT * FROM ds_first)
  UNION ALL
  (SELECT * FROM ds_first EXCEPT ALL
   SELECT a.as_of, a.customer, a.level, a.amount, a.items, a.overdue, a.account_status,
          i.item_key, i.amount, i.level
   FROM pgcredit.collection_action a JOIN pgcredit.collection_action_item i ON i.action_id = a.id
   WHERE a.customer LIKE 'DS%')) d;
SELECT count(*) AS actions FROM pgcredit.collection_action WHERE customer LIKE 'DS%';
-- Today (05-31): DS1's one open item is disputed, out of dunning (the
-- replay found DS1 on hold already, so dunning keeps no status of it
-- now); DS2 has nothing open, listed for its actions
SET pgcredit.as_of = '2024-05-31';
SELECT day, customer, open_items, overdue, level, disputed_items, disputed, dunning_status
FROM pgcredit.collection_status WHERE customer LIKE 'DS%';
RESET pgcredit.as_of;
RESET pgcredit.horizon_today;

----------------------------------------------------------------------
-- 2. The past-due rules leave a disputed item out (dates relative to
-- today, as the guard judges them)
----------------------------------------------------------------------

CREATE TABLE ds_ledger (id int PRIMARY KEY, customer text NOT NULL, open_amount numeric(12,2) NOT NULL,
                        due date);
CREATE TABLE ds_order (id serial PRIMARY KEY, customer text NOT NULL, amount numeric(12,2) NOT NULL);
SELECT kind FROM pgcredit.attach_receivables('ds_ledger', 'customer', 'open_amount', 'due');
SELECT kind FROM pgcredit.attach_orders('ds_order', 'customer', 'amount');
SELECT customer FROM pgcredit.open_account('DS3', 10000, reason => 'dispute test');
-- DS3 may have nothing more than 30 days past due, nor more than 100
-- past due at all
SELECT id, kind, amount, days FROM pgcredit.add_rule('days_past_due', 'refuse', 'dispute test', days => 30,
                                                     scope => 'customer', scope_value => 'DS3');
SELECT id, kind, amount, days FROM pgcredit.add_rule('overdue_amount', 'refuse', 'dispute test', amount => 100,
                                                     days => 0, scope => 'customer', scope_value => 'DS3');
INSERT INTO ds_ledger VALUES
  (1, 'DS3', 80, current_date - 40),
  (2, 'DS3', 20, current_date + 5),
  (3, 'DS3', 50, current_date - 10);
CREATE TEMP VIEW ds_buckets AS
  SELECT 'all' AS kind, customer, due - current_date AS days, amount, items FROM pgcredit.receivable_due
  WHERE customer IN ('DS3', 'DS4')
  UNION ALL
  SELECT 'disputed', customer, due - current_date, amount, items FROM pgcredit.dispute_due
  WHERE customer IN ('DS3', 'DS4')
  ORDER BY 1, 2, 3;
CREATE TEMP VIEW ds_verify AS
  SELECT (SELECT count(*) FROM pgcredit.verify_receivable_due()) AS receivable_due_mismatches,
         (SELECT count(*) FROM pgcredit.verify_dispute_due()) AS dispute_due_mismatches,
         (SELECT count(*) FROM pgcredit.verify_exposure()) AS exposure_mismatches;

-- Item 1 is 40 days past due: the order is refused
INSERT INTO ds_order (customer, amount) VALUES ('DS3', 10);
\echo :LAST_ERROR_SQLSTATE
SELECT verdict, rule_id, kind FROM pgcredit.check_order('DS3', 10);
-- Disputed, it leaves the rules: what is left past due is item 3, 10
-- days late and 50: under both rules; the order goes in
SELECT id, amount, due - current_date AS days FROM pgcredit.open_dispute('ds_ledger', '{"id": "1"}', 'price');
SELECT verdict, rule_id FROM pgcredit.check_order('DS3', 10);
INSERT INTO ds_order (customer, amount) VALUES ('DS3', 10);
-- item 1 is in both tables of buckets; exposure still counts it (150)
SELECT * FROM ds_buckets;
SELECT customer, receivables, open_orders FROM pgcredit.exposure WHERE customer = 'DS3';
-- clean: items 2 and 3, 70, of which 50 past due; disputed: item 1, 80,
-- past due
SELECT customer, clean_items, clean, clean_past_due, disputed_items, disputed, disputed_past_due,
       day = pgcredit._horizon_today() AS today
FROM pgcredit.receivables_by_dispute WHERE customer IN ('DS3', 'DS4');
-- A payment on the disputed item (80 to 30) and a new due date follow it
-- into both; still no rule counts it
UPDATE ds_ledger SET open_amount = 30 WHERE id = 1;
UPDATE ds_ledger SET due = current_date - 45 WHERE id = 1;
SELECT * FROM ds_buckets;
SELECT * FROM ds_verify;
-- the overdue_amount rule counts the clean items only: item 3 raised to
-- 120 is over 100 (the disputed 30 is not added)
UPDATE ds_ledger SET open_amount = 120 WHERE id = 3;
INSERT INTO ds_order (customer, amount) VALUES ('DS3', 10);
UPDATE ds_ledger SET open_amount = 50 WHERE id = 3;
-- Resolved: item 1 (30, 45 days late) counts again and the order is
-- refused again
SELECT status, closed_amount FROM pgcredit.resolve_dispute(4, 'the price was right');
INSERT INTO ds_order (customer, amount) VALUES ('DS3', 10);
SELECT * FROM ds_buckets;
SELECT * FROM ds_verify;

-- A disputed item whose key changes leaves its dispute (the dispute names
-- the key): item 1 becomes item 11, out of dispute_due, refused again
SELECT id FROM pgcredit.open_dispute('ds_ledger', '{"id": "1"}', 'price, again');
INSERT INTO ds_order (customer, amount) VALUES ('DS3', 10);
UPDATE ds_ledger SET id = 11 WHERE id = 1;
INSERT INTO ds_order (customer, amount) VALUES ('DS3', 10);
SELECT * FROM ds_buckets;
SELECT * FROM ds_verify;
-- the dispute's item is gone: no open amount now; closing it moves nothing
SELECT id, item_key, status, open_amount FROM pgcredit.disputes WHERE id = 5;
SELECT status, closed_amount FROM pgcredit.resolve_dispute(5, 'renumbered');
-- A disputed item that moves to another customer takes its dispute along
SELECT id FROM pgcredit.open_dispute('ds_ledger', '{"id": "3"}', 'wrong customer');
UPDATE ds_ledger SET customer = 'DS4' WHERE id = 3;
SELECT * FROM ds_buckets;
SELECT * FROM ds_verify;
SELECT id, customer, customer_now, amount, open_amount FROM pgcredit.disputes WHERE id = 6;
SELECT status, closed_amount FROM pgcredit.write_off_dispute(6, 'cannot prove it');
-- A disputed item deleted leaves its bucket
SELECT id FROM pgcredit.open_dispute('ds_ledger', '{"id": "2"}', 'duplicate invoice');
DELETE FROM ds_ledger WHERE id = 2;
SELECT * FROM ds_buckets;
SELECT * FROM ds_verify;
SELECT status, closed_amount FROM pgcredit.resolve_dispute(7, 'deleted by the ledger');

-- Detached, a table's disputed items leave both tables of buckets; its
-- disputes stay open, and count again once it is attached again
SELECT id FROM pgcredit.open_dispute('ds_ledger', '{"id": "11"}', 'price, once more');
SELECT relid FROM pgcredit.detach('ds_ledger');
SELECT * FROM ds_buckets;
SELECT * FROM ds_verify;
SELECT kind FROM pgcredit.attach_receivables('ds_ledger', 'customer', 'open_amount', 'due');
SELECT * FROM ds_buckets;
SELECT * FROM ds_verify;
-- item 11 disputed, item 3 is DS4's: nothing of DS3's past due
INSERT INTO ds_order (customer, amount) VALUES ('DS3', 10);

-- rebuild_exposure() repairs dispute_due, as it does receivable_due
UPDATE pgcredit.dispute_due SET amount = 999 WHERE customer = 'DS3';
DELETE FROM pgcredit.receivable_due WHERE customer = 'DS4';
SELECT customer, due - current_date AS days, stored_amount, actual_amount FROM pgcredit.verify_dispute_due();
SELECT pgcredit.rebuild_exposure() AS customers_fixed;
SELECT * FROM ds_verify;
-- TRUNCATE recomputes them too: the open dispute stays, its item is gone
TRUNCATE ds_ledger;
SELECT * FROM ds_buckets;
SELECT * FROM ds_verify;
SELECT id, status, open_amount FROM pgcredit.disputes WHERE id = 8;
SELECT status FROM pgcredit.resolve_dispute(8, 'table emptied');

----------------------------------------------------------------------
-- 3. The behavioural score, with and without the disputed items
----------------------------------------------------------------------

CREATE TABLE ds_score (id int PRIMARY KEY, customer text NOT NULL, open_amount numeric(12,2) NOT NULL,
                       invoice_amount numeric(12,2) NOT NULL, due date, paid_on date);
SELECT kind FROM pgcredit.attach_receivables('ds_score', 'customer', 'open_amount', 'due',
                                             invoice_amount_column => 'invoice_amount', paid_column => 'paid_on');
-- DS5: item 20 paid 60 days late, item 21 paid 5 days early; item 20
-- disputed from 01-10 to 02-20
INSERT INTO ds_score VALUES (20, 'DS5', 0, 100, '2024-01-01', '2024-03-01'),
                            (21, 'DS5', 0, 100, '2024-01-15', '2024-01-10');
SET pgcredit.horizon_today = '2024-05-31';
SELECT id FROM pgcredit.open_dispute('ds_score', '{"id": "20"}', 'quality', '2024-01-10');
SELECT status FROM pgcredit.resolve_dispute(9, 'agreed', '2024-02-20');
RESET pgcredit.horizon_today;
-- By default (disputed_in_score true) both items count; with false, item
-- 20 is left out on the days its dispute is open (02-15), and counts
-- again after it (03-15).  The scores equal credit_score() over the
-- items that count, computed directly; aging and overdue count item 20
-- on 02-15 either way (100 past due, 45 days)
CREATE TEMP VIEW ds_stats AS
  SELECT d AS as_of, s.behavioural_score, s.receivables, s.oldest_days_past_due,
         (SELECT pgcredit.credit_score(x.amount, x.due, x.paid, d)
          FROM (VALUES (100::numeric, '2024-01-01'::date, '2024-03-01'::date),
                       (100, '2024-01-15', '2024-01-10')) x(amount, due, paid)) AS both_items,
         (SELECT pgcredit.credit_score(x.amount, x.due, x.paid, d)
          FROM (VALUES (100::numeric, '2024-01-15'::date, '2024-01-10'::date)) x(amount, due, paid)) AS item_21
  FROM unnest('{2024-02-15,2024-03-15}'::date[]) AS d(d), pgcredit.receivable_stats(d) s
  WHERE s.customer = 'DS5';
SELECT as_of, behavioural_score = both_items AS counts_both, behavioural_score = item_21 AS counts_21,
       receivables, oldest_days_past_due FROM ds_stats ORDER BY as_of;
INSERT INTO pgcredit.risk_settings (disputed_in_score) VALUES (false);
SELECT as_of, behavioural_score = both_items AS counts_both, behavioural_score = item_21 AS counts_21,
       receivables, oldest_days_past_due FROM ds_stats ORDER BY as_of;
DELETE FROM pgcredit.risk_settings;

----------------------------------------------------------------------
-- 4. Bad input changes nothing
----------------------------------------------------------------------

SELECT count(*) AS disputes_before FROM pgcredit.collection_dispute \gset
SELECT pgcredit.open_dispute(NULL, '{"id": "1"}', 'r');
SELECT pgcredit.open_dispute('ds_invoice', NULL, 'r');
SELECT pgcredit.open_dispute('ds_invoice', '[1]', 'r');
SELECT pgcredit.open_dispute('ds_invoice', '{}', 'r');
SELECT pgcredit.open_dispute('ds_invoice', '{"id": "1"}', NULL);
SELECT pgcredit.open_dispute('ds_invoice', '{"id": "1"}', ' ');
SELECT pgcredit.open_dispute('ds_invoice', '{"id": "1"}', 'r', NULL);
SELECT pgcredit.open_dispute('ds_invoice', '{"id": "1"}', 'r', 'infinity');
\set VERBOSITY terse
SELECT pgcredit.open_dispute('ds_invoice', '{"id": "1"}', 'r', pgcredit._horizon_today() + 1);
\set VERBOSITY default
-- no such item (the key of another column, a value no row has): PC021
SELECT pgcredit.open_dispute('ds_invoice', '{"id": "99"}', 'r');
\echo :LAST_ERROR_SQLSTATE
SELECT pgcredit.open_dispute('ds_invoice', '{"invoice_no": "1"}', 'r');
SELECT pgcredit.open_dispute('ds_invoice', '{"id": "1) OR (true"}', 'r');
-- item 1 is disputed already (dispute 3, since 05-01)
SELECT pgcredit.open_dispute('ds_invoice', '{"id": 1}', 'r');
\echo :LAST_ERROR_SQLSTATE
-- not attached, an order table, no primary key
CREATE TABLE ds_nokey (customer text, amount numeric, due date);
SELECT pgcredit.open_dispute('ds_nokey', '{"id": "1"}', 'r');
SELECT kind FROM pgcredit.attach_receivables('ds_nokey', 'customer', 'amount', 'due');
INSERT INTO ds_nokey VALUES ('DS6', 10, '2024-01-01');
SELECT pgcredit.open_dispute('ds_nokey', '{"customer": "DS6"}', 'r');
-- a key whose text depends on the session (a date on DateStyle)
CREATE TABLE ds_dated (day date, no int, customer text NOT NULL, amount numeric, due date, PRIMARY KEY (day, no));
SELECT kind FROM pgcredit.attach_receivables('ds_dated', 'customer', 'amount', 'due');
INSERT INTO ds_dated VALUES ('2024-01-01', 1, 'DS6', 10, '2024-01-31');
SELECT pgcredit.open_dispute('ds_dated', '{"day": "01-01-2024", "no": 1}', 'r');
SELECT relid FROM pgcredit.detach('ds_dated');
DROP TABLE ds_dated;
SELECT pgcredit.open_dispute('ds_order', '{"id": "1"}', 'r');
SELECT pgcredit.open_dispute('pg_class', '{"oid": "1"}', 'r');
-- closing: no such dispute (PC021), closed already (PC022), a day before
-- it opened or after today
SELECT pgcredit.resolve_dispute(999, 'r');
\echo :LAST_ERROR_SQLSTATE
SELECT pgcredit.resolve_dispute(1, 'r');
\echo :LAST_ERROR_SQLSTATE
SELECT pgcredit.write_off_dispute(2, 'r');
SELECT pgcredit.resolve_dispute(3, 'r', '2024-04-30');
SELECT pgcredit.resolve_dispute(3, 'r', 'infinity');
SELECT pgcredit.resolve_dispute(3, 'r', NULL);
SELECT pgcredit.resolve_dispute(NULL, 'r');
SELECT pgcredit.resolve_dispute(3, NULL);
SELECT pgcredit.write_off_dispute(3, '');
SELECT count(*) = :disputes_before AS nothing_added,
       count(*) FILTER (WHERE status = 'open') AS still_open FROM pgcredit.collection_dispute;

-- Every change is in the audit log
SELECT action, customer, new_value ->> 'dispute' AS dispute, new_value ->> 'status' AS status,
       new_value ->> 'amount' AS amount, new_value ->> 'open_amount' AS open_amount, reason
FROM pgcredit.audit_log
WHERE action IN ('open_dispute', 'resolve_dispute', 'write_off_dispute') AND id > :ds_audit_start
ORDER BY id;

----------------------------------------------------------------------
-- 5. Attacks
----------------------------------------------------------------------

CREATE ROLE regress_ds_nobody;
CREATE ROLE regress_ds_app;
CREATE ROLE regress_ds_reader IN ROLE pgcredit_reader;
CREATE ROLE regress_ds_controller IN ROLE pgcredit_controller;
CREATE ROLE regress_ds_owner IN ROLE pgcredit_admin;
GRANT CREATE ON SCHEMA public TO regress_ds_owner;
-- The owner's table, with a row-level security policy whose function
-- writes down who ran it: pgcredit reads the table with a heap scan, so
-- the owner's code never runs with pgcredit's rights
SET ROLE regress_ds_owner;
CREATE TABLE ds_spy_log (who name);
CREATE FUNCTION ds_spy() RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO public.ds_spy_log VALUES (current_user);
  RETURN true;
END
$$;
GRANT INSERT ON ds_spy_log TO PUBLIC;
CREATE TABLE ds_owned (id int PRIMARY KEY, customer text NOT NULL, amount numeric(12,2) NOT NULL, due date);
CREATE POLICY ds_everything ON ds_owned USING (ds_spy());
ALTER TABLE ds_owned ENABLE ROW LEVEL SECURITY;
ALTER TABLE ds_owned FORCE ROW LEVEL SECURITY;
SELECT kind FROM pgcredit.attach_receivables('ds_owned', 'customer', 'amount', 'due');
GRANT SELECT, INSERT, UPDATE ON ds_owned TO regress_ds_app;
-- the owner, an admin, writes no dispute nor bucket but through the functions
DELETE FROM pgcredit.collection_dispute;
\echo :LAST_ERROR_SQLSTATE
INSERT INTO pgcredit.dispute_due VALUES ('DS7', current_date, 1, 1);
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
INSERT INTO ds_owned VALUES (1, 'DS7', 60, current_date - 50);
DELETE FROM ds_spy_log;

-- A role with nothing: no dispute, no view, no table
SET ROLE regress_ds_nobody;
SELECT pgcredit.open_dispute('ds_owned', '{"id": "1"}', 'r');
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) FROM pgcredit.disputes;
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) FROM pgcredit.collection_dispute;
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) FROM pgcredit.receivables_by_dispute;
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
-- The application writes its tables, nothing of pgcredit's: it cannot
-- forge a dispute, move a bucket or call the internals
SET ROLE regress_ds_app;
INSERT INTO pgcredit.collection_dispute (relid, item_key, customer, amount, reason, opened_on, opened_by)
VALUES ('ds_owned', '{"id": "1"}', 'DS7', 60, 'r', '2024-01-01', 'x');
\echo :LAST_ERROR_SQLSTATE
UPDATE pgcredit.dispute_due SET items = 0;
\echo :LAST_ERROR_SQLSTATE
SELECT pgcredit._dispute_share('DS7', current_date - 50, 60, 1);
\echo :LAST_ERROR_SQLSTATE
SELECT pgcredit._close_dispute(3, 'resolved', 'r', current_date);
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) FROM pgcredit._dispute_items();
\echo :LAST_ERROR_SQLSTATE
SELECT pgcredit.open_dispute('ds_owned', '{"id": "1"}', 'r');
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
-- A reader reads, and opens or closes nothing
SET ROLE regress_ds_reader;
SELECT id, status FROM pgcredit.disputes WHERE id = 3;
SELECT customer, disputed_items FROM pgcredit.receivables_by_dispute WHERE customer = 'DS7';
SELECT pgcredit.open_dispute('ds_owned', '{"id": "1"}', 'r');
\echo :LAST_ERROR_SQLSTATE
SELECT pgcredit.resolve_dispute(3, 'r');
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
-- A controller opens and closes; its own objects named like pgcredit's
-- change nothing (every name is qualified, the search path fixed)
SET ROLE regress_ds_controller;
CREATE TEMP TABLE collection_dispute (id bigint, relid oid, item_key jsonb, status text);
CREATE TEMP TABLE dispute_due (customer text, due date, amount numeric, items int);
SET search_path = pg_temp, public;
SELECT id, customer, amount FROM pgcredit.open_dispute('ds_owned', '{"id": "1"}', 'the controller''s dispute');
RESET search_path;
DROP TABLE pg_temp.collection_dispute, pg_temp.dispute_due;
-- it cannot write the table behind the functions
UPDATE pgcredit.collection_dispute SET status = 'resolved' WHERE id = 10;
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
-- The owner's function never ran, and the bucket went where it belongs
SELECT count(*) AS spy_calls FROM ds_spy_log;
SELECT customer, due - current_date AS days, amount, items FROM pgcredit.dispute_due WHERE customer = 'DS7';
-- The application pays the disputed item through its own grants: the
-- guard follows it into dispute_due
SET ROLE regress_ds_app;
UPDATE ds_owned SET amount = 25 WHERE id = 1;
RESET ROLE;
SELECT customer, due - current_date AS days, amount, items FROM pgcredit.dispute_due WHERE customer = 'DS7';
SELECT * FROM ds_verify;
SET ROLE regress_ds_controller;
SELECT status, closed_amount FROM pgcredit.resolve_dispute(10, 'paid in part');
RESET ROLE;

-- Clean up
SELECT relid FROM pgcredit.detach('ds_invoice');
SELECT relid FROM pgcredit.detach('ds_ledger');
SELECT relid FROM pgcredit.detach('ds_order');
SELECT relid FROM pgcredit.detach('ds_score');
SELECT relid FROM pgcredit.detach('ds_nokey');
SELECT relid FROM pgcredit.detach('ds_owned');
DROP TABLE ds_invoice, ds_ledger, ds_order, ds_score, ds_nokey;
-- (the write-offs of disputes written off first: they name their dispute)
DELETE FROM pgcredit.write_off WHERE dispute_id IS NOT NULL;
DELETE FROM pgcredit.collection_dispute;
DELETE FROM pgcredit.collection_action WHERE customer LIKE 'DS%';
DELETE FROM pgcredit.collection_state; DELETE FROM pgcredit.collection_run;
DELETE FROM pgcredit.dunning_status WHERE customer LIKE 'DS%';
DELETE FROM pgcredit.dunning_assignment;
DELETE FROM pgcredit.dunning_policy;
DELETE FROM pgcredit.credit_rule WHERE NOT builtin;
DELETE FROM pgcredit.alert WHERE customer LIKE 'DS%';
DELETE FROM pgcredit.account WHERE customer LIKE 'DS%';
DELETE FROM pgcredit.exposure WHERE customer LIKE 'DS%';
REVOKE CREATE ON SCHEMA public FROM regress_ds_owner;
DROP OWNED BY regress_ds_owner;
DROP ROLE regress_ds_nobody, regress_ds_app, regress_ds_reader, regress_ds_controller, regress_ds_owner;
DELETE FROM pgcredit.audit_log WHERE id > :ds_audit_start;
SELECT setval('pgcredit.credit_rule_id_seq', :ds_rule_last, :'ds_rule_called') IS NOT NULL AS rule_numbers_back;
SELECT (SELECT count(*) FROM pgcredit.dispute_due) AS dispute_buckets,
       (SELECT count(*) FROM pgcredit.receivable_due WHERE customer LIKE 'DS%') AS buckets_left;

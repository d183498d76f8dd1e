-- Replaying a policy: a draft made from the live policy and changed,
-- replayed with the live one on a history built so that every figure is
-- known by hand (the reckoning is in the comments), then checked against
-- an independent SQL reckoning of the live book day by day.  Bad input,
-- rights, and that the replay writes nothing.  In a database of its own:
-- the replay reads every attached table.
\set SHOW_CONTEXT never
\set regress_db :DBNAME
SET client_min_messages = warning;
DROP DATABASE IF EXISTS regress_replay;
CREATE DATABASE regress_replay;
\c regress_replay
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE EXTENSION pgcredit;
SET pgcredit.horizon_today = '2025-06-30';

-- The company's tables: orders held in rp_order (hold mode), orders
-- refused in rp_order_b (block mode), invoices in rp_invoice.  The history
-- goes in before any limit exists, so nothing stops it.
CREATE TABLE rp_order (id int PRIMARY KEY, customer text NOT NULL, amount numeric(12,2) NOT NULL,
  ordered_on date, status text NOT NULL DEFAULT 'shipped', held boolean NOT NULL DEFAULT false);
CREATE TABLE rp_order_b (id int PRIMARY KEY, customer text NOT NULL, amount numeric(12,2) NOT NULL,
  placed timestamptz, day date, status text NOT NULL DEFAULT 'open');
CREATE TABLE rp_invoice (id int PRIMARY KEY, customer text NOT NULL, amount numeric(12,2) NOT NULL,
  open_amount numeric(12,2) NOT NULL, due date, invoiced_on date, paid_on date);

-- A: orders 300, 500, 200 in the period, each invoiced a few days later
-- B: an item past due when it orders 250 on 2025-01-20
-- C: one order of 1500 in the block-mode table, never invoiced
-- D: one order of 300 on 2025-03-20, nothing else
INSERT INTO rp_order (id, customer, amount, ordered_on) VALUES
  (1, 'A', 100, '2024-12-20'), (2, 'A', 300, '2025-01-10'), (3, 'A', 500, '2025-01-20'),
  (4, 'A', 200, '2025-02-15'),
  (5, 'B', 400, '2024-11-28'), (6, 'B', 250, '2025-01-20'), (7, 'B', 100, '2025-02-20'),
  (8, 'D', 300, '2025-03-20'),
  (9, 'A', 999, '2025-04-02'),          -- after the period: not replayed
  (10, 'A', 77, NULL);                  -- no order date: not in the history
INSERT INTO rp_order_b (id, customer, amount, day) VALUES (1, 'C', 1500, '2025-03-01');
INSERT INTO rp_invoice VALUES
  (1, 'A', 100, 0, '2025-01-21', '2024-12-22', '2025-01-15'),
  (2, 'A', 300, 0, '2025-02-11', '2025-01-12', '2025-02-20'),
  (3, 'A', 500, 0, '2025-02-24', '2025-01-25', '2025-03-10'),
  (4, 'A', 200, 200, '2025-03-18', '2025-02-16', NULL),
  (5, 'B', 400, 0, '2024-12-31', '2024-12-01', '2025-02-10'),
  (6, 'B', 250, 0, '2025-02-21', '2025-01-22', '2025-03-01'),
  (7, 'B', 100, 0, '2025-03-23', '2025-02-21', '2025-03-20'),
  (8, 'E', 50, 0, '2024-10-31', '2024-10-01', '2024-10-20');   -- paid before the period

SELECT (a).kind, (a).order_date_column FROM (
  SELECT pgcredit.attach_orders('rp_order', 'customer', 'amount', 'status', '{open}', 'hold', 'held',
                                order_date_column => 'ordered_on') a) x;
SELECT (a).kind, (a).order_date_column FROM (
  SELECT pgcredit.attach_orders('rp_order_b', 'customer', 'amount', 'status', '{open}', 'block') a) x;
SELECT (a).kind FROM (SELECT pgcredit.attach_receivables('rp_invoice', 'customer', 'open_amount', 'due',
                        invoice_amount_column => 'amount', invoiced_column => 'invoiced_on',
                        paid_column => 'paid_on') a) x;

-- The order date of a table attached without one, given afterwards;
-- wrong columns and tables refused, each change audited
SELECT pgcredit.set_order_date_column('rp_order_b', 'placed');
SELECT pgcredit.set_order_date_column('rp_order_b', 'nothing');
SELECT pgcredit.set_order_date_column('rp_order_b', 'amount');
SELECT pgcredit.set_order_date_column('rp_invoice', 'due');
SELECT pgcredit.set_order_date_column('pg_class', 'relname');
SELECT pgcredit.set_order_date_column(NULL, 'day');
-- a table owner's domain over date is refused (its checks would run in the replay)
CREATE DOMAIN rp_day AS date CHECK (VALUE > '2000-01-01');
ALTER TABLE rp_order_b ADD COLUMN owner_day rp_day;
SELECT pgcredit.set_order_date_column('rp_order_b', 'owner_day');
ALTER TABLE rp_order_b DROP COLUMN owner_day;
SELECT (a).order_date_column FROM (SELECT pgcredit.set_order_date_column('rp_order_b', 'day') a) x;
SELECT action, old_value ->> 'order_date_column' AS before, new_value ->> 'order_date_column' AS after
FROM pgcredit.audit_log WHERE action = 'set_order_date_column' ORDER BY id;
-- an order's date is what the order rows carry in _attached_items()
SELECT customer, amount, invoiced_on AS ordered_on FROM pgcredit._attached_items('orders')
ORDER BY customer, amount;

-- The live policy: A and B have limits of 1000, C of 2000; D has no
-- account (the default policy lets it order).  The built-in rule holds an
-- order over the limit.
SELECT customer, credit_limit FROM pgcredit.open_account('A', 1000);
SELECT customer, credit_limit FROM pgcredit.open_account('B', 1000);
SELECT customer, credit_limit FROM pgcredit.open_account('C', 2000);

-- A draft: the live policy copied, then changed by plain statements
SELECT name, no_account_policy FROM pgcredit.create_policy_draft('tight', 'smaller limit for A, no late payers');
SELECT customer, credit_limit, tolerance_pct FROM pgcredit.policy_draft_limit WHERE draft = 'tight' ORDER BY customer;
SELECT live_rule_id, kind, action FROM pgcredit.policy_draft_rule WHERE draft = 'tight' ORDER BY id;
SELECT count(*) AS tiers FROM pgcredit.policy_draft_tier WHERE draft = 'tight';
UPDATE pgcredit.policy_draft_limit SET credit_limit = 600 WHERE draft = 'tight' AND customer = 'A';
INSERT INTO pgcredit.policy_draft_limit (draft, customer, credit_limit) VALUES ('tight', 'D', 100);
INSERT INTO pgcredit.policy_draft_rule (draft, kind, action, days, note)
VALUES ('tight', 'days_past_due', 'refuse', 10, 'nothing for a customer 10 days late');
INSERT INTO pgcredit.policy_draft_rule (draft, kind, scope, scope_value, action, amount)
VALUES ('tight', 'largest_order', 'customer', 'C', 'hold', 1000);
-- a shadow rule, and a rule of a kind judged on today's account, change nothing
INSERT INTO pgcredit.policy_draft_rule (draft, kind, action, amount)
VALUES ('tight', 'largest_order', 'shadow', 1);
INSERT INTO pgcredit.policy_draft_rule (draft, kind, action, days)
VALUES ('tight', 'limit_expired', 'refuse', 0);
-- a rule without what its kind needs is refused
INSERT INTO pgcredit.policy_draft_rule (draft, kind, action) VALUES ('tight', 'days_past_due', 'refuse');
-- B loses 150 after the period (written off, nothing recovered yet)
SELECT amount FROM pgcredit.write_off('B', 150, '2025-04-15', 'gone');

-- The period: the first quarter of 2025.
--
-- Live (every order passes; no limit is reached):
--   A: opening item 100 (paid 01-15); 01-10 +300 (400); 01-15 -100 (300);
--      01-20 +500 (800); 02-15 +200 (1000, peak); 02-20 -300 (700);
--      03-10 -500 (200, the unpaid invoice 4 at the end).
--   B: opening item 400 (paid 02-10), backlog 0; 01-20 +250 (650);
--      02-10 -400 (250); 02-20 +100 (350); 03-01 -250 (100); 03-20 -100 (0).
--   C: 03-01 +1500, never invoiced (1500 at the end).
--   D: 03-20 +300 (300 at the end).
--   Book: 500 on 01-01 (A 100, B 400); peak 2300 on 03-01 (A 700 +
--   B 100 + C 1500); 2000 at the end (A 200, C 1500, D 300).
--   Passed: all 7 orders, 3150.  Loss avoided: none (B was not stopped).
-- Draft "tight":
--   A, limit 600: 01-10 300 passes (400); 01-20 500 would make 800:
--      held; its invoice (500, paid 03-10) waits with it; 02-15 200 passes
--      (300 + 200 = 500, the peak); 02-20 -300 (200); at 02-20 the held
--      order would add its waiting 500 (700 > 600): still held; 03-10 its
--      invoice is paid, it adds nothing: released, 49 days after 01-20.
--   B: 01-20 250 refused (item 400 due 2024-12-31 is 20 days past due),
--      its invoice never exists; 02-20 100 passes (the item was paid on
--      02-10).  Loss avoided: least(150 written off, 250 stopped) = 150.
--   C: 1500 > 1000, held by the customer rule, refused as rp_order_b is
--      in block mode.
--   D: limit 100 in the draft: 300 held, never released: lost.
--   Passed 3 (600); refused 2 (B 250, C 1500: 1750); held 2 (800), one
--   released (500, 49 days), one never (300); revenue lost 2050; book
--   peak 800 on 01-10 (A 400 + B 400), 200 at the end (A's unpaid
--   invoice); stopped B, C, D.
SELECT * FROM pgcredit.replay_policy('tight', '2025-01-01', '2025-03-31');
SELECT * FROM pgcredit.replay_policy_customers('tight', '2025-01-01', '2025-03-31');
SELECT * FROM pgcredit.replay_policy_orders('tight', '2025-01-01', '2025-03-31');

-- The live book, day by day, reckoned independently in SQL: the items
-- open on the day plus each customer's orders not yet invoiced (its
-- orders up to the day less its invoices up to the day, when positive).
-- Its peak, peak day and average are those of the replay.
WITH days AS (SELECT d::date AS day FROM generate_series('2025-01-01'::date, '2025-03-31', '1 day') d),
custs AS (SELECT DISTINCT customer FROM pgcredit._attached_items()),
book AS (
  SELECT days.day,
         (SELECT coalesce(sum(i.amount), 0) FROM rp_invoice i
          WHERE i.invoiced_on <= days.day AND (i.paid_on IS NULL OR i.paid_on > days.day))
       + (SELECT coalesce(sum(greatest(
            (SELECT coalesce(sum(o.amount), 0) FROM pgcredit._attached_items('orders') o
             WHERE o.customer = c.customer AND o.invoiced_on <= days.day)
          - (SELECT coalesce(sum(i.amount), 0) FROM rp_invoice i
             WHERE i.customer = c.customer AND i.invoiced_on <= days.day), 0)), 0) FROM custs c) AS exposure
  FROM days)
SELECT (SELECT max(exposure) FROM book) AS peak,
       (SELECT min(day) FROM book WHERE exposure = (SELECT max(exposure) FROM book)) AS first_peak_day,
       round(avg(exposure), 2) AS average,
       (SELECT exposure FROM book WHERE day = '2025-01-01') AS first,
       (SELECT exposure FROM book WHERE day = '2025-03-31') AS last
FROM book;
SELECT peak_exposure, peak_day, average_exposure, start_exposure, end_exposure
FROM pgcredit.replay_policy('tight', '2025-01-01', '2025-03-31') WHERE policy = 'live';

-- The same orders in any physical order: the same result
SELECT md5(string_agg(r::text, ',')) AS before FROM pgcredit.replay_policy_orders('tight', '2025-01-01', '2025-03-31') r \gset
INSERT INTO rp_order (id, customer, amount, ordered_on) VALUES (11, 'A', 0.5, '2025-02-15'), (12, 'A', 0.5, '2025-02-15');
DELETE FROM rp_order WHERE id = 4;
INSERT INTO rp_order (id, customer, amount, ordered_on) VALUES (4, 'A', 200, '2025-02-15');
DELETE FROM rp_order WHERE id IN (11, 12);
SELECT md5(string_agg(r::text, ',')) = :'before' AS same_result
FROM pgcredit.replay_policy_orders('tight', '2025-01-01', '2025-03-31') r;

-- A temporary limit in force on the day, and tolerance: the draft lets A
-- go to 800 (700 + 1/7 tolerance, not a round figure) in January only,
-- so the 500 of 01-20 passes; exempt rules win their scope
UPDATE pgcredit.policy_draft_limit SET temporary_limit = 700, temporary_from = '2025-01-01',
  temporary_until = '2025-01-31', tolerance_pct = 14.2857142857142857143
WHERE draft = 'tight' AND customer = 'A';
INSERT INTO pgcredit.policy_draft_rule (draft, kind, scope, scope_value, action, days)
VALUES ('tight', 'days_past_due', 'customer', 'B', 'exempt', 0);
SELECT customer, ordered_on, amount, draft_outcome, draft_rule
FROM pgcredit.replay_policy_orders('tight', '2025-01-01', '2025-03-31') WHERE customer IN ('A', 'B');
-- one cent under the tolerance: held again
UPDATE pgcredit.policy_draft_limit SET tolerance_pct = 14.2857 WHERE draft = 'tight' AND customer = 'A';
SELECT customer, ordered_on, amount, draft_outcome, draft_rule
FROM pgcredit.replay_policy_orders('tight', '2025-01-01', '2025-03-31') WHERE customer = 'A' AND amount = 500;

-- Limits from the draft's tier table: A (tier B in the draft) gets two
-- months of its invoicing of the year before 2025-03-31 (100 + 300 + 500
-- + 200 = 1100 a year; 91.67 a month; 183.34, rounded up to 200)
UPDATE pgcredit.policy_draft_limit SET risk_tier = 'B' WHERE draft = 'tight' AND customer = 'A';
SELECT pgcredit.draft_limits_from_tiers('tight', '2025-03-31') AS accounts_changed;
SELECT customer, credit_limit, tolerance_pct FROM pgcredit.policy_draft_limit
WHERE draft = 'tight' AND customer = 'A';

-- Each kind of rule, one customer each, in a second draft "kinds" (made
-- now, from the live policy, so "tight" stays as it was):
--   F, limit 1000: an item of 400 due 2024-12-31, paid 2025-02-15; on
--      2025-01-10 it orders 100.  overdue_amount (everyone, share 0.3 of
--      the limit, 5 days of grace): 400 > 300, held; released on 02-15,
--      when the item is paid (36 days).
--   G, tier D in the draft, limit 1000: orders 600 on 2025-02-01;
--      utilisation (tier D, share 0.5): 600 > 500, refused.
--   H, limit 5000: two orders of 100 before the period; 250 on 01-15 is
--      more than 2 times its average order (largest_order for H, multiple
--      2, at least 2 orders): held, never released (no payment);  150 on
--      01-20 passes (2 x 100).
--   I, no account: the draft denies customers without one; its 50 of
--      03-01 is held, never released.
--   J, limit 1000: a credit note of -200 on 2025-01-05 (open) and an
--      order of 1100 on 01-06: 900 with the credit, it passes both.
INSERT INTO rp_invoice VALUES
  (20, 'F', 400, 0, '2024-12-31', '2024-12-01', '2025-02-15'),
  (21, 'J', -200, -200, NULL, '2025-01-05', NULL);
INSERT INTO rp_order (id, customer, amount, ordered_on) VALUES
  (20, 'F', 400, '2024-11-30'), (21, 'F', 100, '2025-01-10'),
  (22, 'G', 600, '2025-02-01'),
  (23, 'H', 100, '2024-12-01'), (24, 'H', 100, '2024-12-05'), (25, 'H', 250, '2025-01-15'),
  (26, 'H', 150, '2025-01-20'),
  (27, 'I', 50, '2025-03-01'),
  (28, 'J', 1100, '2025-01-06');
SELECT customer, credit_limit FROM pgcredit.open_account('F', 1000);
SELECT customer, credit_limit FROM pgcredit.open_account('G', 1000);
SELECT customer, credit_limit FROM pgcredit.open_account('H', 5000);
SELECT customer, credit_limit FROM pgcredit.open_account('J', 1000);
SELECT name FROM pgcredit.create_policy_draft('kinds');
UPDATE pgcredit.policy_draft SET no_account_policy = 'deny' WHERE name = 'kinds';
UPDATE pgcredit.policy_draft_limit SET risk_tier = 'D' WHERE draft = 'kinds' AND customer = 'G';
INSERT INTO pgcredit.policy_draft_rule (draft, kind, action, share, days)
VALUES ('kinds', 'overdue_amount', 'hold', 0.3, 5);
INSERT INTO pgcredit.policy_draft_rule (draft, kind, scope, scope_value, action, share)
VALUES ('kinds', 'utilisation', 'tier', 'D', 'refuse', 0.5);
INSERT INTO pgcredit.policy_draft_rule (draft, kind, scope, scope_value, action, multiple, min_orders)
VALUES ('kinds', 'largest_order', 'customer', 'H', 'hold', 2, 2);
SELECT customer, ordered_on, amount, live_outcome, draft_outcome, draft_rule, draft_released_on
FROM pgcredit.replay_policy_orders('kinds', '2025-01-01', '2025-03-31') WHERE customer >= 'F';
SELECT customer, policy, held, released, revenue_deferred, revenue_lost, peak_exposure, end_exposure
FROM pgcredit.replay_policy_customers('kinds', '2025-01-01', '2025-03-31') WHERE customer >= 'F';

-- Nothing of the live policy changed, nothing written
SELECT count(*) AS accounts, sum(credit_limit) AS limits FROM pgcredit.account;
SELECT count(*) AS live_rules FROM pgcredit.credit_rule;
SELECT count(*) AS held_orders FROM pgcredit.held_order;

-- Bad input
SELECT * FROM pgcredit.replay_policy('nothing', '2025-01-01', '2025-03-31');
SELECT * FROM pgcredit.replay_policy(NULL, '2025-01-01', '2025-03-31');
SELECT * FROM pgcredit.replay_policy('tight', NULL, '2025-03-31');
SELECT * FROM pgcredit.replay_policy('tight', '2025-03-31', '2025-01-01');
SELECT * FROM pgcredit.replay_policy('tight', '-infinity', '2025-01-01');
SELECT * FROM pgcredit.replay_policy('tight', '2025-01-01', 'infinity');
SELECT * FROM pgcredit._replay_walk('tight', '1900-01-01', '2025-01-01', false);
SELECT pgcredit.create_policy_draft('tight');
SELECT pgcredit.create_policy_draft(NULL);
SELECT pgcredit.create_policy_draft('  ');
SELECT pgcredit.drop_policy_draft('nothing');
SELECT pgcredit.draft_limits_from_tiers('tight', NULL);
INSERT INTO pgcredit.policy_draft_limit (draft, customer, credit_limit) VALUES ('nothing', 'A', 1);
INSERT INTO pgcredit.policy_draft_limit (draft, customer, credit_limit) VALUES ('tight', 'Z', 'NaN');
INSERT INTO pgcredit.policy_draft_limit (draft, customer, credit_limit) VALUES ('tight', 'Z', -1);

-- Rights: a role with nothing (as the application role), sales and
-- collectors cannot replay or draft; a reader replays but cannot draft; a controller
-- drafts but cannot touch the live rules through a draft
CREATE ROLE regress_rp_nobody;
CREATE ROLE regress_rp_reader IN ROLE pgcredit_reader;
CREATE ROLE regress_rp_controller IN ROLE pgcredit_controller;
CREATE ROLE regress_rp_sales IN ROLE pgcredit_sales;
CREATE ROLE regress_rp_collector IN ROLE pgcredit_collector;
GRANT USAGE ON SCHEMA pgcredit TO regress_rp_nobody;
SET ROLE regress_rp_nobody;
SELECT * FROM pgcredit.replay_policy('tight', '2025-01-01', '2025-03-31');
SELECT pgcredit.create_policy_draft('mine');
SELECT * FROM pgcredit.policy_draft_rule;
SELECT * FROM pgcredit._replay_walk('tight', '2025-01-01', '2025-03-31', false);
RESET ROLE;
SET ROLE regress_rp_sales;
SELECT * FROM pgcredit.replay_policy_orders('tight', '2025-01-01', '2025-03-31');
RESET ROLE;
SET ROLE regress_rp_collector;
SELECT * FROM pgcredit.replay_policy_customers('tight', '2025-01-01', '2025-03-31');
INSERT INTO pgcredit.policy_draft_limit (draft, customer, credit_limit) VALUES ('tight', 'X', 1);
RESET ROLE;
SET ROLE regress_rp_reader;
SELECT policy, orders FROM pgcredit.replay_policy('tight', '2025-01-01', '2025-03-31');
SELECT pgcredit.create_policy_draft('mine');
UPDATE pgcredit.policy_draft_limit SET credit_limit = 1;
RESET ROLE;
SET ROLE regress_rp_controller;
SELECT name FROM pgcredit.create_policy_draft('mine');
UPDATE pgcredit.policy_draft_rule SET action = 'refuse' WHERE draft = 'mine' AND live_rule_id = 2;
UPDATE pgcredit.credit_rule SET action = 'refuse' WHERE id = 2;
UPDATE pgcredit.policy_draft SET created_by = 'someone' WHERE name = 'mine';
SELECT pgcredit.set_order_date_column('rp_order', NULL);
SELECT pgcredit.drop_policy_draft('mine');
RESET ROLE;
SELECT action FROM pgcredit.credit_rule WHERE id = 2;
SELECT count(*) AS drafts FROM pgcredit.policy_draft;
SELECT pgcredit.drop_policy_draft('kinds');

-- Without order dates the replay judges no order, and says so
SELECT (a).order_date_column FROM (SELECT pgcredit.set_order_date_column('rp_order', NULL) a) x;
SELECT (a).order_date_column FROM (SELECT pgcredit.set_order_date_column('rp_order_b', NULL) a) x;
SET client_min_messages = notice;
SELECT policy, orders, start_exposure FROM pgcredit.replay_policy('tight', '2025-01-01', '2025-03-31');
SET client_min_messages = warning;

-- Dropping a draft drops its parts
SELECT pgcredit.drop_policy_draft('tight');
SELECT (SELECT count(*) FROM pgcredit.policy_draft_limit) + (SELECT count(*) FROM pgcredit.policy_draft_rule)
     + (SELECT count(*) FROM pgcredit.policy_draft_tier) AS parts_left;

\c :regress_db
DROP DATABASE regress_replay;
DROP ROLE regress_rp_nobody, regress_rp_reader, regress_rp_controller, regress_rp_sales, regress_rp_collector;

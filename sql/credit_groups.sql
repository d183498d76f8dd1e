-- Credit groups: subsidiaries of one parent share a group limit while
-- each keeps its own.  The guard adds every change of a member's
-- exposure to its group and the groups above it, and refuses (PC014) or
-- holds an order that takes one of them past its limit.
\set SHOW_CONTEXT never

CREATE TABLE g_order (
  id        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  customer  text NOT NULL,
  amount    numeric(12,2) NOT NULL
);
CREATE TABLE g_invoice (
  id        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  customer  text NOT NULL,
  amount    numeric(12,2) NOT NULL,
  due       date NOT NULL DEFAULT current_date + 30
);
SELECT relid FROM pgcredit.attach_orders('g_order', 'customer', 'amount');
SELECT relid FROM pgcredit.attach_receivables('g_invoice', 'customer', 'amount', 'due');

-- Data: a holding (limit 1000) over a region (limit 800, 10% tolerance)
SELECT id, parent, credit_limit, tolerance_pct, name FROM pgcredit.create_group('HOLD', 1000, name => 'Holding');
SELECT id, parent, credit_limit, tolerance_pct FROM pgcredit.create_group('EU', 800, 10, 'HOLD');
SELECT id, parent FROM pgcredit.create_group('EU-N', NULL, 0, 'EU');
SELECT id, parent FROM pgcredit.create_group('EU-N-1', NULL, 0, 'EU-N');
SELECT * FROM pgcredit.group_exposure ORDER BY depth, group_id;

-- Bad input: every one refused, nothing changed
\set VERBOSITY terse
SELECT pgcredit.create_group('TOO-DEEP', parent => 'EU-N-1');
SELECT pgcredit.create_group('X', parent => 'NOPE');
SELECT pgcredit.create_group('HOLD');
SELECT pgcredit.create_group(NULL);
SELECT pgcredit.create_group(repeat('k', 1001));
SELECT pgcredit.create_group('X', -1);
SELECT pgcredit.create_group('X', 'NaN');
SELECT pgcredit.create_group('X', 'Infinity');
SELECT pgcredit.create_group('X', 1, NULL);
SELECT pgcredit.create_group('X', reason => '');
SELECT pgcredit.set_group_limit('NOPE', 1, 'r');
SELECT id, credit_limit, tolerance_pct FROM pgcredit.set_group_limit('EU', -5, 'r');
SELECT id, credit_limit, tolerance_pct FROM pgcredit.set_group_limit('EU', 'NaN', 'r');
SELECT pgcredit.join_group('A', 'NOPE', 'r');
SELECT pgcredit.join_group('A', NULL, 'r');
SELECT pgcredit.join_group(NULL, 'EU', 'r');
SELECT pgcredit.leave_group('A', 'r');
-- a group cannot be its own parent, nor have a cycle
UPDATE pgcredit.credit_group SET parent = id WHERE id = 'HOLD';
\set VERBOSITY default
SELECT count(*) AS groups FROM pgcredit.credit_group;

-- Two subsidiaries with limits of their own in EU, one in EU-N
SELECT customer FROM pgcredit.open_account('A', 600);
SELECT customer FROM pgcredit.open_account('B', 600);
SELECT customer FROM pgcredit.open_account('C', 600);
SELECT pgcredit.join_group('A', 'EU', 'subsidiary');
SELECT pgcredit.join_group('B', 'EU', 'subsidiary');
SELECT pgcredit.join_group('C', 'EU-N', 'subsidiary');
SELECT customer, credit_group FROM pgcredit.exposure WHERE customer IN ('A', 'B', 'C', 'D') ORDER BY customer;

INSERT INTO g_order (customer, amount) VALUES ('A', 500);
INSERT INTO g_order (customer, amount) VALUES ('B', 300);
SELECT group_id, exposure FROM pgcredit.group_exposure ORDER BY depth, group_id;
-- EU: 800 + 10% = 880; B's own limit holds 250 more, the group 80
INSERT INTO g_order (customer, amount) VALUES ('B', 100);
\echo :LAST_ERROR_SQLSTATE
INSERT INTO g_order (customer, amount) VALUES ('B', 80);
-- C is under EU-N (no limit) under EU: EU's limit holds it too
INSERT INTO g_order (customer, amount) VALUES ('C', 1);
\echo :LAST_ERROR_SQLSTATE
SELECT group_id, exposure FROM pgcredit.group_exposure ORDER BY depth, group_id;

-- The customer's own limit still comes first (PC001)
SELECT id, credit_limit, tolerance_pct FROM pgcredit.set_group_limit('EU', NULL, 'limit lifted');
INSERT INTO g_order (customer, amount) VALUES ('A', 101);
\echo :LAST_ERROR_SQLSTATE
-- and the holding's limit binds now: 880 + 121 > 1000
INSERT INTO g_order (customer, amount) VALUES ('C', 121);
\echo :LAST_ERROR_SQLSTATE
INSERT INTO g_order (customer, amount) VALUES ('C', 120);

-- A smaller order, a cancelled one and a payment lower the groups
UPDATE g_order SET amount = amount - 20 WHERE customer = 'C';
DELETE FROM g_order WHERE customer = 'B' AND amount = 80;
SELECT group_id, exposure FROM pgcredit.group_exposure ORDER BY depth, group_id;
-- receivables move the groups too
INSERT INTO g_invoice (customer, amount) VALUES ('A', 50), ('C', 30);
UPDATE g_invoice SET amount = 0 WHERE customer = 'C';
SELECT group_id, exposure FROM pgcredit.group_exposure ORDER BY depth, group_id;
SELECT * FROM pgcredit.verify_group_exposure();

-- Override: a controller's override_block covers the group check too
SELECT id, credit_limit, tolerance_pct FROM pgcredit.set_group_limit('HOLD', 900, 'tighter');
BEGIN;
INSERT INTO g_order (customer, amount) VALUES ('C', 10);
ROLLBACK;
BEGIN;
SELECT pgcredit.override_block('C', 'one order past the group limit');
INSERT INTO g_order (customer, amount) VALUES ('C', 10);
COMMIT;
SELECT group_id, exposure FROM pgcredit.group_exposure ORDER BY depth, group_id;

-- Hold mode: the order goes in held, its why names the group
CREATE TABLE g_held (
  id        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  customer  text NOT NULL,
  amount    numeric(12,2) NOT NULL,
  on_hold   boolean NOT NULL DEFAULT false
);
SELECT relid FROM pgcredit.attach_orders('g_held', 'customer', 'amount', mode => 'hold', hold_column => 'on_hold');
INSERT INTO g_held (customer, amount) VALUES ('B', 5) RETURNING on_hold;
SELECT customer, amount, why FROM pgcredit.held_order WHERE released_at IS NULL;
SELECT group_id, exposure FROM pgcredit.group_exposure ORDER BY depth, group_id;

-- Moves: joining a group that cannot carry the customer is refused,
-- nothing changed; leaving takes the exposure out
SELECT customer FROM pgcredit.open_account('D', 600);
INSERT INTO g_order (customer, amount) VALUES ('D', 400);
SELECT pgcredit.join_group('D', 'EU', 'acquired');
\echo :LAST_ERROR_SQLSTATE
SELECT customer, credit_group FROM pgcredit.exposure WHERE customer = 'D';
SELECT id FROM pgcredit.create_group('US', 500);
SELECT pgcredit.join_group('D', 'US', 'acquired');
SELECT pgcredit.leave_group('C', 'sold');
SELECT customer, credit_group FROM pgcredit.exposure WHERE customer IN ('A', 'B', 'C', 'D') ORDER BY customer;
SELECT group_id, exposure FROM pgcredit.group_exposure ORDER BY depth, group_id;
-- changing group moves it from the old chain to the new one
SELECT pgcredit.join_group('D', 'EU-N-1', 'reorganised');
\echo :LAST_ERROR_SQLSTATE
SELECT id, credit_limit, tolerance_pct FROM pgcredit.set_group_limit('HOLD', 2000, 'bigger');
SELECT pgcredit.join_group('D', 'EU-N-1', 'reorganised');
SELECT group_id, exposure FROM pgcredit.group_exposure ORDER BY depth, group_id;
SELECT * FROM pgcredit.verify_group_exposure();
SELECT action, customer, old_value, new_value, reason FROM pgcredit.audit_log
WHERE action IN ('join_group', 'leave_group', 'set_group_limit') ORDER BY id;

-- Dropping: only an empty group
\set VERBOSITY terse
SELECT pgcredit.drop_group('EU', 'gone');
\set VERBOSITY default
SELECT pgcredit.drop_group('US', 'empty now');
SELECT count(*) FROM pgcredit.group_exposure WHERE group_id = 'US';

-- The views: the groups, and each member beside its group, with the
-- limit that binds it (its own, or a group's of its chain)
SELECT credit_group, parent, depth, credit_limit, tolerance_pct, exposure, available, members, utilisation,
       day = current_date AS today
FROM pgcredit.group_risk ORDER BY depth, credit_group;
SELECT customer, credit_group, top_group, exposure, credit_limit, available, group_exposure, group_limit,
       group_available, limit_headroom, limited_by, limiting_group, day = current_date AS today
FROM pgcredit.group_member_risk ORDER BY customer;
-- a temporary limit in force counts, as in the guard; a customer whose
-- own limit leaves less headroom than its groups is limited by it
SELECT customer, credit_limit FROM pgcredit.set_temporary_limit('D', 100, current_date + 1, 'season');
SELECT customer, credit_limit, available, limit_headroom, limited_by, limiting_group
FROM pgcredit.group_member_risk WHERE customer = 'D';
SELECT customer FROM pgcredit.clear_temporary_limit('D', 'season over');
-- the cover that counts raises the customer's limit as in the guard
-- (tolerance on its own limit only)
SELECT kind, amount FROM pgcredit.add_cover('B', 'deposit', 'cash', 100, 'deposit') \gset cover_
SELECT customer, credit_limit, available, limit_headroom, limited_by
FROM pgcredit.group_member_risk WHERE customer = 'B';
SELECT kind, ended_at IS NOT NULL AS ended
FROM pgcredit.end_cover((SELECT max(id) FROM pgcredit.cover WHERE customer = 'B'), 'returned');
-- a group limit with tolerance that leaves less binds the members under it
SELECT id, credit_limit, tolerance_pct FROM pgcredit.set_group_limit('EU', 1200, 'tight', 5);
SELECT customer, available, group_available, limit_headroom, limited_by, limiting_group
FROM pgcredit.group_member_risk ORDER BY customer;
SELECT id, credit_limit, tolerance_pct FROM pgcredit.set_group_limit('EU', NULL, 'as before', 10);

-- check_order gives the group verdict too, without writing anything
SELECT id, credit_limit FROM pgcredit.set_group_limit('EU-N', 500, 'cap the region');
SELECT verdict, kind, sqlstate, reason, exposure FROM pgcredit.check_order('D', 150);
SELECT verdict, kind, sqlstate, reason, exposure FROM pgcredit.check_order('D', 100);
SELECT verdict, kind, sqlstate FROM pgcredit.check_order('D', 150, 'g_order');
SELECT group_id, exposure FROM pgcredit.group_exposure WHERE group_id = 'EU-N';

-- Moving a group: no cycle, at most 4 levels, the new groups above it
-- must carry its exposure; its exposure moves with it
\set VERBOSITY terse
SELECT pgcredit.set_group_parent('EU', 'EU-N-1', 'loop');
SELECT pgcredit.set_group_parent('HOLD', 'HOLD', 'loop');
SELECT pgcredit.set_group_parent('NOPE', NULL, 'r');
SELECT pgcredit.set_group_parent('EU-N', 'NOPE', 'r');
SELECT pgcredit.set_group_parent('EU-N', NULL, '');
\set VERBOSITY default
SELECT id FROM pgcredit.create_group('TOP2', 300);
SELECT pgcredit.set_group_parent('EU-N', 'TOP2', 'new region');
\echo :LAST_ERROR_SQLSTATE
SELECT id, credit_limit FROM pgcredit.set_group_limit('TOP2', 1000, 'room for the region');
SELECT id, parent FROM pgcredit.set_group_parent('EU-N', 'TOP2', 'new region');
SELECT group_id, parent, depth, exposure FROM pgcredit.group_exposure ORDER BY depth, group_id;
SELECT id FROM pgcredit.create_group('L4', NULL, 0, 'EU-N-1');
\set VERBOSITY terse
SELECT pgcredit.set_group_parent('EU-N', 'EU', 'back');
\set VERBOSITY default
-- orders of the moved group's members now count in its new chain
INSERT INTO g_order (customer, amount) VALUES ('D', 10);
SELECT group_id, parent, depth, exposure FROM pgcredit.group_exposure ORDER BY depth, group_id;
SELECT * FROM pgcredit.verify_group_exposure();

-- Attaching and detaching a table that holds rows of members moves the
-- groups too
CREATE TABLE g_more (id int PRIMARY KEY, customer text NOT NULL, amount numeric NOT NULL);
INSERT INTO g_more VALUES (1, 'D', 5), (2, 'A', 7);
SELECT relid FROM pgcredit.attach_orders('g_more', 'customer', 'amount');
SELECT group_id, exposure FROM pgcredit.group_exposure ORDER BY depth, group_id;
SELECT relid FROM pgcredit.detach('g_more');
DROP TABLE g_more;
SELECT * FROM pgcredit.verify_group_exposure();

-- Tampering is found and repaired
UPDATE pgcredit.group_exposure SET exposure = exposure + 7 WHERE group_id = 'EU';
UPDATE pgcredit.exposure SET credit_group = NULL WHERE customer = 'A';
SELECT * FROM pgcredit.verify_group_exposure();
SELECT pgcredit.rebuild_exposure() > 0 AS repaired;
SELECT * FROM pgcredit.verify_group_exposure();

-- Attacks: the application and a role with nothing cannot change groups
-- or write their exposure
CREATE ROLE regress_g_app;
CREATE ROLE regress_g_nobody;
GRANT INSERT, SELECT ON g_order TO regress_g_app;
SET ROLE regress_g_app;
\set VERBOSITY terse
SELECT pgcredit.create_group('EVIL', 1e9);
SELECT pgcredit.join_group('A', 'EU-N', 'mine');
SELECT pgcredit.leave_group('A', 'free me');
SELECT id, credit_limit, tolerance_pct FROM pgcredit.set_group_limit('HOLD', 1e9, 'more');
SELECT pgcredit.set_group_parent('EU', NULL, 'free');
UPDATE pgcredit.group_exposure SET exposure = 0;
INSERT INTO pgcredit.group_member VALUES ('A', 'EU-N');
SET ROLE regress_g_nobody;
UPDATE pgcredit.group_exposure SET exposure = 0;
SELECT pgcredit.drop_group('EU-N-1', 'r');
\set VERBOSITY default
RESET ROLE;
-- the application's orders still go through the guard
SET ROLE regress_g_app;
INSERT INTO g_order (customer, amount) VALUES ('B', 1);
RESET ROLE;
SELECT * FROM pgcredit.verify_group_exposure();
SELECT * FROM pgcredit.verify_exposure();
DROP OWNED BY regress_g_app;
DROP ROLE regress_g_app;
DROP ROLE regress_g_nobody;

-- Leave nothing behind for the files after this one
SELECT m.customer, pgcredit.leave_group(m.customer, 'cleanup') FROM pgcredit.group_member m ORDER BY 1;
SELECT pgcredit.drop_group(g, 'cleanup') FROM unnest(ARRAY['L4', 'EU-N-1', 'EU-N', 'EU', 'HOLD', 'TOP2']) g;
SELECT count(*) AS groups_left FROM pgcredit.group_exposure;
SELECT relid FROM pgcredit.detach('g_order');
SELECT relid FROM pgcredit.detach('g_invoice');
SELECT relid FROM pgcredit.detach('g_held');
DROP TABLE g_order, g_invoice, g_held;
DELETE FROM pgcredit.held_order WHERE customer IN ('A', 'B', 'C', 'D');
-- the files after this one number their held orders from 1
ALTER TABLE pgcredit.held_order ALTER COLUMN id RESTART;
DELETE FROM pgcredit.alert WHERE customer IN ('A', 'B', 'C', 'D');
DELETE FROM pgcredit.override WHERE customer IN ('A', 'B', 'C', 'D');
DELETE FROM pgcredit.receivable_due WHERE customer IN ('A', 'B', 'C', 'D');
DELETE FROM pgcredit.cover WHERE customer IN ('A', 'B', 'C', 'D');
DELETE FROM pgcredit.exposure WHERE customer IN ('A', 'B', 'C', 'D');
DELETE FROM pgcredit.account WHERE customer IN ('A', 'B', 'C', 'D');
DELETE FROM pgcredit.audit_log WHERE customer IN ('A', 'B', 'C', 'D')
  OR action IN ('create_group', 'set_group_limit', 'set_group_parent', 'drop_group', 'attach_orders', 'attach_receivables', 'detach', 'rebuild_exposure');

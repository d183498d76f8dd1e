-- Collections under attack: a role with nothing, the application, a
-- reader, a controller, an admin and a table owner each try what their
-- rights must not allow; a hold set by dunning stops the application's
-- next order; the owner's code never runs while pgcredit reads its table.
\set SHOW_CONTEXT never
SET client_min_messages = warning;

CREATE ROLE regress_cs_nobody;
CREATE ROLE regress_cs_app;
CREATE ROLE regress_cs_reader IN ROLE pgcredit_reader;
CREATE ROLE regress_cs_controller IN ROLE pgcredit_controller;
CREATE ROLE regress_cs_admin IN ROLE pgcredit_admin;
CREATE ROLE regress_cs_owner IN ROLE pgcredit_admin;
GRANT CREATE ON SCHEMA public TO regress_cs_owner;

-- The owner's table, with a row-level security policy whose function
-- writes down who ran it: should pgcredit read the table through SQL as
-- itself, the owner's function would run with pgcredit's rights
SET ROLE regress_cs_owner;
CREATE TABLE cs_spy_log (who name, at timestamptz DEFAULT now());
CREATE FUNCTION cs_spy() RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO public.cs_spy_log (who) VALUES (current_user);
  RETURN true;
END
$$;
GRANT INSERT ON cs_spy_log TO PUBLIC;
CREATE TABLE cs_invoice (id int PRIMARY KEY, customer text NOT NULL, amount numeric(12,2) NOT NULL, due date);
CREATE POLICY cs_everything ON cs_invoice USING (cs_spy());
ALTER TABLE cs_invoice ENABLE ROW LEVEL SECURITY;
ALTER TABLE cs_invoice FORCE ROW LEVEL SECURITY;
SELECT kind FROM pgcredit.attach_receivables('cs_invoice', 'customer', 'amount', 'due');
CREATE TABLE cs_order (id int PRIMARY KEY, customer text NOT NULL, amount numeric(12,2) NOT NULL);
SELECT kind FROM pgcredit.attach_orders('cs_order', 'customer', 'amount');
GRANT SELECT, INSERT ON cs_invoice, cs_order TO regress_cs_app;
RESET ROLE;

SET ROLE regress_cs_admin;
SELECT name FROM pgcredit.create_dunning_policy('cs', 'security test', quiet_days => 0);
SELECT level FROM pgcredit.set_dunning_level('cs', 1, 10, 'letter', 'notice', 'security test');
SELECT level FROM pgcredit.set_dunning_level('cs', 2, 30, 'letter', 'final', 'security test', 'hold');
SELECT pgcredit.set_tier_dunning_policy('default', 'cs', 'security test');
RESET ROLE;
SET ROLE regress_cs_controller;
SELECT customer FROM pgcredit.open_account('CS1', 1000, reason => 'security test');
RESET ROLE;
SET ROLE regress_cs_app;
INSERT INTO cs_invoice VALUES (1, 'CS1', 100, '2024-01-01'), (2, 'CS2', 50, '2024-01-10');
RESET ROLE;
DELETE FROM cs_spy_log;

-- A role with nothing: no run, no preview, no read, no policy
SET ROLE regress_cs_nobody;
SELECT count(*) FROM pgcredit.run_collections('2024-02-15');
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) FROM pgcredit.due_collection_actions('2024-02-15');
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) FROM pgcredit.collection_status;
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) FROM pgcredit.collection_action;
\echo :LAST_ERROR_SQLSTATE
SELECT pgcredit.create_dunning_policy('mine', 'r');
\echo :LAST_ERROR_SQLSTATE
SELECT pgcredit.exempt_from_dunning('CS1', 'r');
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;

-- The application: writes its tables, nothing of pgcredit's; it cannot
-- write an action, forge a dunning status, or call the internals
SET ROLE regress_cs_app;
INSERT INTO pgcredit.collection_action (as_of, customer, policy, level, days, channel, template, amount, items, overdue)
VALUES ('2024-02-15', 'CS1', 'cs', 9, 0, 'x', 'x', 0, 0, 0);
\echo :LAST_ERROR_SQLSTATE
UPDATE pgcredit.dunning_status SET previous_status = 'ok';
\echo :LAST_ERROR_SQLSTATE
UPDATE pgcredit.collection_state SET runs = 0;
\echo :LAST_ERROR_SQLSTATE
SELECT pgcredit._set_dunning_exception('CS1', NULL, true, 'r');
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) FROM pgcredit._open_items_at('2024-02-15');
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) FROM pgcredit._attached_items_keyed('receivables');
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) FROM pgcredit.run_collections('2024-02-15');
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;

-- A reader previews and reads, and changes nothing
SET ROLE regress_cs_reader;
SELECT customer, level, amount FROM pgcredit.due_collection_actions('2024-02-15');
SELECT count(*) FROM pgcredit.run_collections('2024-02-15');
\echo :LAST_ERROR_SQLSTATE
SELECT pgcredit.set_customer_dunning_policy('CS2', NULL, 'r');
\echo :LAST_ERROR_SQLSTATE
SELECT pgcredit.exempt_from_dunning('CS1', 'r');
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;

-- A controller runs the day; the policies are the admin's.  Objects of
-- its own named like pgcredit's change nothing (every name is qualified,
-- the search path is fixed)
SET ROLE regress_cs_controller;
SELECT pgcredit.create_dunning_policy('mine', 'r');
\echo :LAST_ERROR_SQLSTATE
SELECT pgcredit.set_dunning_level('cs', 1, 0, 'sms', 'x', 'r');
\echo :LAST_ERROR_SQLSTATE
SELECT pgcredit.set_tier_dunning_policy('default', NULL, 'r');
\echo :LAST_ERROR_SQLSTATE
SELECT pgcredit.alter_dunning_policy('cs', 'r', min_amount => 1000000);
\echo :LAST_ERROR_SQLSTATE
CREATE TEMP TABLE dunning_level (policy text, level int, days int, channel text, template text,
                                  account_status text);
INSERT INTO dunning_level VALUES ('cs', 1, 10000, 'none', 'none', NULL);
CREATE TEMP TABLE collection_action (id bigint, as_of date, customer text);
SET search_path = pg_temp, public;
SELECT customer, level, template, amount, account_status FROM pgcredit.run_collections('2024-02-15');
RESET search_path;
DROP TABLE pg_temp.dunning_level, pg_temp.collection_action;
RESET ROLE;

-- The owner's function never ran: pgcredit read the table with a plain
-- heap scan, and saw every row (the policy is the owner's, for others)
SELECT count(*) AS spy_calls FROM cs_spy_log;
SELECT customer, level FROM pgcredit.collection_action WHERE customer LIKE 'CS%' ORDER BY customer;

-- The hold dunning set on CS1 (45 days late: level 2) stops the
-- application's next order; CS2 has no account to hold
SELECT customer, status FROM pgcredit.account WHERE customer = 'CS1';
SET ROLE regress_cs_app;
INSERT INTO cs_order VALUES (1, 'CS1', 10);
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) FROM cs_order;
RESET ROLE;

-- LISTEN is open to every role; the payload is an id, the action stays
-- behind its grants (test/t/collections_notify.pl receives them)
SET ROLE regress_cs_nobody;
LISTEN pgcredit_collections;
UNLISTEN pgcredit_collections;
RESET ROLE;

-- Clean up
SELECT relid FROM pgcredit.detach('cs_invoice');
SELECT relid FROM pgcredit.detach('cs_order');
DROP TABLE cs_invoice, cs_order, cs_spy_log;
DROP FUNCTION cs_spy();
DELETE FROM pgcredit.collection_action WHERE customer LIKE 'CS%';
DELETE FROM pgcredit.collection_state; DELETE FROM pgcredit.collection_run;
DELETE FROM pgcredit.dunning_status WHERE customer LIKE 'CS%';
DELETE FROM pgcredit.dunning_assignment;
DELETE FROM pgcredit.dunning_policy;
DELETE FROM pgcredit.account WHERE customer LIKE 'CS%';
DELETE FROM pgcredit.exposure WHERE customer LIKE 'CS%';
REVOKE CREATE ON SCHEMA public FROM regress_cs_owner;
DROP OWNED BY regress_cs_owner;
DROP ROLE regress_cs_nobody, regress_cs_app, regress_cs_reader, regress_cs_controller, regress_cs_admin,
  regress_cs_owner;

-- Roles: what an application, a reader, a controller and an admin can do.
-- Application roles cannot write pgcredit's tables, change accounts or
-- skip the trigger; they insert orders and catch the SQLSTATE.
\set SHOW_CONTEXT never

CREATE ROLE regress_roles_app;
CREATE ROLE regress_roles_reader IN ROLE pgcredit_reader;
CREATE ROLE regress_roles_controller IN ROLE pgcredit_controller;
CREATE ROLE regress_roles_admin IN ROLE pgcredit_admin;

CREATE TABLE app_order (id serial PRIMARY KEY, customer text NOT NULL, amount numeric NOT NULL);
GRANT SELECT, INSERT, UPDATE, DELETE ON app_order TO regress_roles_app;
GRANT USAGE ON SEQUENCE app_order_id_seq TO regress_roles_app;
SELECT relid FROM pgcredit.attach_orders('app_order', 'customer', 'amount');
SELECT customer FROM pgcredit.open_account('R1', 100);

-- The application inserts orders; the guard runs with pgcredit's rights.
SET ROLE regress_roles_app;
INSERT INTO app_order (customer, amount) VALUES ('R1', 60);
INSERT INTO app_order (customer, amount) VALUES ('R1', 60);
\echo :LAST_ERROR_SQLSTATE
-- It cannot read or write pgcredit's tables, change accounts, override,
-- or attach, detach or skip the guard.
SELECT * FROM pgcredit.exposure;
\echo :LAST_ERROR_SQLSTATE
UPDATE pgcredit.exposure SET open_orders = 0;
\echo :LAST_ERROR_SQLSTATE
INSERT INTO pgcredit.override VALUES (pg_current_xact_id(), 'R1', 'me', 'me');
\echo :LAST_ERROR_SQLSTATE
SELECT pgcredit.set_credit_limit('R1', 1000000, 'I want more');
\echo :LAST_ERROR_SQLSTATE
SELECT pgcredit.override_block('R1', 'please');
\echo :LAST_ERROR_SQLSTATE
SELECT pgcredit.detach('app_order');
\echo :LAST_ERROR_SQLSTATE
ALTER TABLE app_order DISABLE TRIGGER zz_pgcredit_guard;
\echo :LAST_ERROR_SQLSTATE
SET session_replication_role = replica;
\echo :LAST_ERROR_SQLSTATE
SELECT pgcredit.aging_bucket('2024-01-01', '2024-03-01') AS analytics_are_public;

-- A reader sees everything and changes nothing.
SET ROLE regress_roles_reader;
SELECT customer, credit_limit FROM pgcredit.account WHERE customer = 'R1';
SELECT customer, open_orders FROM pgcredit.exposure WHERE customer = 'R1';
SELECT count(*) > 0 AS reads_audit_log FROM pgcredit.audit_log;
SELECT count(*) AS mismatches FROM pgcredit.verify_exposure();
SELECT pgcredit.place_hold('R1', 'curious');
\echo :LAST_ERROR_SQLSTATE

-- A controller changes limits and holds and overrides, but does not
-- attach tables or change settings.
SET ROLE regress_roles_controller;
SELECT credit_limit FROM pgcredit.set_credit_limit('R1', 150, 'good payer');
BEGIN;
SELECT pgcredit.override_block('R1', 'one-off');
SET LOCAL ROLE regress_roles_app;
INSERT INTO app_order (customer, amount) VALUES ('R1', 500);
COMMIT;
SELECT pgcredit.set_max_days_past_due(30, 'stricter');
\echo :LAST_ERROR_SQLSTATE
SELECT pgcredit.detach('app_order');
\echo :LAST_ERROR_SQLSTATE
UPDATE pgcredit.account SET credit_limit = 1e9;
\echo :LAST_ERROR_SQLSTATE

-- The admin attaches, detaches and changes settings.
SET ROLE regress_roles_admin;
SELECT max_days_past_due FROM pgcredit.set_max_days_past_due(30, 'stricter');
SELECT max_days_past_due FROM pgcredit.set_max_days_past_due(NULL, 'as before');
SELECT relid FROM pgcredit.detach('app_order');
RESET ROLE;

-- Who did what, from the audit log.
SELECT action, customer, role_name, reason FROM pgcredit.audit_log
WHERE role_name LIKE 'regress\_roles\_%' ORDER BY id;

DROP TABLE app_order;
DROP ROLE regress_roles_app, regress_roles_reader, regress_roles_controller, regress_roles_admin;

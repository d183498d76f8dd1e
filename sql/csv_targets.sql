-- CSV import into pgcredit's own data and into attached tables: credit
-- accounts through the audited account functions, bureau scores, orders
-- checked by the credit guard; and who may load what.
\set SHOW_CONTEXT never
SET client_min_messages = warning;

CREATE ROLE regress_csv_app;
CREATE ROLE regress_csv_controller IN ROLE pgcredit_controller;
CREATE ROLE regress_csv_files IN ROLE pg_read_server_files;
GRANT regress_csv_app TO regress_csv_files;

-- Credit accounts and limits from an ERP export, as a controller: new
-- customers get an account, known ones the values the file gives, each
-- change audited with the import run in its reason.
SELECT customer, credit_limit FROM pgcredit.open_account('CT-1', 100, reason => 'opened by hand');
SET ROLE regress_csv_controller;
SELECT status, rows_read, rows_loaded, rows_rejected FROM pgcredit.load_csv('pgcredit.account_import',
E'Customer;Credit Limit;Tolerance %;Payment Terms Days;Risk Tier\n'
 'CT-1;250;;;B\n'
 'CT-2;1.000,00;5;30;A\n'
 'CT-3;-5;;;C\n'
 'CT-4;;;45;\n', decimal_comma => true, column_map => '{"Tolerance %": "tolerance_pct"}');
SELECT line_number, column_name, raw_value, reason FROM pgcredit.import_reject
WHERE run_id = (SELECT max(id) FROM pgcredit.import_run);
SELECT customer, credit_limit, tolerance_pct, payment_terms_days, risk_tier
FROM pgcredit.account WHERE customer LIKE 'CT-%' ORDER BY customer;
SELECT action, customer, reason ~ '^loaded from CSV \(import run [0-9]+\)$' AS reason_names_run
FROM pgcredit.audit_log WHERE customer LIKE 'CT-%' ORDER BY id;

-- Bureau scores.
SELECT status, rows_loaded, rows_rejected FROM pgcredit.load_csv('pgcredit.external_score',
E'customer,source,score,rating,as_of\n'
 'CT-1,dnb,71,2A3,2024-06-30\n'
 'CT-2,experian,455,B,2024-06-30\n'
 'CT-3,experian,NaN,C,2024-06-30\n');
SELECT customer, source, score, rating, as_of, import_run = (SELECT max(id) FROM pgcredit.import_run) AS from_this_run
FROM pgcredit.external_score ORDER BY customer;
SELECT line_number, column_name, raw_value, reason FROM pgcredit.import_reject
WHERE run_id = (SELECT max(id) FROM pgcredit.import_run);
RESET ROLE;

-- An application role may not load accounts or scores: the view and the
-- table are not writable for it, and the account functions not callable.
SET ROLE regress_csv_app;
SELECT pgcredit.load_csv('pgcredit.account_import', E'customer,credit_limit\nX,1\n');
\echo :LAST_ERROR_SQLSTATE
SELECT pgcredit.load_csv('pgcredit.external_score', E'customer,source,score,as_of\nX,s,1,2024-01-01\n');
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;

-- Orders loaded into a table attached to the credit guard: each order is
-- checked; the ones over the limit are rejected with the guard's message.
CREATE TABLE ct_order (id int PRIMARY KEY, customer text NOT NULL, amount numeric(12,2) NOT NULL);
SELECT relid FROM pgcredit.attach_orders('ct_order', 'customer', 'amount');
GRANT INSERT ON ct_order TO regress_csv_app;
SET ROLE regress_csv_app;
SELECT status, rows_read, rows_loaded, rows_rejected FROM pgcredit.load_csv('ct_order',
E'id,customer,amount\n1,CT-1,100\n2,CT-1,100\n3,CT-1,100\n4,CT-2,10\n');
SELECT line_number, column_name, raw_value, reason FROM pgcredit.import_reject
WHERE run_id = (SELECT max(id) FROM pgcredit.import_run);
-- the application sees its own runs, not others'
SELECT count(*) AS runs_visible, count(*) FILTER (WHERE run_by = 'regress_csv_controller') AS controllers_runs
FROM pgcredit.import_run;
-- and cannot read server files
SELECT pgcredit.load_csv_file('ct_order', '/etc/hostname');
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
SELECT customer, open_orders FROM pgcredit.exposure WHERE customer LIKE 'CT-%' ORDER BY customer;
SELECT count(*) AS mismatches FROM pgcredit.verify_exposure();

-- A role without INSERT on the target cannot load into it.
REVOKE INSERT ON ct_order FROM regress_csv_app;
SET ROLE regress_csv_app;
SELECT pgcredit.load_csv('ct_order', E'id,customer,amount\n9,CT-2,1\n');
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
-- A role that may read server files still needs INSERT on the target.
SET ROLE regress_csv_files;
SELECT pgcredit.load_csv_file('ct_order', '/nonexistent/file.csv');
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
GRANT INSERT ON ct_order TO regress_csv_files;
SET ROLE regress_csv_files;
SELECT pgcredit.load_csv_file('ct_order', '/nonexistent/file.csv');
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;

-- Row-level security on a target: refused, as COPY FROM refuses it.
CREATE TABLE ct_secret (id int);
ALTER TABLE ct_secret ENABLE ROW LEVEL SECURITY;
GRANT INSERT ON ct_secret TO regress_csv_app;
SET ROLE regress_csv_app;
SELECT pgcredit.load_csv('ct_secret', E'id\n1\n');
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;

-- A trigger that starts another load inside a load stops the load.
CREATE TABLE ct_nested (id int);
CREATE FUNCTION ct_nested_load() RETURNS trigger LANGUAGE plpgsql AS
$$BEGIN PERFORM pgcredit.load_csv('ct_secret', E'id\n1\n'); RETURN NEW; END$$;
CREATE TRIGGER ct_nested_load BEFORE INSERT ON ct_nested FOR EACH ROW EXECUTE FUNCTION ct_nested_load();
SELECT pgcredit.load_csv('ct_nested', E'id\n1\n');
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) AS nested_rows FROM ct_nested;
DROP TABLE ct_nested;
DROP FUNCTION ct_nested_load();

SELECT relid FROM pgcredit.detach('ct_order');
DROP TABLE ct_order, ct_secret;
DELETE FROM pgcredit.external_score;
DROP OWNED BY regress_csv_app, regress_csv_controller, regress_csv_files;
DROP ROLE regress_csv_app, regress_csv_controller, regress_csv_files;
DELETE FROM pgcredit.exposure WHERE customer LIKE 'CT-%';
DELETE FROM pgcredit.account WHERE customer LIKE 'CT-%';

-- Attacks on pgcredit's rights: code that a role controls (temporary
-- domains and tables, operators in its own schema, triggers, index
-- predicates, hand-made triggers) must never run with more rights than
-- that role has.  Each attack's code logs who ran it; a run as a
-- superuser or as pgcredit_owner would show in the log.
\set SHOW_CONTEXT never
SET client_min_messages = warning;

CREATE ROLE regress_owner;                           -- owns the company's tables
CREATE ROLE regress_app;                             -- DML on them only
CREATE ROLE regress_reader IN ROLE pgcredit_reader;
CREATE ROLE regress_controller IN ROLE pgcredit_controller;
CREATE ROLE regress_admin IN ROLE pgcredit_admin;
CREATE ROLE regress_nobody;                          -- a schema of its own, nothing else
GRANT regress_owner TO regress_admin;                -- the admin attaches as the owner

CREATE SCHEMA regress_evil AUTHORIZATION regress_nobody;
GRANT USAGE ON SCHEMA regress_evil TO PUBLIC;
CREATE TABLE regress_evil.ran_as (who name, super boolean);
ALTER TABLE regress_evil.ran_as OWNER TO regress_nobody;
GRANT INSERT, SELECT, DELETE ON regress_evil.ran_as TO PUBLIC;
-- the payload: note who runs it, and try to take the superuser's rights
CREATE FUNCTION regress_evil.pwn() RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO regress_evil.ran_as
  SELECT current_user, rolsuper FROM pg_catalog.pg_roles WHERE rolname = current_user;
  BEGIN
    EXECUTE 'ALTER ROLE regress_nobody SUPERUSER';
  EXCEPTION WHEN OTHERS THEN NULL;
  END;
  RETURN true;
END
$$;
ALTER FUNCTION regress_evil.pwn() OWNER TO regress_nobody;
-- the same, declared immutable, for index predicates
CREATE FUNCTION regress_evil.pwn_i() RETURNS boolean LANGUAGE plpgsql IMMUTABLE AS
  'BEGIN RETURN regress_evil.pwn(); END';
ALTER FUNCTION regress_evil.pwn_i() OWNER TO regress_nobody;
CREATE SCHEMA regress_company AUTHORIZATION regress_owner;
GRANT USAGE ON SCHEMA regress_company TO PUBLIC;
SET search_path = regress_company, public, pg_temp;

-- The company's tables, owned by regress_owner and attached by its admin
SET ROLE regress_owner;
CREATE TABLE sec_order (id int PRIMARY KEY, customer text NOT NULL, amount numeric NOT NULL,
                        held boolean NOT NULL DEFAULT false);
CREATE TABLE sec_invoice (id int PRIMARY KEY, customer text NOT NULL, amount numeric NOT NULL,
                          due date NOT NULL);
GRANT SELECT, INSERT, UPDATE, DELETE ON sec_order, sec_invoice TO regress_app;
INSERT INTO sec_invoice VALUES (1, 'S1', 10, '2000-01-01');
RESET ROLE;
SET ROLE regress_admin;
SELECT relid FROM pgcredit.attach_orders('sec_order', 'customer', 'amount',
                                         mode => 'hold', hold_column => 'held');
SELECT relid FROM pgcredit.attach_receivables('sec_invoice', 'customer', 'amount', 'due');
RESET ROLE;
SELECT customer FROM pgcredit.open_account('S1', 100);
SELECT customer FROM pgcredit.open_account('S2', 100);

-- pgcredit's objects belong to pgcredit_owner, which is no superuser and
-- cannot log in; its own schema is owned by the installing superuser.
SELECT rolsuper, rolcanlogin, rolcreaterole, rolcreatedb, rolbypassrls
FROM pg_roles WHERE rolname = 'pgcredit_owner';
SELECT count(*) AS members_of_pgcredit_owner FROM pg_auth_members
WHERE roleid = 'pgcredit_owner'::regrole;
SELECT DISTINCT pg_get_userbyid(p.proowner) AS function_owner
FROM pg_proc p WHERE p.pronamespace = 'pgcredit'::regnamespace;
SELECT DISTINCT pg_get_userbyid(c.relowner) AS relation_owner
FROM pg_class c WHERE c.relnamespace = 'pgcredit'::regnamespace;
SELECT p.oid::regprocedure AS definer_without_pinned_path
FROM pg_proc p
WHERE p.pronamespace = 'pgcredit'::regnamespace AND p.prosecdef
  AND NOT coalesce(p.proconfig @> ARRAY['search_path=pg_catalog, pgcredit, pg_temp'], false);

-- 1. The application role puts a temporary domain named text before the
-- catalog's and inserts an order that gets held (the guard records the
-- hold through SQL functions taking text).
SET ROLE regress_app;
CREATE DOMAIN pg_temp.text AS pg_catalog.text CHECK (regress_evil.pwn());
CREATE DOMAIN pg_temp.name AS pg_catalog.name CHECK (regress_evil.pwn());
CREATE DOMAIN pg_temp.date AS pg_catalog.date CHECK (regress_evil.pwn());
CREATE DOMAIN pg_temp.numeric AS pg_catalog.numeric CHECK (regress_evil.pwn());
CREATE DOMAIN pg_temp.jsonb AS pg_catalog.jsonb CHECK (regress_evil.pwn());
INSERT INTO sec_order VALUES (1, 'S1', 500);
SELECT id, held FROM sec_order;
-- deleting the held order closes its hold through functions taking name
DELETE FROM sec_order WHERE id = 1;
RESET ROLE;
SELECT * FROM regress_evil.ran_as;

-- 2. A controller, with the same domains in its session's temporary
-- schema, changes an account (audited).
SET ROLE regress_controller;
SELECT credit_limit FROM pgcredit.set_credit_limit('S1', 120, 'review');
SELECT status FROM pgcredit.place_hold('S2', 'review');
SELECT status FROM pgcredit.release_hold('S2', 'review done');
RESET ROLE;
SELECT * FROM regress_evil.ran_as;

-- 3. A temporary table named pg_attribute, while the past-due check runs
-- (max_days_past_due set): the check reads the catalogs, not the table.
SELECT max_days_past_due FROM pgcredit.set_max_days_past_due(30, 'collections');
SET ROLE regress_app;
CREATE TEMP TABLE pg_attribute (attrelid oid, attname name, atttypid oid, atttypmod int, x boolean);
INSERT INTO pg_temp.pg_attribute SELECT 0, 'x', 0, 0, regress_evil.pwn();
DELETE FROM regress_evil.ran_as;
INSERT INTO sec_order VALUES (2, 'S1', 5);
-- held: the check ran and found the old invoice past due
SELECT id, held FROM sec_order WHERE id = 2;
RESET ROLE;
SELECT max_days_past_due FROM pgcredit.set_max_days_past_due(NULL, 'off');
SELECT * FROM regress_evil.ran_as;

-- 4. A reader, the temporary domains still there, selects the risk views.
SET ROLE regress_reader;
SELECT customer, receivables FROM pgcredit.customer_risk WHERE customer = 'S1';
SELECT count(*) >= 0 AS read FROM pgcredit.watchlist;
RESET ROLE;
SELECT * FROM regress_evil.ran_as;

-- 5. A role with nothing but its own schema puts an = for bigint ahead of
-- the catalog's and loads a CSV into a temporary table: the loader's
-- bookkeeping as pgcredit's owner uses the catalog's operators only.
SET ROLE regress_nobody;
CREATE FUNCTION regress_evil.bigint_eq(bigint, bigint) RETURNS boolean LANGUAGE sql AS
  'SELECT regress_evil.pwn() AND $1 OPERATOR(pg_catalog.=) $2';
CREATE OPERATOR regress_evil.= (FUNCTION = regress_evil.bigint_eq, LEFTARG = bigint, RIGHTARG = bigint);
CREATE FUNCTION regress_evil.text_eq(text, text) RETURNS boolean LANGUAGE sql AS
  'SELECT regress_evil.pwn() AND $1 OPERATOR(pg_catalog.=) $2';
CREATE OPERATOR regress_evil.= (FUNCTION = regress_evil.text_eq, LEFTARG = text, RIGHTARG = text);
SET search_path = regress_evil, pg_catalog, public, pg_temp;
CREATE TEMP TABLE mine (a int, b pg_catalog.text);
SELECT status, rows_loaded FROM pgcredit.load_csv('mine', E'a,b\n1,x\n2,y\n');
SET search_path = regress_company, public, pg_temp;
RESET ROLE;
SELECT DISTINCT who, super FROM regress_evil.ran_as;
DELETE FROM regress_evil.ran_as;

-- 6. The table owner's own code on an attached table (a trigger, a
-- partial index whose predicate the planner evaluates) runs as the
-- table owner when pgcredit works on the table: a release, a verify, the
-- risk views, a rebuild.
SET ROLE regress_owner;
CREATE FUNCTION owner_trigger() RETURNS trigger LANGUAGE plpgsql AS
  'BEGIN PERFORM regress_evil.pwn(); RETURN NEW; END';
CREATE TRIGGER a_owner_trigger BEFORE UPDATE ON sec_order FOR EACH ROW EXECUTE FUNCTION owner_trigger();
CREATE INDEX sec_invoice_evil ON sec_invoice (id) WHERE regress_evil.pwn_i();
RESET ROLE;
SET ROLE regress_app;
INSERT INTO sec_order VALUES (3, 'S1', 500);
RESET ROLE;
SET ROLE regress_controller;
SELECT amount FROM pgcredit.release_held_order(
  (SELECT max(id) FROM pgcredit.held_order WHERE customer = 'S1' AND released_at IS NULL), 'paid upfront');
RESET ROLE;
SET ROLE regress_reader;
SELECT count(*) AS mismatches FROM pgcredit.verify_exposure();
SELECT customer, receivables FROM pgcredit.customer_risk WHERE customer = 'S1';
RESET ROLE;
SET ROLE regress_admin;
SELECT pgcredit.rebuild_exposure() AS fixed;
RESET ROLE;
SELECT DISTINCT who, super FROM regress_evil.ran_as ORDER BY who;
DELETE FROM regress_evil.ran_as;
SET ROLE regress_owner;
DROP INDEX sec_invoice_evil;
DROP TRIGGER a_owner_trigger ON sec_order;
RESET ROLE;

-- 7. A domain on a column to attach is refused, so its CHECK never runs
-- inside pgcredit's work; so are other user-defined types.
SET ROLE regress_owner;
CREATE DOMAIN owner_text AS pg_catalog.text CHECK (regress_evil.pwn());
CREATE TABLE sec_domain (id int PRIMARY KEY, customer owner_text, amount numeric);
RESET ROLE;
SET ROLE regress_admin;
SELECT pgcredit.attach_orders('sec_domain', 'customer', 'amount');
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;

-- 8. Attaching needs the table's owner: an admin cannot attach (and so
-- read through pgcredit, or guard) a table it does not own.
CREATE TABLE sec_not_yours (id int PRIMARY KEY, customer pg_catalog.text, amount pg_catalog.numeric);
SET ROLE regress_admin;
SELECT pgcredit.attach_orders('sec_not_yours', 'customer', 'amount');
\echo :LAST_ERROR_SQLSTATE
-- nor pgcredit's own tables
SELECT pgcredit.attach_receivables('pgcredit.exposure', 'customer', 'receivables');
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;

-- 9. A role with nothing puts pgcredit's guard on a table of its own to
-- move a customer's exposure: the guard acts only for attached tables.
SET ROLE regress_nobody;
CREATE TABLE regress_evil.fake (customer pg_catalog.text, amount pg_catalog.numeric);
CREATE TRIGGER zz_pgcredit_guard BEFORE INSERT ON regress_evil.fake
  FOR EACH ROW EXECUTE FUNCTION pgcredit.exposure_trigger();
INSERT INTO regress_evil.fake VALUES ('S1', -1000000);
\echo :LAST_ERROR_SQLSTATE
CREATE TRIGGER t AFTER TRUNCATE ON regress_evil.fake
  FOR EACH STATEMENT EXECUTE FUNCTION pgcredit.exposure_truncate_trigger();
TRUNCATE regress_evil.fake;
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;

-- After all of it: nobody became superuser, nothing ran as a superuser or
-- as pgcredit_owner, and exposure is exact.
SELECT rolname FROM pg_roles WHERE rolsuper AND rolname LIKE 'regress%';
SELECT count(*) AS ran_privileged FROM regress_evil.ran_as WHERE super OR who = 'pgcredit_owner';
SELECT * FROM pgcredit.verify_exposure();
SELECT customer, receivables, open_orders FROM pgcredit.exposure WHERE customer LIKE 'S_' ORDER BY 1;

-- Clean up
DROP TABLE pg_temp.pg_attribute, pg_temp.mine;
SET ROLE regress_admin;
SELECT relid FROM pgcredit.detach('sec_order');
SELECT relid FROM pgcredit.detach('sec_invoice');
RESET ROLE;
DROP TABLE sec_not_yours;
DROP SCHEMA regress_company CASCADE;
DROP SCHEMA regress_evil CASCADE;
DROP DOMAIN pg_temp.text, pg_temp.name, pg_temp.date, pg_temp.numeric, pg_temp.jsonb;
RESET search_path;
DELETE FROM pgcredit.exposure WHERE customer LIKE 'S_';
DELETE FROM pgcredit.account WHERE customer LIKE 'S_';
DELETE FROM pgcredit.held_order WHERE customer LIKE 'S_';
DELETE FROM pgcredit.alert WHERE customer LIKE 'S_';
DROP OWNED BY regress_owner, regress_app, regress_reader, regress_controller, regress_admin, regress_nobody;
DROP ROLE regress_owner, regress_app, regress_reader, regress_controller, regress_admin, regress_nobody;

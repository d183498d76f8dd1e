-- What the fuzzing role must not be able to change, printed so that the
-- runs before and after can be compared with diff.  Every statement
-- sqlsmith runs is rolled back, so all of this must stay the same to the
-- byte.  Run as a superuser.
\set ON_ERROR_STOP on
\pset footer off
\pset null '(null)'

\echo == superusers
SELECT rolname FROM pg_roles WHERE rolsuper ORDER BY 1;
\echo == roles and their attributes
SELECT rolname, rolsuper, rolinherit, rolcreaterole, rolcreatedb, rolcanlogin,
       rolreplication, rolbypassrls, rolconnlimit, rolvaliduntil, rolconfig
FROM pg_roles ORDER BY 1;
\echo == role memberships
SELECT r.rolname AS role, m.rolname AS member, a.admin_option
FROM pg_auth_members a JOIN pg_roles r ON r.oid = a.roleid JOIN pg_roles m ON m.oid = a.member
ORDER BY 1, 2;
\echo == privileges on the objects of pgcredit, shop and fuzz_oracle
SELECT n.nspname, c.relname, c.relkind, pg_get_userbyid(c.relowner) AS owner, c.relacl
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname IN ('pgcredit', 'shop', 'fuzz_oracle') ORDER BY 1, 2;
SELECT p.oid::regprocedure, pg_get_userbyid(p.proowner) AS owner, p.prosecdef, p.proacl
FROM pg_proc p WHERE p.pronamespace IN ('pgcredit'::regnamespace, 'fuzz_oracle'::regnamespace)
ORDER BY 1::text;
SELECT nspname, pg_get_userbyid(nspowner) AS owner, nspacl FROM pg_namespace ORDER BY 1;
\echo == objects owned by regress_fuzz
SELECT classid::regclass, objid, deptype FROM pg_shdepend
WHERE refobjid = (SELECT oid FROM pg_roles WHERE rolname = 'regress_fuzz') AND deptype = 'o';
\echo == triggers on the company tables
SELECT tgrelid::regclass, tgname, tgenabled FROM pg_trigger
WHERE tgrelid IN (SELECT oid FROM pg_class WHERE relnamespace = 'shop'::regnamespace)
ORDER BY 1::text, 2;
\echo == settings affecting everyone (ALTER SYSTEM, ALTER DATABASE/ROLE SET)
SELECT setdatabase, setrole, setconfig FROM pg_db_role_setting ORDER BY 1, 2;
\echo == pgcredit.account
SELECT * FROM pgcredit.account ORDER BY customer;
\echo == pgcredit.settings
SELECT * FROM pgcredit.settings;
\echo == pgcredit.attachment
SELECT * FROM pgcredit.attachment ORDER BY relid::text;
\echo == pgcredit.exposure
SELECT * FROM pgcredit.exposure ORDER BY customer;
\echo == pgcredit.held_order
SELECT * FROM pgcredit.held_order ORDER BY id;
\echo == pgcredit.override
SELECT * FROM pgcredit.override ORDER BY xid::text, customer;
\echo == pgcredit.audit_log
SELECT count(*), max(id) FROM pgcredit.audit_log;
\echo == company tables
SELECT 'sales_order' AS tbl, count(*), sum(amount), sum(hashtext(t::text)) FROM shop.sales_order t
UNION ALL SELECT 'web_order', count(*), sum(amount), sum(hashtext(t::text)) FROM shop.web_order t
UNION ALL SELECT 'invoice', count(*), sum(open_amount), sum(hashtext(t::text)) FROM shop.invoice t
UNION ALL SELECT 'p_order', count(*), sum(amount), sum(hashtext(t::text)) FROM shop.p_order t;

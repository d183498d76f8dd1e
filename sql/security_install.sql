-- CREATE EXTENSION refuses what it did not make itself: a pgcredit
-- schema prepared by a role with CREATE on the database (its owner could
-- later swap objects that pgcredit finds by name), and a pgcredit_owner
-- role that can log in, has rights, or has members.
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE ROLE regress_squatter;
CREATE DATABASE regress_squat;
GRANT CREATE ON DATABASE regress_squat TO regress_squatter;
\c regress_squat
SET client_min_messages = warning;

-- a squatter's schema
SET ROLE regress_squatter;
CREATE SCHEMA pgcredit;
RESET ROLE;
CREATE EXTENSION pgcredit;
\echo :LAST_ERROR_SQLSTATE
DROP SCHEMA pgcredit;

-- a superuser's schema that lets others create objects in it
CREATE SCHEMA pgcredit;
GRANT CREATE ON SCHEMA pgcredit TO PUBLIC;
CREATE EXTENSION pgcredit;
\echo :LAST_ERROR_SQLSTATE
DROP SCHEMA pgcredit;

-- a superuser's schema holding an object already
CREATE SCHEMA pgcredit;
CREATE FUNCTION pgcredit.as_of() RETURNS date LANGUAGE sql AS 'SELECT current_date';
CREATE EXTENSION pgcredit;
\echo :LAST_ERROR_SQLSTATE
DROP SCHEMA pgcredit CASCADE;

-- a pgcredit_owner that can log in, or has a member
ALTER ROLE pgcredit_owner LOGIN;
CREATE EXTENSION pgcredit;
\echo :LAST_ERROR_SQLSTATE
ALTER ROLE pgcredit_owner NOLOGIN;
GRANT pgcredit_owner TO regress_squatter;
CREATE EXTENSION pgcredit;
\echo :LAST_ERROR_SQLSTATE
REVOKE pgcredit_owner FROM regress_squatter;

-- an empty schema of a superuser, nobody else creating in it, is taken
CREATE SCHEMA pgcredit;
CREATE EXTENSION pgcredit;
SELECT extname, extnamespace::regnamespace FROM pg_extension WHERE extname = 'pgcredit';
DROP EXTENSION pgcredit;

-- and CREATE EXTENSION makes its schema itself
CREATE EXTENSION pgcredit;
SELECT pg_get_userbyid(nspowner) = current_user AS schema_owned_by_installer,
       has_schema_privilege('public', 'pgcredit', 'CREATE') AS public_may_create
FROM pg_namespace WHERE nspname = 'pgcredit';
DROP EXTENSION pgcredit;

\c contrib_regression
DROP DATABASE regress_squat;
DROP ROLE regress_squatter;

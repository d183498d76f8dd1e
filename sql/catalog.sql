-- The shape of the installed extension: every object lives in schema
-- pgcredit, is documented, and states its volatility and parallel safety.

SELECT extname, extversion, nspname AS schema, extrelocatable
FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
WHERE extname = 'pgcredit';

-- Every function of the extension, as \df+ would show it.
SELECT p.oid::regprocedure AS function,
       CASE p.provolatile WHEN 'i' THEN 'immutable' WHEN 's' THEN 'stable'
                          ELSE 'volatile' END AS volatility,
       p.proisstrict AS strict,
       CASE p.proparallel WHEN 's' THEN 'safe' WHEN 'r' THEN 'restricted'
                          ELSE 'unsafe' END AS parallel,
       p.prosecdef AS security_definer
FROM pg_proc p
JOIN pg_depend d ON d.classid = 'pg_proc'::regclass AND d.objid = p.oid
                AND d.deptype = 'e'
WHERE d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'pgcredit')
ORDER BY p.oid::regprocedure::text;

-- Objects of the extension that lack a comment (none should).
SELECT pg_describe_object(d.classid, d.objid, 0) AS undocumented
FROM pg_depend d
WHERE d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'pgcredit')
  AND d.deptype = 'e'
  AND obj_description(d.objid, (SELECT relname FROM pg_class
                                WHERE oid = d.classid)) IS NULL
ORDER BY 1;

-- Objects of the extension outside schema pgcredit (none should be).
SELECT p.oid::regprocedure AS misplaced
FROM pg_proc p
JOIN pg_depend d ON d.classid = 'pg_proc'::regclass AND d.objid = p.oid
                AND d.deptype = 'e'
WHERE d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'pgcredit')
  AND p.pronamespace <> 'pgcredit'::regnamespace;

-- The schema is fixed: the extension cannot be moved.
ALTER EXTENSION pgcredit SET SCHEMA public;
\echo :LAST_ERROR_SQLSTATE

-- Functions are found by qualified name whatever the search_path.
SET search_path = pg_catalog, pg_temp;
SELECT pgcredit.aging_bucket('2024-01-01', '2024-03-01');
RESET search_path;

-- The install script refuses to run outside CREATE EXTENSION: its first
-- statement is psql's \quit guard.
SELECT pg_read_file(
         (SELECT setting FROM pg_config WHERE name = 'SHAREDIR')
         || '/extension/pgcredit--1.0.sql', 0, 200) ~ '\\echo Use "CREATE EXTENSION pgcredit"' AS guarded;

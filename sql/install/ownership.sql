-- Every object of the extension passes to pgcredit_owner

----------------------------------------------------------------------
-- Ownership: every object of the extension passes to pgcredit_owner
-- (a table's sequences and row type follow the table)
----------------------------------------------------------------------

GRANT USAGE ON SCHEMA pgcredit TO pgcredit_owner;
DO $owner$
DECLARE
  o record;
BEGIN
  -- relations first: their ALTERs fire pgcredit's DDL event trigger,
  -- whose function can read them while both still have one owner
  FOR o IN
    SELECT 1 AS step, format('ALTER %s %s OWNER TO pgcredit_owner',
                  CASE c.relkind WHEN 'v' THEN 'VIEW' ELSE 'TABLE' END, c.oid::pg_catalog.regclass) AS cmd
    FROM pg_catalog.pg_class c
    WHERE c.relnamespace = 'pgcredit'::pg_catalog.regnamespace AND c.relkind IN ('r', 'p', 'v')
    UNION ALL
    SELECT 2, format('ALTER TYPE %s OWNER TO pgcredit_owner', t.oid::pg_catalog.regtype)
    FROM pg_catalog.pg_type t JOIN pg_catalog.pg_class c ON c.oid = t.typrelid
    WHERE t.typnamespace = 'pgcredit'::pg_catalog.regnamespace AND c.relkind = 'c'
    UNION ALL  -- base types (their array types follow them)
    SELECT 2, format('ALTER TYPE %s OWNER TO pgcredit_owner', t.oid::pg_catalog.regtype)
    FROM pg_catalog.pg_type t
    WHERE t.typnamespace = 'pgcredit'::pg_catalog.regnamespace AND t.typtype = 'b'
      AND NOT EXISTS (SELECT FROM pg_catalog.pg_type e WHERE e.typarray = t.oid)
    UNION ALL
    SELECT 3, format('ALTER ROUTINE %s OWNER TO pgcredit_owner', p.oid::pg_catalog.regprocedure)
    FROM pg_catalog.pg_proc p WHERE p.pronamespace = 'pgcredit'::pg_catalog.regnamespace
    ORDER BY 1
  LOOP
    EXECUTE o.cmd;
  END LOOP;
END
$owner$;

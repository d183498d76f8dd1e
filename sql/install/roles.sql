-- The roles pgcredit grants its rights to

----------------------------------------------------------------------
-- Credit control: roles
--
-- Roles are shared by every database of the cluster; they are created
-- when missing and never dropped by DROP EXTENSION.
--   pgcredit_reader      reads accounts, exposure, holds and the audit log
--   pgcredit_controller  + changes limits, holds and statuses, releases
--                          held orders, overrides a block for a transaction
--   pgcredit_admin       + attaches and detaches tables, changes settings,
--                          rebuilds exposure
--   pgcredit_sales       apart from the others, a member of none: may call
--                          check_order() for any customer and ask for a
--                          limit with request_limit(), reads nothing
--   pgcredit_collector   apart from the others, a member of none: reads
--                          the collectors' worklist, only its own
--                          customers when the company wants it
----------------------------------------------------------------------

DO $roles$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'pgcredit_reader') THEN
    CREATE ROLE pgcredit_reader NOLOGIN;
  END IF;
  IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'pgcredit_controller') THEN
    CREATE ROLE pgcredit_controller NOLOGIN;
  END IF;
  IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'pgcredit_admin') THEN
    CREATE ROLE pgcredit_admin NOLOGIN;
  END IF;
  IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'pgcredit_sales') THEN
    CREATE ROLE pgcredit_sales NOLOGIN;
  END IF;
  IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'pgcredit_collector') THEN
    CREATE ROLE pgcredit_collector NOLOGIN;
  END IF;
END
$roles$;
GRANT pgcredit_reader TO pgcredit_controller;
GRANT pgcredit_controller TO pgcredit_admin;

-- A table's name, always with its schema: the flat form of a regclass
-- column, which prints without the schema when the reader's search_path
-- finds the table
CREATE FUNCTION pgcredit._qualified_name(tbl oid)
RETURNS text LANGUAGE sql STABLE
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
  SELECT format('%I.%I', n.nspname, c.relname)
  FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
  WHERE c.oid = $1
$$;
COMMENT ON FUNCTION pgcredit._qualified_name(oid) IS
  'schema.table of a table, quoted where needed; NULL when there is no such table';
-- the views call it as their reader
REVOKE EXECUTE ON FUNCTION pgcredit._qualified_name(oid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgcredit._qualified_name(oid) TO pgcredit_reader;

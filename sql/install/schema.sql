-- The schema pgcredit, its owner pgcredit_owner, and who may use the schema

----------------------------------------------------------------------
-- Who owns pgcredit
--
-- The schema pgcredit must be one that nobody else could have prepared:
-- CREATE EXTENSION makes it when it is missing; an existing one must be
-- empty, owned by a superuser, and let nobody else create objects in it.
-- Otherwise its owner could later swap objects that pgcredit's code
-- finds by name.
--
-- pgcredit's objects are owned by pgcredit_owner, a role that cannot log
-- in, is no superuser and is granted to nobody: the functions that act
-- for another role (SECURITY DEFINER ones and the guard) act as it, so
-- any mistake in them yields pgcredit's rights, never a superuser's.
----------------------------------------------------------------------

DO $owner$
DECLARE
  nsp pg_catalog.pg_namespace;
  r pg_catalog.pg_roles;
  why text;
BEGIN
  SELECT * INTO nsp FROM pg_catalog.pg_namespace WHERE nspname = 'pgcredit';
  why := CASE
    WHEN NOT (SELECT rolsuper FROM pg_catalog.pg_roles WHERE oid = nsp.nspowner)
      THEN format('It is owned by %s, who is not a superuser.', nsp.nspowner::regrole)
    WHEN EXISTS (SELECT FROM pg_catalog.pg_class WHERE relnamespace = nsp.oid)
      OR EXISTS (SELECT FROM pg_catalog.pg_proc WHERE pronamespace = nsp.oid)
      OR EXISTS (SELECT FROM pg_catalog.pg_type WHERE typnamespace = nsp.oid)
      OR EXISTS (SELECT FROM pg_catalog.pg_operator WHERE oprnamespace = nsp.oid)
      THEN 'It holds objects already.'
    WHEN EXISTS (SELECT FROM pg_catalog.aclexplode(nsp.nspacl) a
                 LEFT JOIN pg_catalog.pg_roles g ON g.oid = a.grantee
                 WHERE a.privilege_type = 'CREATE' AND NOT coalesce(g.rolsuper, false))
      THEN 'Roles other than superusers may create objects in it.'
    END;
  IF why IS NOT NULL THEN
    RAISE EXCEPTION 'schema "pgcredit" was not created for pgcredit'
      USING ERRCODE = 'insufficient_privilege', DETAIL = why,
      HINT = 'Drop or rename that schema, then run CREATE EXTENSION pgcredit again: it creates the schema itself.';
  END IF;

  SELECT * INTO r FROM pg_catalog.pg_roles WHERE rolname = 'pgcredit_owner';
  IF NOT FOUND THEN
    CREATE ROLE pgcredit_owner NOLOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT
      NOREPLICATION NOBYPASSRLS;
  ELSIF r.rolsuper OR r.rolcanlogin OR r.rolcreaterole OR r.rolcreatedb OR r.rolreplication
        OR r.rolbypassrls
        OR EXISTS (SELECT FROM pg_catalog.pg_auth_members m WHERE m.roleid = r.oid) THEN
    RAISE EXCEPTION 'role "pgcredit_owner" has rights or members it must not have'
      USING ERRCODE = 'insufficient_privilege',
      DETAIL = 'pgcredit''s objects are owned by pgcredit_owner; it must be NOLOGIN, NOSUPERUSER, NOCREATEDB, NOCREATEROLE, NOREPLICATION, NOBYPASSRLS and granted to nobody.',
      HINT = 'Drop that role, or take those rights and memberships away, then create the extension again.';
  END IF;
END
$owner$;

COMMENT ON SCHEMA pgcredit IS
  'pgcredit: receivables analytics, credit exposure and credit holds';


GRANT USAGE ON SCHEMA pgcredit TO PUBLIC;

-- The planner support of the per-customer functions (src/customer_filter.c):
-- a filter on one customer reaches them
CREATE FUNCTION pgcredit._customer_support(internal)
RETURNS internal
AS 'MODULE_PATHNAME', 'pgc_customer_support'
LANGUAGE C STRICT;
COMMENT ON FUNCTION pgcredit._customer_support(internal) IS
  'planner support of the per-customer functions: loads the hook that passes a filter on one customer to them, and estimates one customer''s rows';
REVOKE EXECUTE ON FUNCTION pgcredit._customer_support(internal) FROM PUBLIC;

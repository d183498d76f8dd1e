-- Run first by the bench and fuzz SQL files, which drop tables, empty
-- pgcredit's tables or add a company of their own: stops unless the
-- current database is one that pgcredit's test scripts created for
-- themselves, marked by its comment (test/scratch_db.sh creates them; the
-- mark is the same text).
\set ON_ERROR_STOP on
DO $$
BEGIN
  IF pg_catalog.shobj_description((SELECT oid FROM pg_catalog.pg_database WHERE datname = current_database()), 'pg_database')
     IS DISTINCT FROM 'scratch database of pgcredit''s test scripts: they drop and recreate it' THEN
    RAISE EXCEPTION 'database "%" was not created by pgcredit''s test scripts', current_database()
      USING DETAIL = 'This script drops tables and deletes pgcredit''s accounts; it runs only in a database of its own.',
            HINT = 'Run it through its make target (make bench, make fuzz-sql), which creates one.';
  END IF;
END
$$;

-- CSV import: load_csv, its runs and rejects, and the account import view

----------------------------------------------------------------------
-- CSV import
----------------------------------------------------------------------

CREATE TABLE pgcredit.import_run (
  id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  target           regclass NOT NULL,
  source           text NOT NULL,
  status           text NOT NULL
                   CHECK (status IN ('running', 'complete', 'partial', 'stopped', 'rolled back')),
  all_or_nothing   boolean NOT NULL,
  rows_read        bigint NOT NULL DEFAULT 0,
  rows_loaded      bigint NOT NULL DEFAULT 0,
  rows_rejected    bigint NOT NULL DEFAULT 0,
  ignored_columns  text[] NOT NULL DEFAULT '{}',
  delimiter        text,
  encoding         text,
  run_by           name NOT NULL,
  started_at       timestamptz NOT NULL DEFAULT pg_catalog.clock_timestamp(),
  finished_at      timestamptz
);
COMMENT ON TABLE pgcredit.import_run IS 'one row per CSV load: what was read, loaded and rejected';
COMMENT ON COLUMN pgcredit.import_run.id IS 'run number; import_reject.run_id refers to it';
COMMENT ON COLUMN pgcredit.import_run.target IS 'the table or view loaded';
COMMENT ON COLUMN pgcredit.import_run.source IS 'text, bytea, or file and its path';
COMMENT ON COLUMN pgcredit.import_run.status IS 'complete (every row loaded), partial (some rejected), stopped (max_rejects reached; the rest of the input not read), rolled back (all_or_nothing and a reject: nothing loaded); running only while the load is under way';
COMMENT ON COLUMN pgcredit.import_run.all_or_nothing IS 'whether one reject was to load nothing';
COMMENT ON COLUMN pgcredit.import_run.rows_read IS 'data records read (the header not counted); rows_loaded + rows_rejected unless rolled back';
COMMENT ON COLUMN pgcredit.import_run.rows_loaded IS 'rows now in the target';
COMMENT ON COLUMN pgcredit.import_run.rows_rejected IS 'rows refused, each with a row in import_reject';
COMMENT ON COLUMN pgcredit.import_run.ignored_columns IS 'header names that matched no column of the target and were not loaded';
COMMENT ON COLUMN pgcredit.import_run.delimiter IS 'the delimiter used, given or detected';
COMMENT ON COLUMN pgcredit.import_run.encoding IS 'the encoding the content was read in';
COMMENT ON COLUMN pgcredit.import_run.run_by IS 'the role that ran the load';
COMMENT ON COLUMN pgcredit.import_run.started_at IS 'when the load started';
COMMENT ON COLUMN pgcredit.import_run.finished_at IS 'when it finished';
REVOKE ALL ON pgcredit.import_run FROM PUBLIC;
GRANT SELECT ON pgcredit.import_run TO PUBLIC;
SELECT pg_catalog.pg_extension_config_dump('pgcredit.import_run', '');
SELECT pg_catalog.pg_extension_config_dump('pgcredit.import_run_id_seq', '');
COMMENT ON SEQUENCE pgcredit.import_run_id_seq IS 'numbers of CSV loads (import_run.id)';

CREATE TABLE pgcredit.import_reject (
  run_id       bigint NOT NULL REFERENCES pgcredit.import_run ON DELETE CASCADE,
  id           bigint GENERATED ALWAYS AS IDENTITY,
  line_number  bigint NOT NULL,
  column_name  text,
  raw_value    text,
  reason       text NOT NULL,
  PRIMARY KEY (run_id, id)
);
COMMENT ON TABLE pgcredit.import_reject IS 'rows a CSV load refused, with where and why';
COMMENT ON COLUMN pgcredit.import_reject.run_id IS 'the load (import_run.id)';
COMMENT ON COLUMN pgcredit.import_reject.id IS 'order of the reject within its run';
COMMENT ON COLUMN pgcredit.import_reject.line_number IS 'line of the input the record starts on, counting from 1 with the header';
COMMENT ON COLUMN pgcredit.import_reject.column_name IS 'the column whose value was refused; NULL when the record as a whole was';
COMMENT ON COLUMN pgcredit.import_reject.raw_value IS 'the value as written in the file (the whole record when no column is named), cut at 1000 bytes';
COMMENT ON COLUMN pgcredit.import_reject.reason IS 'why it was refused: the loader''s check or PostgreSQL''s message';
REVOKE ALL ON pgcredit.import_reject FROM PUBLIC;
GRANT SELECT ON pgcredit.import_reject TO PUBLIC;
SELECT pg_catalog.pg_extension_config_dump('pgcredit.import_reject', '');
SELECT pg_catalog.pg_extension_config_dump('pgcredit.import_reject_id_seq', '');
COMMENT ON SEQUENCE pgcredit.import_reject_id_seq IS 'numbers of rejects (import_reject.id)';


-- Runs and rejects: each role sees its own, pgcredit's readers see all
ALTER TABLE pgcredit.import_run ENABLE ROW LEVEL SECURITY;
ALTER TABLE pgcredit.import_reject ENABLE ROW LEVEL SECURITY;
CREATE POLICY own_runs ON pgcredit.import_run FOR SELECT
  USING (run_by = current_user OR pg_catalog.pg_has_role('pgcredit_reader', 'USAGE'));
CREATE POLICY own_rejects ON pgcredit.import_reject FOR SELECT
  USING (EXISTS (SELECT FROM pgcredit.import_run r WHERE r.id = run_id));



CREATE FUNCTION pgcredit.load_csv(target regclass, content text,
                                  delimiter text DEFAULT NULL, quote text DEFAULT '"',
                                  header boolean DEFAULT true, column_map jsonb DEFAULT NULL,
                                  columns text[] DEFAULT NULL, date_style text DEFAULT 'ISO',
                                  decimal_comma boolean DEFAULT false,
                                  true_words text[] DEFAULT NULL, false_words text[] DEFAULT NULL,
                                  null_markers text[] DEFAULT NULL,
                                  all_or_nothing boolean DEFAULT false, max_rejects bigint DEFAULT NULL,
                                  encoding text DEFAULT NULL, max_field_size bigint DEFAULT NULL)
RETURNS pgcredit.import_run LANGUAGE C VOLATILE PARALLEL UNSAFE
AS 'MODULE_PATHNAME', 'load_csv_text';
COMMENT ON FUNCTION pgcredit.load_csv(regclass, text, text, text, boolean, jsonb, text[], text, boolean, text[], text[], text[], boolean, bigint, text, bigint) IS
  'load CSV content into a table, matching the header to its columns; every row loaded or rejected into import_reject; returns the run';
-- EXECUTE: PUBLIC (the default).  The load runs with the caller's rights:
-- it inserts only where the caller may.

CREATE FUNCTION pgcredit.load_csv(target regclass, content bytea,
                                  delimiter text DEFAULT NULL, quote text DEFAULT '"',
                                  header boolean DEFAULT true, column_map jsonb DEFAULT NULL,
                                  columns text[] DEFAULT NULL, date_style text DEFAULT 'ISO',
                                  decimal_comma boolean DEFAULT false,
                                  true_words text[] DEFAULT NULL, false_words text[] DEFAULT NULL,
                                  null_markers text[] DEFAULT NULL,
                                  all_or_nothing boolean DEFAULT false, max_rejects bigint DEFAULT NULL,
                                  encoding text DEFAULT NULL, max_field_size bigint DEFAULT NULL)
RETURNS pgcredit.import_run LANGUAGE C VOLATILE PARALLEL UNSAFE
AS 'MODULE_PATHNAME', 'load_csv_bytea';
COMMENT ON FUNCTION pgcredit.load_csv(regclass, bytea, text, text, boolean, jsonb, text[], text, boolean, text[], text[], text[], boolean, bigint, text, bigint) IS
  'load CSV bytes in any server-supported encoding (UTF-8 by default, a byte-order mark skipped) into a table; as load_csv(regclass, text)';
-- EXECUTE: PUBLIC (the default), as load_csv(regclass, text).

CREATE FUNCTION pgcredit.load_csv_file(target regclass, path text,
                                       delimiter text DEFAULT NULL, quote text DEFAULT '"',
                                       header boolean DEFAULT true, column_map jsonb DEFAULT NULL,
                                       columns text[] DEFAULT NULL, date_style text DEFAULT 'ISO',
                                       decimal_comma boolean DEFAULT false,
                                       true_words text[] DEFAULT NULL, false_words text[] DEFAULT NULL,
                                       null_markers text[] DEFAULT NULL,
                                       all_or_nothing boolean DEFAULT false, max_rejects bigint DEFAULT NULL,
                                       encoding text DEFAULT NULL, max_field_size bigint DEFAULT NULL)
RETURNS pgcredit.import_run LANGUAGE C VOLATILE PARALLEL UNSAFE
AS 'MODULE_PATHNAME', 'load_csv_file';
COMMENT ON FUNCTION pgcredit.load_csv_file(regclass, text, text, text, boolean, jsonb, text[], text, boolean, text[], text[], text[], boolean, bigint, text, bigint) IS
  'load a CSV file on the database server, read in pieces (roles with pg_read_server_files only); as load_csv(regclass, bytea)';
-- EXECUTE: PUBLIC (the default); the C code refuses a caller without the
-- privileges of pg_read_server_files before it opens the file.

-- Credit accounts from a file, through the account functions: validated
-- and audited like any change
CREATE VIEW pgcredit.account_import AS
SELECT customer, credit_limit, tolerance_pct, payment_terms_days, risk_tier, next_review,
       NULL::text AS reason
FROM pgcredit.account;
COMMENT ON VIEW pgcredit.account_import IS 'load credit accounts and limits with load_csv into this view: a new customer gets an account, an existing one the values the file gives (an empty field leaves a value as it is), each change through the account functions and audited';
COMMENT ON COLUMN pgcredit.account_import.customer IS 'customer key';
COMMENT ON COLUMN pgcredit.account_import.credit_limit IS 'credit limit';
COMMENT ON COLUMN pgcredit.account_import.tolerance_pct IS 'tolerance percentage';
COMMENT ON COLUMN pgcredit.account_import.payment_terms_days IS 'payment terms in days';
COMMENT ON COLUMN pgcredit.account_import.risk_tier IS 'risk tier';
COMMENT ON COLUMN pgcredit.account_import.next_review IS 'next review date';
COMMENT ON COLUMN pgcredit.account_import.reason IS 'reason recorded in the audit log; by default "loaded from CSV (import run N)"';

CREATE FUNCTION pgcredit._account_import_row()
RETURNS trigger LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
DECLARE
  a pgcredit.account;
  why text := coalesce(NEW.reason, 'loaded from CSV' ||
                       coalesce(' (import run ' || nullif(current_setting('pgcredit.import_run', true), '') || ')', ''));
BEGIN
  SELECT * INTO a FROM pgcredit.account x WHERE x.customer = NEW.customer;
  IF NOT FOUND THEN
    PERFORM pgcredit.open_account(NEW.customer, NEW.credit_limit, coalesce(NEW.tolerance_pct, 0),
                                  NEW.payment_terms_days, NEW.risk_tier, NEW.next_review, why);
  ELSE
    IF NEW.credit_limit IS NOT NULL AND NEW.credit_limit IS DISTINCT FROM a.credit_limit THEN
      PERFORM pgcredit.set_credit_limit(NEW.customer, NEW.credit_limit, why);
    END IF;
    IF NEW.tolerance_pct IS NOT NULL AND NEW.tolerance_pct IS DISTINCT FROM a.tolerance_pct THEN
      PERFORM pgcredit.set_tolerance(NEW.customer, NEW.tolerance_pct, why);
    END IF;
    IF (NEW.payment_terms_days IS NOT NULL AND NEW.payment_terms_days IS DISTINCT FROM a.payment_terms_days)
       OR (NEW.risk_tier IS NOT NULL AND NEW.risk_tier IS DISTINCT FROM a.risk_tier)
       OR (NEW.next_review IS NOT NULL AND NEW.next_review IS DISTINCT FROM a.next_review) THEN
      PERFORM pgcredit.update_account(NEW.customer, why, NEW.payment_terms_days, NEW.risk_tier, NEW.next_review);
    END IF;
  END IF;
  RETURN NEW;
END
$$;
COMMENT ON FUNCTION pgcredit._account_import_row() IS
  'INSTEAD OF INSERT on account_import: open or change the account through the audited account functions';
CREATE TRIGGER account_import_row INSTEAD OF INSERT ON pgcredit.account_import
  FOR EACH ROW EXECUTE FUNCTION pgcredit._account_import_row();
REVOKE ALL ON pgcredit.account_import FROM PUBLIC;
-- a trigger function is not checked for EXECUTE when its trigger fires
REVOKE EXECUTE ON FUNCTION pgcredit._account_import_row() FROM PUBLIC;
GRANT SELECT, INSERT ON pgcredit.account_import TO pgcredit_controller;

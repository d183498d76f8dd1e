-- Credit control: the audit log and the checks of every audited change

----------------------------------------------------------------------
-- Credit control: audit log and internal helpers (not callable by PUBLIC)
----------------------------------------------------------------------


CREATE TABLE pgcredit.audit_log (
  id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  at            timestamptz NOT NULL DEFAULT pg_catalog.clock_timestamp(),
  session_user_name name NOT NULL DEFAULT session_user,
  role_name     name NOT NULL,
  backend_pid   int NOT NULL DEFAULT pg_catalog.pg_backend_pid(),
  action        text NOT NULL,
  customer      text,
  old_value     jsonb,
  new_value     jsonb,
  reason        text
);
COMMENT ON TABLE pgcredit.audit_log IS 'append-only log of every change to accounts, settings, attachments, holds and overrides';
COMMENT ON COLUMN pgcredit.audit_log.id IS 'order of the entries';
COMMENT ON COLUMN pgcredit.audit_log.at IS 'when';
COMMENT ON COLUMN pgcredit.audit_log.session_user_name IS 'the session''s login role';
COMMENT ON COLUMN pgcredit.audit_log.role_name IS 'the role acting (after SET ROLE)';
COMMENT ON COLUMN pgcredit.audit_log.backend_pid IS 'the session''s backend process';
COMMENT ON COLUMN pgcredit.audit_log.action IS 'what was done, e.g. set_credit_limit';
COMMENT ON COLUMN pgcredit.audit_log.customer IS 'customer key, when the action concerns one';
COMMENT ON COLUMN pgcredit.audit_log.old_value IS 'the value before';
COMMENT ON COLUMN pgcredit.audit_log.new_value IS 'the value after';
COMMENT ON COLUMN pgcredit.audit_log.reason IS 'the reason given';
REVOKE ALL ON pgcredit.audit_log FROM PUBLIC;
GRANT SELECT ON pgcredit.audit_log TO pgcredit_reader;
SELECT pg_catalog.pg_extension_config_dump('pgcredit.audit_log', '');
SELECT pg_catalog.pg_extension_config_dump('pgcredit.audit_log_id_seq', '');
COMMENT ON SEQUENCE pgcredit.audit_log_id_seq IS 'numbers of audit log entries (audit_log.id)';

CREATE FUNCTION pgcredit._actor()
RETURNS name LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$ SELECT coalesce(nullif(current_setting('role'), 'none'), session_user)::name $$;
COMMENT ON FUNCTION pgcredit._actor() IS 'the role acting: the role set with SET ROLE, else the session user';
REVOKE EXECUTE ON FUNCTION pgcredit._actor() FROM PUBLIC;

CREATE FUNCTION pgcredit._audit(action text, customer text, old_value jsonb, new_value jsonb, reason text)
RETURNS void LANGUAGE sql VOLATILE
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
  INSERT INTO pgcredit.audit_log (role_name, action, customer, old_value, new_value, reason)
  VALUES (pgcredit._actor(), $1, $2, $3, $4, $5)
$$;
COMMENT ON FUNCTION pgcredit._audit(text, text, jsonb, jsonb, text) IS 'append one entry to the audit log';
REVOKE EXECUTE ON FUNCTION pgcredit._audit(text, text, jsonb, jsonb, text) FROM PUBLIC;

CREATE FUNCTION pgcredit._check_reason(reason text)
RETURNS void LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
BEGIN
  IF reason IS NULL THEN
    RAISE EXCEPTION 'a reason is required' USING ERRCODE = 'null_value_not_allowed',
      HINT = 'Every change of credit control is audited; say why it is made.';
  ELSIF btrim(reason) = '' THEN
    RAISE EXCEPTION 'a reason is required' USING ERRCODE = 'invalid_parameter_value',
      DETAIL = 'The reason given is empty.',
      HINT = 'Every change of credit control is audited; say why it is made.';
  END IF;
END
$$;
COMMENT ON FUNCTION pgcredit._check_reason(text) IS 'refuse a missing or empty reason';
REVOKE EXECUTE ON FUNCTION pgcredit._check_reason(text) FROM PUBLIC;

CREATE FUNCTION pgcredit._check_amount(name text, value numeric)
RETURNS void LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
BEGIN
  IF value = 'NaN' OR value IN ('Infinity', '-Infinity') THEN
    RAISE EXCEPTION '% must be a finite number', name USING ERRCODE = 'invalid_parameter_value',
      DETAIL = format('%s is %s.', name, value);
  ELSIF value < 0 THEN
    RAISE EXCEPTION '% must not be negative', name USING ERRCODE = 'invalid_parameter_value',
      DETAIL = format('%s is %s.', name, value);
  END IF;
END
$$;
COMMENT ON FUNCTION pgcredit._check_amount(text, numeric) IS 'refuse a NaN, infinite or negative limit or tolerance (NULL passes)';
REVOKE EXECUTE ON FUNCTION pgcredit._check_amount(text, numeric) FROM PUBLIC;

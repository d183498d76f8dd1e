-- Credit control: settings of the guard (pgcredit_admin changes them)

----------------------------------------------------------------------
-- Credit control: settings (pgcredit_admin)
----------------------------------------------------------------------

CREATE TABLE pgcredit.settings (
  only_row               boolean PRIMARY KEY DEFAULT true CHECK (only_row),
  no_account_policy      text NOT NULL DEFAULT 'allow'
                         CHECK (no_account_policy IN ('allow', 'deny', 'default_limit')),
  default_limit          numeric CHECK (default_limit >= 0 AND default_limit < 'Infinity'),
  default_tolerance_pct  numeric NOT NULL DEFAULT 0
                         CHECK (default_tolerance_pct >= 0 AND default_tolerance_pct < 'Infinity'),
  max_days_past_due      int CHECK (max_days_past_due >= 0),
  base_currency          text CONSTRAINT base_currency_code CHECK (base_currency ~ '^[A-Z]{3}$'),
  time_zone              text,
  worklist_by_assignment boolean NOT NULL DEFAULT false,
  exposure_history       boolean NOT NULL DEFAULT true,
  CHECK (no_account_policy <> 'default_limit' OR default_limit IS NOT NULL)
);
COMMENT ON TABLE pgcredit.settings IS 'credit control settings: at most one row; no row means every default';
COMMENT ON COLUMN pgcredit.settings.only_row IS 'always true: the table holds one row at most';
COMMENT ON COLUMN pgcredit.settings.no_account_policy IS 'orders of customers without an account: allow (default), deny, or default_limit';
COMMENT ON COLUMN pgcredit.settings.default_limit IS 'limit for customers without an account under the default_limit policy';
COMMENT ON COLUMN pgcredit.settings.default_tolerance_pct IS 'tolerance for customers without an account under the default_limit policy';
COMMENT ON COLUMN pgcredit.settings.base_currency IS 'the book''s currency (ISO 4217 code): accounts and credit groups without a currency of their own are kept in it; NULL = a single-currency book, where nothing is converted (set with set_base_currency)';
COMMENT ON COLUMN pgcredit.settings.time_zone IS 'the book''s time zone: the horizon''s today is the date in it, the same for every session whatever its TimeZone; NULL = each session''s own (set with set_time_zone)';
COMMENT ON COLUMN pgcredit.settings.worklist_by_assignment IS 'whether a collector (pgcredit_collector, not pgcredit_reader) sees in the worklist only the customers assigned to a role it is a member of (set with set_worklist_by_assignment)';
COMMENT ON COLUMN pgcredit.settings.exposure_history IS 'whether every change of a customer''s exposure row is recorded in exposure_history, for exposure_at() (set with set_exposure_history)';
COMMENT ON COLUMN pgcredit.settings.max_days_past_due IS 'the days of the rule named ''max days past due'' that set_max_days_past_due() keeps (the guard reads the rule); NULL = no such rule';
REVOKE ALL ON pgcredit.settings FROM PUBLIC;
GRANT SELECT ON pgcredit.settings TO pgcredit_reader;
SELECT pg_catalog.pg_extension_config_dump('pgcredit.settings', '');

-- Every change of the settings tells every backend to read them again:
-- the guard keeps the settings row in memory (src/guard_exposure.c).
CREATE FUNCTION pgcredit._settings_changed()
RETURNS trigger
AS 'MODULE_PATHNAME', 'pgc_rules_changed'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION pgcredit._settings_changed() IS
  'statement trigger on settings: invalidates the settings every backend keeps, so that the next order in every session sees the change';
REVOKE EXECUTE ON FUNCTION pgcredit._settings_changed() FROM PUBLIC;
CREATE TRIGGER settings_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON pgcredit.settings
  FOR EACH STATEMENT EXECUTE FUNCTION pgcredit._settings_changed();


CREATE FUNCTION pgcredit.set_no_account_policy(policy text, default_limit numeric DEFAULT NULL,
                                               default_tolerance_pct numeric DEFAULT 0,
                                               reason text DEFAULT NULL)
RETURNS pgcredit.settings LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
DECLARE
  before pgcredit.settings;
  after pgcredit.settings;
BEGIN
  PERFORM pgcredit._check_reason(reason);
  IF policy IS NULL OR policy NOT IN ('allow', 'deny', 'default_limit') THEN
    RAISE EXCEPTION 'invalid no-account policy "%"', policy USING ERRCODE = 'invalid_parameter_value',
      HINT = 'The policy is allow, deny or default_limit.';
  END IF;
  IF policy = 'default_limit' AND default_limit IS NULL THEN
    RAISE EXCEPTION 'the default_limit policy needs a default limit' USING ERRCODE = 'null_value_not_allowed';
  END IF;
  PERFORM pgcredit._check_amount('default_limit', default_limit);
  PERFORM pgcredit._check_amount('default_tolerance_pct', coalesce(default_tolerance_pct, 0));
  SELECT * INTO before FROM pgcredit.settings FOR UPDATE;
  INSERT INTO pgcredit.settings AS s (no_account_policy, default_limit, default_tolerance_pct)
  VALUES (policy, set_no_account_policy.default_limit, coalesce(set_no_account_policy.default_tolerance_pct, 0))
  ON CONFLICT (only_row) DO UPDATE SET no_account_policy = EXCLUDED.no_account_policy,
    default_limit = EXCLUDED.default_limit, default_tolerance_pct = EXCLUDED.default_tolerance_pct
  RETURNING * INTO after;
  PERFORM pgcredit._audit('set_no_account_policy', NULL, to_jsonb(before), to_jsonb(after), reason);
  RETURN after;
END
$$;
COMMENT ON FUNCTION pgcredit.set_no_account_policy(text, numeric, numeric, text) IS
  'what happens to orders of customers without an account: allow, deny, or default_limit (with its limit and tolerance), audited';
REVOKE EXECUTE ON FUNCTION pgcredit.set_no_account_policy(text, numeric, numeric, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgcredit.set_no_account_policy(text, numeric, numeric, text) TO pgcredit_admin;

CREATE FUNCTION pgcredit.set_max_days_past_due(days int, reason text)
RETURNS pgcredit.settings LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
DECLARE
  before pgcredit.settings;
  after pgcredit.settings;
BEGIN
  PERFORM pgcredit._check_reason(reason);
  IF days < 0 THEN
    RAISE EXCEPTION 'days must not be negative' USING ERRCODE = 'invalid_parameter_value',
      HINT = 'NULL turns the check off.';
  END IF;
  SELECT * INTO before FROM pgcredit.settings FOR UPDATE;
  INSERT INTO pgcredit.settings AS s (max_days_past_due) VALUES (days)
  ON CONFLICT (only_row) DO UPDATE SET max_days_past_due = EXCLUDED.max_days_past_due
  RETURNING * INTO after;
  -- since 1.1 the check is the rule named 'max days past due'
  IF days IS NULL THEN
    DELETE FROM pgcredit.credit_rule c WHERE c.name = 'max days past due';
  ELSE
    UPDATE pgcredit.credit_rule c SET days = set_max_days_past_due.days
    WHERE c.name = 'max days past due' AND c.kind = 'days_past_due';
    IF NOT FOUND THEN
      INSERT INTO pgcredit.credit_rule (name, kind, action, days, note)
      VALUES ('max days past due', 'days_past_due', 'hold', days,
              'kept by pgcredit.set_max_days_past_due()');
    END IF;
  END IF;
  PERFORM pgcredit._audit('set_max_days_past_due', NULL, to_jsonb(before), to_jsonb(after), reason);
  RETURN after;
END
$$;
COMMENT ON FUNCTION pgcredit.set_max_days_past_due(int, text) IS
  'refuse orders of customers with open receivables more than this many days past due (NULL = no check), audited; keeps the days_past_due rule named ''max days past due''';
REVOKE EXECUTE ON FUNCTION pgcredit.set_max_days_past_due(int, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgcredit.set_max_days_past_due(int, text) TO pgcredit_admin;

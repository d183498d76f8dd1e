-- Credit control: currencies and exchange rates (pgcredit_admin loads rates)

----------------------------------------------------------------------
-- Currencies: the book's base currency, exchange rates by date, the
-- conversion the guard applies, and revaluation when rates change
----------------------------------------------------------------------

CREATE FUNCTION pgcredit._check_currency_code(what text, code text)
RETURNS void LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
BEGIN
  IF code IS NOT NULL AND code !~ '^[A-Z]{3}$' THEN
    RAISE EXCEPTION 'invalid currency code "%"', code USING ERRCODE = 'invalid_parameter_value',
      DETAIL = format('It was given as %s.', what),
      HINT = 'A currency is written as its ISO 4217 code: three capital letters, such as EUR or USD.';
  END IF;
END
$$;
COMMENT ON FUNCTION pgcredit._check_currency_code(text, text) IS
  'refuse a currency code that is not three capital letters (NULL passes)';
REVOKE EXECUTE ON FUNCTION pgcredit._check_currency_code(text, text) FROM PUBLIC;

CREATE TABLE pgcredit.fx_rate (
  currency_from  text NOT NULL CONSTRAINT currency_from_code CHECK (currency_from ~ '^[A-Z]{3}$'),
  currency_to    text NOT NULL CONSTRAINT currency_to_code CHECK (currency_to ~ '^[A-Z]{3}$'),
  valid_from     date NOT NULL CONSTRAINT valid_from_finite CHECK (valid_from > '-infinity' AND valid_from < 'infinity'),
  rate           numeric NOT NULL CONSTRAINT rate_positive_finite CHECK (rate > 0 AND rate < 'Infinity'),
  entered_by     name NOT NULL DEFAULT current_user,
  entered_at     timestamptz NOT NULL DEFAULT pg_catalog.now(),
  PRIMARY KEY (currency_from, currency_to, valid_from),
  CONSTRAINT two_currencies CHECK (currency_from <> currency_to)
);
COMMENT ON TABLE pgcredit.fx_rate IS 'exchange rates by date: one unit of currency_from is worth rate units of currency_to from valid_from until the next rate of the pair; written by pgcredit_admin (or load_csv as it), every change audited; run revalue_exposure() after a change';
COMMENT ON COLUMN pgcredit.fx_rate.currency_from IS 'the currency converted from (ISO 4217 code)';
COMMENT ON COLUMN pgcredit.fx_rate.currency_to IS 'the currency converted to (ISO 4217 code)';
COMMENT ON COLUMN pgcredit.fx_rate.valid_from IS 'first day the rate applies to; it applies until the next valid_from of the pair';
COMMENT ON COLUMN pgcredit.fx_rate.rate IS 'units of currency_to for one unit of currency_from: above 0 and finite';
COMMENT ON COLUMN pgcredit.fx_rate.entered_by IS 'who wrote the rate';
COMMENT ON COLUMN pgcredit.fx_rate.entered_at IS 'when the rate was written';
REVOKE ALL ON pgcredit.fx_rate FROM PUBLIC;
GRANT SELECT ON pgcredit.fx_rate TO pgcredit_reader;
GRANT INSERT, UPDATE, DELETE ON pgcredit.fx_rate TO pgcredit_admin;
SELECT pg_catalog.pg_extension_config_dump('pgcredit.fx_rate', '');

-- Every change of the rates tells every backend to read them again: the
-- guard keeps the rates in memory (src/fx.c)
CREATE FUNCTION pgcredit._fx_rate_changed()
RETURNS trigger
AS 'MODULE_PATHNAME', 'pgc_rules_changed'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION pgcredit._fx_rate_changed() IS
  'statement trigger on fx_rate: invalidates the rates every backend keeps, so that the next order in every session converts with the change';
REVOKE EXECUTE ON FUNCTION pgcredit._fx_rate_changed() FROM PUBLIC;
CREATE TRIGGER fx_rate_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON pgcredit.fx_rate
  FOR EACH STATEMENT EXECUTE FUNCTION pgcredit._fx_rate_changed();

CREATE FUNCTION pgcredit._stamp_fx_rate()
RETURNS trigger LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
BEGIN
  -- a superuser's values stand (pg_restore brings the rates back with
  -- who wrote them and when); anyone else's are replaced
  IF NOT coalesce((SELECT r.rolsuper FROM pg_catalog.pg_roles r WHERE r.rolname = pgcredit._actor()), false) THEN
    NEW.entered_by := pgcredit._actor();
    NEW.entered_at := pg_catalog.now();
  END IF;
  RETURN NEW;
END
$$;
COMMENT ON FUNCTION pgcredit._stamp_fx_rate() IS
  'BEFORE INSERT or UPDATE on fx_rate: who wrote the rate and when, whatever the writer gave (a superuser''s values stand, for pg_restore)';
REVOKE EXECUTE ON FUNCTION pgcredit._stamp_fx_rate() FROM PUBLIC;
CREATE TRIGGER stamp BEFORE INSERT OR UPDATE ON pgcredit.fx_rate
  FOR EACH ROW EXECUTE FUNCTION pgcredit._stamp_fx_rate();

CREATE FUNCTION pgcredit._audit_fx_rate()
RETURNS trigger LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
BEGIN
  PERFORM pgcredit._audit('fx_rate_' || lower(TG_OP), NULL,
                          CASE WHEN TG_OP <> 'INSERT' THEN to_jsonb(OLD) END,
                          CASE WHEN TG_OP <> 'DELETE' THEN to_jsonb(NEW) END, NULL);
  RETURN NULL;
END
$$;
COMMENT ON FUNCTION pgcredit._audit_fx_rate() IS
  'AFTER INSERT, UPDATE or DELETE on fx_rate: the rate before and after in the audit log';
REVOKE EXECUTE ON FUNCTION pgcredit._audit_fx_rate() FROM PUBLIC;
CREATE TRIGGER audit_change AFTER INSERT OR UPDATE OR DELETE ON pgcredit.fx_rate
  FOR EACH ROW EXECUTE FUNCTION pgcredit._audit_fx_rate();

-- The accounts' and the groups' currencies are read by the guard too: a
-- change of an account tells every backend to forget the currencies it
-- keeps (src/fx.c)
CREATE FUNCTION pgcredit._account_changed()
RETURNS trigger
AS 'MODULE_PATHNAME', 'pgc_rules_changed'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION pgcredit._account_changed() IS
  'statement trigger on account: invalidates the account currencies every backend keeps';
REVOKE EXECUTE ON FUNCTION pgcredit._account_changed() FROM PUBLIC;
CREATE TRIGGER account_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON pgcredit.account
  FOR EACH STATEMENT EXECUTE FUNCTION pgcredit._account_changed();

CREATE FUNCTION pgcredit.fx_convert(amount numeric, currency_from text, currency_to text, rate_date date)
RETURNS numeric
AS 'MODULE_PATHNAME', 'pgc_fx_convert'
LANGUAGE C STABLE STRICT PARALLEL UNSAFE;
COMMENT ON FUNCTION pgcredit.fx_convert(numeric, text, text, date) IS
  'an amount converted as the guard converts it: times the rate of the pair valid on rate_date (the latest valid_from on or before it), rounded to 2 decimal places, halves away from zero; the amount itself when the currencies are the same; a missing rate is an error (PC015)';
REVOKE EXECUTE ON FUNCTION pgcredit.fx_convert(numeric, text, text, date) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgcredit.fx_convert(numeric, text, text, date) TO pgcredit_reader;

CREATE FUNCTION pgcredit.set_base_currency(currency text, reason text)
RETURNS pgcredit.settings LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
DECLARE
  before pgcredit.settings;
  after pgcredit.settings;
BEGIN
  PERFORM pgcredit._check_reason(reason);
  PERFORM pgcredit._check_currency_code('the base currency', currency);
  SELECT * INTO before FROM pgcredit.settings FOR UPDATE;
  -- the attachment rows are locked against new attachments meanwhile
  IF before.base_currency IS DISTINCT FROM currency
     AND EXISTS (SELECT FROM pgcredit.attachment a WHERE a.currency_column IS NOT NULL FOR KEY SHARE) THEN
    RAISE EXCEPTION 'cannot change the base currency while tables with a currency column are attached'
      USING ERRCODE = 'object_not_in_prerequisite_state',
      DETAIL = format('The exposure of the accounts without a currency of their own is kept in %s.',
                      coalesce(before.base_currency, 'no currency')),
      HINT = 'Detach the tables with a currency column first, and attach them again after the change.';
  END IF;
  INSERT INTO pgcredit.settings AS s (base_currency) VALUES (currency)
  ON CONFLICT (only_row) DO UPDATE SET base_currency = EXCLUDED.base_currency
  RETURNING * INTO after;
  PERFORM pgcredit._audit('set_base_currency', NULL, jsonb_build_object('base_currency', before.base_currency),
                          jsonb_build_object('base_currency', after.base_currency), reason);
  RETURN after;
END
$$;
COMMENT ON FUNCTION pgcredit.set_base_currency(text, text) IS
  'set the book''s base currency, in which accounts and groups without a currency of their own are kept (NULL = a single-currency book); refused while tables with a currency column are attached; audited';
REVOKE EXECUTE ON FUNCTION pgcredit.set_base_currency(text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgcredit.set_base_currency(text, text) TO pgcredit_admin;

CREATE FUNCTION pgcredit._effective_currency(currency text)
RETURNS text LANGUAGE sql STABLE
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$ SELECT coalesce($1, (SELECT s.base_currency FROM pgcredit.settings s)) $$;
COMMENT ON FUNCTION pgcredit._effective_currency(text) IS
  'an account''s or group''s currency: its own, else the book''s base currency';
REVOKE EXECUTE ON FUNCTION pgcredit._effective_currency(text) FROM PUBLIC;

CREATE FUNCTION pgcredit.set_account_currency(customer text, currency text, reason text)
RETURNS pgcredit.account LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
DECLARE
  before pgcredit.account;
  after pgcredit.account;
  x pgcredit.exposure;
  grp pgcredit.credit_group;
  threshold numeric;
  covered numeric;
  headroom numeric;
  worth numeric;
BEGIN
  PERFORM pgcredit._check_reason(reason);
  PERFORM pgcredit._check_currency_code('the account''s currency', currency);
  SELECT * INTO before FROM pgcredit.account a WHERE a.customer = set_account_currency.customer FOR UPDATE;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'customer "%" has no credit account', customer USING ERRCODE = 'PC003',
      HINT = 'Open one with pgcredit.open_account().';
  END IF;
  -- under the exposure row's lock, which every order of the customer
  -- takes: nothing may count in the old currency, not even items that
  -- cancel out (converted anew they need not)
  PERFORM pgcredit._lock_exposure(customer);
  SELECT * INTO x FROM pgcredit.exposure e WHERE e.customer = set_account_currency.customer;
  IF pgcredit._effective_currency(before.currency) IS DISTINCT FROM pgcredit._effective_currency(currency)
     AND (x.receivables <> 0 OR x.open_orders <> 0
          OR EXISTS (SELECT FROM pgcredit._attached_items(NULL, set_account_currency.customer) i WHERE i.counts)) THEN
    RAISE EXCEPTION 'cannot change the currency of an account with exposure'
      USING ERRCODE = 'object_not_in_prerequisite_state',
      DETAIL = CASE WHEN x.receivables <> 0 OR x.open_orders <> 0
                    THEN format('Customer "%s" has receivables of %s and open orders of %s in %s.', customer,
                                x.receivables, x.open_orders, coalesce(pgcredit._effective_currency(before.currency), 'no currency'))
                    ELSE format('Customer "%s" has open items that cancel out in %s; converted into %s they need not.',
                                customer, coalesce(pgcredit._effective_currency(before.currency), 'no currency'),
                                coalesce(pgcredit._effective_currency(currency), 'no currency')) END,
      HINT = 'Change the currency when nothing is open.';
  END IF;
  UPDATE pgcredit.account a SET currency = set_account_currency.currency, updated_at = now()
  WHERE a.customer = set_account_currency.customer RETURNING * INTO after;
  PERFORM pgcredit._lock_exposure(customer);
  SELECT g.* INTO grp FROM pgcredit.group_member m JOIN pgcredit.credit_group g ON g.id = m.group_id
  WHERE m.customer = set_account_currency.customer;
  IF FOUND AND pgcredit._effective_currency(grp.currency) IS DISTINCT FROM pgcredit._effective_currency(after.currency) THEN
    RAISE EXCEPTION 'customer "%" is in credit group "%", kept in another currency', customer, grp.id
      USING ERRCODE = 'PC016',
      DETAIL = format('The group is kept in %s; the account would be in %s.',
                      coalesce(pgcredit._effective_currency(grp.currency), 'no currency'),
                      coalesce(pgcredit._effective_currency(after.currency), 'no currency')),
      HINT = 'Take the customer out of the group first with pgcredit.leave_group().';
  END IF;
  -- the limits and the cover keep their figures: in another currency
  -- they are worth another amount, judged by the approval policy as a
  -- limit opened anew (every cover that counts, whatever its days)
  threshold := (SELECT p.limit_approval_above FROM pgcredit.approval_policy p);
  IF threshold IS NOT NULL AND after.credit_limit IS NOT NULL
     AND pgcredit._effective_currency(before.currency) IS DISTINCT FROM pgcredit._effective_currency(after.currency) THEN
    covered := coalesce((SELECT sum(round(pgcredit._cover_value(c.amount, c.share_pct, c.deductible) * p.counted_pct / 100, 2))
                         FROM pgcredit.cover c JOIN pgcredit.cover_policy_in_force p ON p.kind = c.kind
                         WHERE c.customer = set_account_currency.customer AND p.counts
                           AND c.decision IN ('granted', 'reduced') AND c.ended_at IS NULL), 0);
    headroom := greatest(after.credit_limit, after.temporary_limit) + covered;
    worth := pgcredit._in_book_currency(customer, headroom);
    IF worth > threshold THEN
      RAISE EXCEPTION 'changing the currency of customer "%" needs approval', customer
        USING ERRCODE = 'PC012',
        DETAIL = format('Its limit%s, %s %s, would become %s %s%s, more than the %s that pgcredit.approval_policy lets a controller change alone.',
                        CASE WHEN covered > 0 THEN ' and the cover that counts' ELSE '' END,
                        headroom, pgcredit._effective_currency(before.currency),
                        headroom, pgcredit._effective_currency(after.currency),
                        CASE WHEN worth IS DISTINCT FROM headroom
                             THEN format(' (%s %s at today''s rate)', worth, (SELECT s.base_currency FROM pgcredit.settings s))
                             ELSE '' END,
                        threshold),
        HINT = CASE WHEN covered > 0
                    THEN 'Lower the limit to 0 (a cut needs no approval) and end the cover first, change the currency, then ask for the limit in the new currency with pgcredit.request_limit() and add the cover again.'
                    ELSE 'Lower the limit to 0 first (a cut needs no approval), change the currency, then ask for the limit in the new currency with pgcredit.request_limit().' END;
    END IF;
  END IF;
  PERFORM pgcredit._audit('set_account_currency', customer, jsonb_build_object('currency', before.currency),
                          jsonb_build_object('currency', after.currency), reason);
  RETURN after;
END
$$;
COMMENT ON FUNCTION pgcredit.set_account_currency(text, text, text) IS
  'set the currency an account''s limit and exposure are kept in (NULL = the base currency); refused while the customer has exposure, (PC016) when its credit group is kept in another currency, or (PC012) when the approval policy has a limit threshold and the limit with the cover that counts, worth another amount in the new currency, is worth more than it; audited';
REVOKE EXECUTE ON FUNCTION pgcredit.set_account_currency(text, text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgcredit.set_account_currency(text, text, text) TO pgcredit_controller;

-- Credit groups: a group's exposure is the sum of its members', so every
-- member and every group under it must be kept in the group's currency
CREATE FUNCTION pgcredit._check_group_currency()
RETURNS trigger LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
DECLARE
  mine text;
  theirs text;
  who text;
BEGIN
  IF TG_TABLE_NAME = 'group_member' THEN
    mine := pgcredit._effective_currency((SELECT a.currency FROM pgcredit.account a WHERE a.customer = NEW.customer));
    theirs := pgcredit._effective_currency((SELECT g.currency FROM pgcredit.credit_group g WHERE g.id = NEW.group_id));
    who := format('Customer "%s"', NEW.customer);
  ELSE
    -- a new group under a parent is kept in the parent's currency
    IF TG_OP = 'INSERT' AND NEW.parent IS NOT NULL AND NEW.currency IS NULL THEN
      NEW.currency := (SELECT g.currency FROM pgcredit.credit_group g WHERE g.id = NEW.parent);
    END IF;
    theirs := pgcredit._effective_currency(NEW.currency);
    -- the group against its parent
    SELECT pgcredit._effective_currency(g.currency), format('Credit group "%s"', NEW.id) INTO mine, who
    FROM pgcredit.credit_group g WHERE g.id = NEW.parent;
    IF FOUND THEN
      mine := theirs;
      theirs := (SELECT pgcredit._effective_currency(g.currency) FROM pgcredit.credit_group g WHERE g.id = NEW.parent);
    ELSE
      mine := theirs;
    END IF;
    -- the group against its members and the groups under it
    IF mine IS NOT DISTINCT FROM theirs AND TG_OP = 'UPDATE' THEN
      SELECT x.c, x.w INTO mine, who FROM (
        SELECT pgcredit._effective_currency(a.currency) AS c, format('Customer "%s"', m.customer) AS w
        FROM pgcredit.group_member m LEFT JOIN pgcredit.account a ON a.customer = m.customer
        WHERE m.group_id = NEW.id
        UNION ALL
        SELECT pgcredit._effective_currency(g.currency), format('Credit group "%s"', g.id)
        FROM pgcredit.credit_group g WHERE g.parent = NEW.id) x
      WHERE x.c IS DISTINCT FROM pgcredit._effective_currency(NEW.currency)
      LIMIT 1;
      IF FOUND THEN
        theirs := pgcredit._effective_currency(NEW.currency);
      ELSE
        mine := theirs;
      END IF;
    END IF;
  END IF;
  IF mine IS DISTINCT FROM theirs THEN
    RAISE EXCEPTION 'credit group currencies do not match' USING ERRCODE = 'PC016',
      DETAIL = format('%s is kept in %s, its group in %s.', who, coalesce(mine, 'no currency'),
                      coalesce(theirs, 'no currency')),
      HINT = 'A credit group sums its members'' exposure: every member and every group under it must be kept in the group''s currency.';
  END IF;
  RETURN NEW;
END
$$;
COMMENT ON FUNCTION pgcredit._check_group_currency() IS
  'BEFORE INSERT or UPDATE on group_member and credit_group: refuse (PC016) a member or group kept in another currency than its group';
REVOKE EXECUTE ON FUNCTION pgcredit._check_group_currency() FROM PUBLIC;
CREATE TRIGGER check_currency BEFORE INSERT OR UPDATE ON pgcredit.group_member
  FOR EACH ROW EXECUTE FUNCTION pgcredit._check_group_currency();
CREATE TRIGGER check_currency BEFORE INSERT OR UPDATE OF parent, currency ON pgcredit.credit_group
  FOR EACH ROW EXECUTE FUNCTION pgcredit._check_group_currency();

CREATE FUNCTION pgcredit.set_group_currency(group_id text, currency text, reason text)
RETURNS pgcredit.credit_group LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
DECLARE
  before pgcredit.credit_group;
  after pgcredit.credit_group;
BEGIN
  PERFORM pgcredit._check_reason(reason);
  PERFORM pgcredit._check_currency_code('the group''s currency', currency);
  PERFORM pgcredit._group_exists(group_id);
  -- the group's exposure row first, as orders lock it, then the group
  PERFORM FROM pgcredit.group_exposure x WHERE x.group_id = set_group_currency.group_id FOR UPDATE;
  SELECT * INTO before FROM pgcredit.credit_group g WHERE g.id = set_group_currency.group_id FOR UPDATE;
  UPDATE pgcredit.credit_group g SET currency = set_group_currency.currency, updated_at = now()
  WHERE g.id = set_group_currency.group_id RETURNING * INTO after;
  PERFORM pgcredit._audit('set_group_currency', NULL,
    jsonb_build_object('group', before.id, 'currency', before.currency),
    jsonb_build_object('group', after.id, 'currency', after.currency), reason);
  RETURN after;
END
$$;
COMMENT ON FUNCTION pgcredit.set_group_currency(text, text, text) IS
  'set the currency a credit group''s limit and exposure are kept in (NULL = the base currency); refused (PC016) when a member, a group under it or its parent is kept in another; audited';
REVOKE EXECUTE ON FUNCTION pgcredit.set_group_currency(text, text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgcredit.set_group_currency(text, text, text) TO pgcredit_controller;

CREATE FUNCTION pgcredit._check_currency_columns(tbl regclass, currency_column name, rate_date_column name,
                                                 mode text)
RETURNS void LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
BEGIN
  IF (SELECT s.base_currency FROM pgcredit.settings s) IS NULL THEN
    RAISE EXCEPTION 'a currency column needs the book''s base currency' USING ERRCODE = 'object_not_in_prerequisite_state',
      DETAIL = 'Accounts without a currency of their own are kept in the base currency, which is not set.',
      HINT = 'Set it first with pgcredit.set_base_currency().';
  END IF;
  IF rate_date_column IS NULL THEN
    RAISE EXCEPTION 'a currency column needs a rate date column' USING ERRCODE = 'invalid_parameter_value',
      HINT = 'Name the date column whose exchange rate converts a row, such as the order or invoice date.';
  END IF;
  PERFORM pgcredit._column_type(tbl, currency_column, 'currency');
  PERFORM pgcredit._check_attach_column(tbl, currency_column, 'currency');
  PERFORM pgcredit._column_type(tbl, rate_date_column, 'rate date');
  PERFORM pgcredit._check_attach_column(tbl, rate_date_column, 'date');
END
$$;
COMMENT ON FUNCTION pgcredit._check_currency_columns(regclass, name, name, text) IS
  'refuse a currency and rate date column pair pgcredit cannot use';
REVOKE EXECUTE ON FUNCTION pgcredit._check_currency_columns(regclass, name, name, text) FROM PUBLIC;

CREATE FUNCTION pgcredit.revalue_exposure(reason text DEFAULT 'exchange rates changed')
RETURNS TABLE (customer text, old_exposure numeric, new_exposure numeric, credit_limit numeric,
               crossed text)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
DECLARE
  before jsonb;
  n bigint;
BEGIN
  PERFORM pgcredit._check_reason(reason);
  -- on the coordinator of a Citus cluster the exposure is the workers'
  -- (doc/citus.md): each revalues its own, from the rates as committed
  -- (load rates and revalue in transactions of their own)
  IF cardinality(pgcredit._citus_shells()) > 0 THEN
    RETURN QUERY
      SELECT x.customer, x.old_exposure, x.new_exposure, x.credit_limit, x.crossed
      FROM pgcredit._citus_rows(format('SELECT * FROM pgcredit._citus_revalue_here(%L)', reason)) w
      CROSS JOIN LATERAL jsonb_to_record(w.r)
        AS x(customer text, old_exposure numeric, new_exposure numeric, credit_limit numeric, crossed text)
      ORDER BY 1;
    GET DIAGNOSTICS n = ROW_COUNT;
    PERFORM pgcredit._audit('revalue_exposure', NULL, NULL, jsonb_build_object('crossed', n, 'on', 'workers'), reason);
    RETURN;
  END IF;
  -- hold the writers of every attached table first (SHARE), so that the
  -- recomputation below, with a fresh snapshot, sees every committed row
  PERFORM count(*) FROM pgcredit._attached_items(NULL, NULL, NULL, true);
  SELECT jsonb_object_agg(e.customer, e.receivables + e.open_orders) INTO before FROM pgcredit.exposure e;
  PERFORM pgcredit.rebuild_exposure();
  RETURN QUERY
    SELECT e.customer, o.old, e.receivables + e.open_orders, l.lim,
           CASE WHEN e.receivables + e.open_orders > l.lim THEN 'up' ELSE 'down' END
    FROM pgcredit.exposure e
    CROSS JOIN LATERAL (SELECT pgcredit._effective_limit(e.credit_limit, e.temporary_limit, e.temporary_from,
                                                         e.temporary_until, current_date) AS lim) l
    CROSS JOIN LATERAL (SELECT coalesce((before ->> e.customer)::numeric, 0) AS old) o
    WHERE l.lim IS NOT NULL AND (o.old > l.lim) <> (e.receivables + e.open_orders > l.lim)
    ORDER BY e.customer;
  GET DIAGNOSTICS n = ROW_COUNT;
  PERFORM pgcredit._audit('revalue_exposure', NULL, NULL, jsonb_build_object('crossed', n), reason);
END
$$;
COMMENT ON FUNCTION pgcredit.revalue_exposure(text) IS
  'recompute exposure with the exchange rates as they are now (after a rate was loaded or corrected) and list the customers whose exposure crossed their limit, up or down; audited';
REVOKE EXECUTE ON FUNCTION pgcredit.revalue_exposure(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgcredit.revalue_exposure(text) TO pgcredit_admin;

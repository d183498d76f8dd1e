-- Credit control: credit accounts (pgcredit_controller changes them)

----------------------------------------------------------------------
-- Credit control: accounts (pgcredit_controller)
----------------------------------------------------------------------

CREATE TABLE pgcredit.account (
  customer            text PRIMARY KEY
                      CONSTRAINT customer_key_length CHECK (octet_length(customer) <= 1000),
  credit_limit        numeric CHECK (credit_limit >= 0 AND credit_limit < 'Infinity'),
  tolerance_pct       numeric NOT NULL DEFAULT 0 CHECK (tolerance_pct >= 0 AND tolerance_pct < 'Infinity'),
  status              text NOT NULL DEFAULT 'ok' CHECK (status IN ('ok', 'watch', 'hold', 'blocked')),
  hold_reason         text,
  payment_terms_days  int CHECK (payment_terms_days >= 0),
  risk_tier           text,
  next_review         date,
  created_at          timestamptz NOT NULL DEFAULT pg_catalog.now(),
  updated_at          timestamptz NOT NULL DEFAULT pg_catalog.now(),
  temporary_limit     numeric CHECK (temporary_limit >= 0 AND temporary_limit < 'Infinity'),
  temporary_from      date,
  temporary_until     date,
  currency            text CONSTRAINT currency_code CHECK (currency ~ '^[A-Z]{3}$'),
  CONSTRAINT temporary_limit_window CHECK (
    (temporary_limit IS NULL) = (temporary_until IS NULL)
    AND (temporary_limit IS NOT NULL OR temporary_from IS NULL)
    AND temporary_from > '-infinity' AND temporary_until < 'infinity'
    AND temporary_from <= temporary_until)
);
COMMENT ON TABLE pgcredit.account IS 'credit accounts, one per customer key; changed only through pgcredit''s functions, every change audited';
COMMENT ON COLUMN pgcredit.account.customer IS 'customer key as text, as the attached tables'' customer column prints it';
COMMENT ON COLUMN pgcredit.account.credit_limit IS 'credit limit; NULL = none set (no limit enforced)';
COMMENT ON COLUMN pgcredit.account.tolerance_pct IS 'percentage of the limit an order may go above it';
COMMENT ON COLUMN pgcredit.account.status IS 'ok, watch, hold or blocked; hold and blocked refuse every order that raises exposure';
COMMENT ON COLUMN pgcredit.account.hold_reason IS 'why the account is on hold or blocked';
COMMENT ON COLUMN pgcredit.account.payment_terms_days IS 'payment terms in days';
COMMENT ON COLUMN pgcredit.account.risk_tier IS 'risk tier, A (best) to E (worst)';
COMMENT ON COLUMN pgcredit.account.next_review IS 'date of the next credit review';
COMMENT ON COLUMN pgcredit.account.created_at IS 'when the account was opened';
COMMENT ON COLUMN pgcredit.account.updated_at IS 'when the account last changed';
COMMENT ON COLUMN pgcredit.account.temporary_limit IS 'a limit that replaces credit_limit from temporary_from to temporary_until, both days included, and lapses by itself (seasonal headroom); NULL = none';
COMMENT ON COLUMN pgcredit.account.temporary_from IS 'first day of the temporary limit; NULL = from when it was set';
COMMENT ON COLUMN pgcredit.account.temporary_until IS 'last day of the temporary limit';
COMMENT ON COLUMN pgcredit.account.currency IS 'the currency the account''s limit and exposure are kept in (ISO 4217 code); NULL = the book''s base currency (set with set_account_currency)';
REVOKE ALL ON pgcredit.account FROM PUBLIC;
GRANT SELECT ON pgcredit.account TO pgcredit_reader;
SELECT pg_catalog.pg_extension_config_dump('pgcredit.account', '');


CREATE FUNCTION pgcredit._lock_exposure(customer text)
RETURNS void LANGUAGE sql VOLATILE
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
  INSERT INTO pgcredit.exposure AS e (customer, has_account, credit_limit, tolerance_pct, status,
                                      risk_tier, next_review, temporary_limit, temporary_from, temporary_until,
                                      currency)
  SELECT $1, a.customer IS NOT NULL, a.credit_limit, coalesce(a.tolerance_pct, 0), coalesce(a.status, 'ok'),
         a.risk_tier, a.next_review, a.temporary_limit, a.temporary_from, a.temporary_until, a.currency
  FROM (SELECT) AS one LEFT JOIN pgcredit.account a ON a.customer = $1
  ON CONFLICT (customer) DO UPDATE SET has_account = EXCLUDED.has_account,
    credit_limit = EXCLUDED.credit_limit, tolerance_pct = EXCLUDED.tolerance_pct, status = EXCLUDED.status,
    risk_tier = EXCLUDED.risk_tier, next_review = EXCLUDED.next_review,
    temporary_limit = EXCLUDED.temporary_limit, temporary_from = EXCLUDED.temporary_from,
    temporary_until = EXCLUDED.temporary_until, currency = EXCLUDED.currency;
  -- the account as committed once the row is locked: the statement above
  -- read it before it waited for the row, and a change of the account that
  -- committed meanwhile (which holds the row until it commits) would be
  -- undone, a lowered limit raised again.  This statement reads it anew.
  UPDATE pgcredit.exposure e
  SET has_account = a.customer IS NOT NULL, credit_limit = a.credit_limit,
      tolerance_pct = coalesce(a.tolerance_pct, 0), status = coalesce(a.status, 'ok'),
      risk_tier = a.risk_tier, next_review = a.next_review, temporary_limit = a.temporary_limit,
      temporary_from = a.temporary_from, temporary_until = a.temporary_until, currency = a.currency
  FROM (SELECT) AS one LEFT JOIN pgcredit.account a ON a.customer = $1
  WHERE e.customer = $1
    AND (e.has_account, e.credit_limit, e.tolerance_pct, e.status, e.risk_tier, e.next_review,
         e.temporary_limit, e.temporary_from, e.temporary_until, e.currency)
        IS DISTINCT FROM (a.customer IS NOT NULL, a.credit_limit, coalesce(a.tolerance_pct, 0),
                          coalesce(a.status, 'ok'), a.risk_tier, a.next_review, a.temporary_limit,
                          a.temporary_from, a.temporary_until, a.currency)
$$;
COMMENT ON FUNCTION pgcredit._lock_exposure(text) IS
  'lock a customer''s exposure row and copy the account''s limit, tolerance, status, risk tier, review date, temporary limit and currency into it, so that the change serialises with the customer''s orders and the guard reads it under the row lock';
REVOKE EXECUTE ON FUNCTION pgcredit._lock_exposure(text) FROM PUBLIC;

CREATE FUNCTION pgcredit.verify_account_copy()
RETURNS TABLE (customer text, field text, on_account text, on_exposure text)
LANGUAGE sql STABLE
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
  -- what the guard judges by is the copy: a copy that differs from the
  -- account is a limit, status or currency not enforced as set
  SELECT e.customer, f.field, f.on_account, f.on_exposure
  FROM pgcredit.exposure e
  LEFT JOIN pgcredit.account a ON a.customer = e.customer
  CROSS JOIN LATERAL (VALUES
    ('has_account', (a.customer IS NOT NULL)::text, e.has_account::text,
     (a.customer IS NOT NULL) = e.has_account),
    ('credit_limit', a.credit_limit::text, e.credit_limit::text,
     a.credit_limit IS NOT DISTINCT FROM e.credit_limit),
    ('tolerance_pct', coalesce(a.tolerance_pct, 0)::text, e.tolerance_pct::text,
     coalesce(a.tolerance_pct, 0) = e.tolerance_pct),
    ('status', coalesce(a.status, 'ok'), e.status, coalesce(a.status, 'ok') = e.status),
    ('risk_tier', a.risk_tier, e.risk_tier, a.risk_tier IS NOT DISTINCT FROM e.risk_tier),
    ('next_review', a.next_review::text, e.next_review::text, a.next_review IS NOT DISTINCT FROM e.next_review),
    ('temporary_limit', a.temporary_limit::text, e.temporary_limit::text,
     a.temporary_limit IS NOT DISTINCT FROM e.temporary_limit),
    ('temporary_from', a.temporary_from::text, e.temporary_from::text,
     a.temporary_from IS NOT DISTINCT FROM e.temporary_from),
    ('temporary_until', a.temporary_until::text, e.temporary_until::text,
     a.temporary_until IS NOT DISTINCT FROM e.temporary_until),
    ('currency', a.currency, e.currency, a.currency IS NOT DISTINCT FROM e.currency))
    AS f(field, on_account, on_exposure, same)
  WHERE NOT f.same
  -- on the coordinator of a Citus cluster, the workers' too
  UNION ALL
  SELECT r.* FROM pgcredit._citus_verify('verify_account_copy') j
  CROSS JOIN LATERAL jsonb_to_record(j)
    AS r(customer text, field text, on_account text, on_exposure text)
  ORDER BY 1, 2
$$;
COMMENT ON FUNCTION pgcredit.verify_account_copy() IS
  'list the fields of the accounts whose copy on the exposure row, which the guard judges orders by, differs from the account (none when all is well); rebuild_exposure() repairs them';
REVOKE EXECUTE ON FUNCTION pgcredit.verify_account_copy() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgcredit.verify_account_copy() TO pgcredit_reader;

CREATE FUNCTION pgcredit._change_account(customer text, changes jsonb, action text, reason text)
RETURNS pgcredit.account LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
DECLARE
  before pgcredit.account;
  after pgcredit.account;
BEGIN
  PERFORM pgcredit._check_reason(reason);
  IF customer IS NULL THEN
    RAISE EXCEPTION 'customer must not be null' USING ERRCODE = 'null_value_not_allowed';
  END IF;
  SELECT * INTO before FROM pgcredit.account a WHERE a.customer = _change_account.customer FOR UPDATE;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'customer "%" has no credit account', customer USING ERRCODE = 'PC003',
      HINT = 'Open one with pgcredit.open_account().';
  END IF;
  UPDATE pgcredit.account a SET
    credit_limit = CASE WHEN changes ? 'credit_limit' THEN (changes ->> 'credit_limit')::numeric ELSE a.credit_limit END,
    tolerance_pct = CASE WHEN changes ? 'tolerance_pct' THEN (changes ->> 'tolerance_pct')::numeric ELSE a.tolerance_pct END,
    status = CASE WHEN changes ? 'status' THEN changes ->> 'status' ELSE a.status END,
    hold_reason = CASE WHEN changes ? 'hold_reason' THEN changes ->> 'hold_reason' ELSE a.hold_reason END,
    payment_terms_days = CASE WHEN changes ? 'payment_terms_days' THEN (changes ->> 'payment_terms_days')::int ELSE a.payment_terms_days END,
    risk_tier = CASE WHEN changes ? 'risk_tier' THEN changes ->> 'risk_tier' ELSE a.risk_tier END,
    next_review = CASE WHEN changes ? 'next_review' THEN (changes ->> 'next_review')::date ELSE a.next_review END,
    temporary_limit = CASE WHEN changes ? 'temporary_limit' THEN (changes ->> 'temporary_limit')::numeric ELSE a.temporary_limit END,
    temporary_from = CASE WHEN changes ? 'temporary_from' THEN (changes ->> 'temporary_from')::date ELSE a.temporary_from END,
    temporary_until = CASE WHEN changes ? 'temporary_until' THEN (changes ->> 'temporary_until')::date ELSE a.temporary_until END,
    updated_at = now()
  WHERE a.customer = _change_account.customer
  RETURNING * INTO after;
  PERFORM pgcredit._lock_exposure(customer);
  PERFORM pgcredit._audit(action, customer,
    (SELECT jsonb_object_agg(k, to_jsonb(before) -> k) FROM jsonb_object_keys(changes) AS k),
    (SELECT jsonb_object_agg(k, to_jsonb(after) -> k) FROM jsonb_object_keys(changes) AS k),
    reason);
  RETURN after;
END
$$;
COMMENT ON FUNCTION pgcredit._change_account(text, jsonb, text, text) IS
  'change the fields of an account named in "changes", locking it and its exposure, and audit the change';
REVOKE EXECUTE ON FUNCTION pgcredit._change_account(text, jsonb, text, text) FROM PUBLIC;


CREATE FUNCTION pgcredit.open_account(customer text, credit_limit numeric DEFAULT NULL,
                                      tolerance_pct numeric DEFAULT 0,
                                      payment_terms_days int DEFAULT NULL,
                                      risk_tier text DEFAULT NULL,
                                      next_review date DEFAULT NULL,
                                      reason text DEFAULT 'account opened')
RETURNS pgcredit.account LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
DECLARE
  created pgcredit.account;
BEGIN
  PERFORM pgcredit._check_reason(reason);
  IF octet_length(customer) > 1000 THEN
    RAISE EXCEPTION 'customer key of % bytes is too long for pgcredit', octet_length(customer)
      USING ERRCODE = 'program_limit_exceeded', DETAIL = 'pgcredit keeps customer keys of up to 1000 bytes.',
      HINT = 'Use a shorter key for the customer, such as a customer number.';
  END IF;
  IF customer IS NULL THEN
    RAISE EXCEPTION 'customer must not be null' USING ERRCODE = 'null_value_not_allowed';
  END IF;
  PERFORM pgcredit._check_amount('credit_limit', credit_limit);
  PERFORM pgcredit._check_amount('tolerance_pct', coalesce(tolerance_pct, 0));
  IF payment_terms_days < 0 THEN
    RAISE EXCEPTION 'payment_terms_days must not be negative' USING ERRCODE = 'invalid_parameter_value';
  END IF;
  INSERT INTO pgcredit.account AS a (customer, credit_limit, tolerance_pct, payment_terms_days, risk_tier, next_review)
  VALUES (open_account.customer, open_account.credit_limit, coalesce(open_account.tolerance_pct, 0),
          open_account.payment_terms_days, open_account.risk_tier, open_account.next_review)
  ON CONFLICT ON CONSTRAINT account_pkey DO NOTHING
  RETURNING * INTO created;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'customer "%" already has a credit account', customer USING ERRCODE = 'unique_violation',
      HINT = 'Change it with set_credit_limit(), set_tolerance(), update_account() or the hold functions.';
  END IF;
  -- opening with a limit raises it from none (0), like set_credit_limit;
  -- without one, the customer's orders go unchecked, which raises what no
  -- account allowed unless no_account_policy is allow (no limit anyway)
  PERFORM pgcredit._check_approval('limit', customer,
    CASE WHEN credit_limit IS NOT NULL THEN credit_limit
         WHEN coalesce((SELECT s.no_account_policy FROM pgcredit.settings s LIMIT 1), 'allow') = 'allow' THEN 0
    END);
  PERFORM pgcredit._lock_exposure(customer);
  PERFORM pgcredit._audit('open_account', customer, NULL, to_jsonb(created), reason);
  RETURN created;
END
$$;
COMMENT ON FUNCTION pgcredit.open_account(text, numeric, numeric, int, text, date, text) IS
  'open a credit account for a customer key (limit NULL = none set), audited';
REVOKE EXECUTE ON FUNCTION pgcredit.open_account(text, numeric, numeric, int, text, date, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgcredit.open_account(text, numeric, numeric, int, text, date, text) TO pgcredit_controller;

CREATE FUNCTION pgcredit.set_credit_limit(customer text, credit_limit numeric, reason text)
RETURNS pgcredit.account LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
DECLARE
  old_limit numeric;
BEGIN
  PERFORM pgcredit._check_amount('credit_limit', credit_limit);
  -- above the policy's threshold, a raise needs an approved request
  SELECT a.credit_limit INTO old_limit FROM pgcredit.account a
  WHERE a.customer = set_credit_limit.customer FOR UPDATE;
  IF FOUND THEN
    PERFORM pgcredit._check_approval('limit', customer,
      CASE WHEN credit_limit IS NULL AND old_limit IS NULL THEN 0 ELSE credit_limit - coalesce(old_limit, 0) END);
  END IF;
  RETURN pgcredit._change_account(customer, jsonb_build_object('credit_limit', credit_limit),
                                  'set_credit_limit', reason);
END
$$;
COMMENT ON FUNCTION pgcredit.set_credit_limit(text, numeric, text) IS
  'set a customer''s credit limit (NULL removes it), with a reason, audited';
REVOKE EXECUTE ON FUNCTION pgcredit.set_credit_limit(text, numeric, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgcredit.set_credit_limit(text, numeric, text) TO pgcredit_controller;

CREATE FUNCTION pgcredit.set_tolerance(customer text, tolerance_pct numeric, reason text)
RETURNS pgcredit.account LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
BEGIN
  IF tolerance_pct IS NULL THEN
    RAISE EXCEPTION 'tolerance_pct must not be null' USING ERRCODE = 'null_value_not_allowed',
      HINT = 'Use 0 for no tolerance.';
  END IF;
  PERFORM pgcredit._check_amount('tolerance_pct', tolerance_pct);
  -- a higher tolerance lets orders further over the limit: that much is
  -- a raise of the limit, judged by the same threshold
  PERFORM pgcredit._check_approval('limit', set_tolerance.customer,
    pg_catalog.trim_scale(greatest(a.credit_limit, a.temporary_limit) * (set_tolerance.tolerance_pct - a.tolerance_pct) / 100))
  FROM pgcredit.account a WHERE a.customer = set_tolerance.customer AND a.credit_limit IS NOT NULL
  FOR UPDATE;
  RETURN pgcredit._change_account(customer, jsonb_build_object('tolerance_pct', tolerance_pct),
                                  'set_tolerance', reason);
END
$$;
COMMENT ON FUNCTION pgcredit.set_tolerance(text, numeric, text) IS
  'set the percentage an order may go above the customer''s limit, audited';
REVOKE EXECUTE ON FUNCTION pgcredit.set_tolerance(text, numeric, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgcredit.set_tolerance(text, numeric, text) TO pgcredit_controller;

-- Temporary limits: a limit for a window of days that replaces the
-- permanent one and lapses by itself, with nothing to run when it ends.
CREATE FUNCTION pgcredit._effective_limit(credit_limit numeric, temporary_limit numeric,
                                          temporary_from date, temporary_until date, day date)
RETURNS numeric LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
  SELECT CASE WHEN $2 IS NOT NULL AND $5 <= $4 AND ($3 IS NULL OR $5 >= $3) THEN $2 ELSE $1 END
$$;
COMMENT ON FUNCTION pgcredit._effective_limit(numeric, numeric, date, date, date) IS
  'the limit in force on a day: the temporary limit within its window, else the permanent one';
REVOKE EXECUTE ON FUNCTION pgcredit._effective_limit(numeric, numeric, date, date, date) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgcredit._effective_limit(numeric, numeric, date, date, date) TO pgcredit_reader;

CREATE FUNCTION pgcredit.set_temporary_limit(customer text, credit_limit numeric, valid_until date,
                                             reason text, valid_from date DEFAULT NULL)
RETURNS pgcredit.account LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
BEGIN
  IF credit_limit IS NULL THEN
    RAISE EXCEPTION 'credit_limit must not be null' USING ERRCODE = 'null_value_not_allowed',
      HINT = 'Remove a temporary limit with pgcredit.clear_temporary_limit().';
  END IF;
  PERFORM pgcredit._check_amount('credit_limit', credit_limit);
  IF valid_until IS NULL OR NOT isfinite(valid_until) THEN
    RAISE EXCEPTION 'valid_until must be a finite date' USING ERRCODE = 'invalid_parameter_value',
      DETAIL = 'A temporary limit lapses by itself on a day that must be given.';
  END IF;
  IF valid_from IS NOT NULL AND NOT isfinite(valid_from) THEN
    RAISE EXCEPTION 'valid_from must be a finite date' USING ERRCODE = 'invalid_parameter_value';
  END IF;
  IF valid_until < coalesce(valid_from, current_date) THEN
    RAISE EXCEPTION 'temporary limit would end before it starts' USING ERRCODE = 'invalid_parameter_value',
      DETAIL = format('It would run from %s to %s.', coalesce(valid_from, current_date), valid_until);
  END IF;
  -- above the policy's threshold, a limit over the permanent one needs an
  -- approved request
  PERFORM pgcredit._check_approval('limit', set_temporary_limit.customer, set_temporary_limit.credit_limit - coalesce(a.credit_limit, 0))
  FROM pgcredit.account a WHERE a.customer = set_temporary_limit.customer FOR UPDATE;
  RETURN pgcredit._change_account(customer,
    jsonb_build_object('temporary_limit', credit_limit, 'temporary_from', valid_from,
                       'temporary_until', valid_until),
    'set_temporary_limit', reason);
END
$$;
COMMENT ON FUNCTION pgcredit.set_temporary_limit(text, numeric, date, text, date) IS
  'give a customer a limit that replaces its credit limit from valid_from (NULL = now) to valid_until, both included, and lapses by itself; replaces an earlier temporary limit; audited';
REVOKE EXECUTE ON FUNCTION pgcredit.set_temporary_limit(text, numeric, date, text, date) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgcredit.set_temporary_limit(text, numeric, date, text, date) TO pgcredit_controller;

CREATE FUNCTION pgcredit.clear_temporary_limit(customer text, reason text)
RETURNS pgcredit.account LANGUAGE sql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
  SELECT pgcredit._change_account($1,
    jsonb_build_object('temporary_limit', NULL, 'temporary_from', NULL, 'temporary_until', NULL),
    'clear_temporary_limit', $2)
$$;
COMMENT ON FUNCTION pgcredit.clear_temporary_limit(text, text) IS
  'remove a customer''s temporary limit before it lapses, audited';
REVOKE EXECUTE ON FUNCTION pgcredit.clear_temporary_limit(text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgcredit.clear_temporary_limit(text, text) TO pgcredit_controller;

CREATE FUNCTION pgcredit.set_status(customer text, status text, reason text)
RETURNS pgcredit.account LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
BEGIN
  IF status IS NULL OR status NOT IN ('ok', 'watch', 'hold', 'blocked') THEN
    RAISE EXCEPTION 'invalid account status "%"', status USING ERRCODE = 'invalid_parameter_value',
      HINT = 'The status is one of ok, watch, hold and blocked.';
  END IF;
  -- above the policy's threshold, leaving blocked needs an approved request
  IF status <> 'blocked' AND EXISTS (SELECT FROM pgcredit.account a WHERE a.customer = set_status.customer
                                     AND a.status = 'blocked' FOR UPDATE) THEN
    PERFORM pgcredit._check_approval('unblock', customer,
      pgcredit._exposure_now(set_status.customer));
  END IF;
  RETURN pgcredit._change_account(customer,
    jsonb_build_object('status', status,
                       'hold_reason', CASE WHEN status IN ('hold', 'blocked') THEN reason END),
    'set_status', reason);
END
$$;
COMMENT ON FUNCTION pgcredit.set_status(text, text, text) IS
  'set an account''s status: ok, watch, hold or blocked (hold and blocked refuse orders), audited';
REVOKE EXECUTE ON FUNCTION pgcredit.set_status(text, text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgcredit.set_status(text, text, text) TO pgcredit_controller;

CREATE FUNCTION pgcredit.place_hold(customer text, reason text)
RETURNS pgcredit.account LANGUAGE sql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$ SELECT pgcredit.set_status($1, 'hold', $2) $$;
COMMENT ON FUNCTION pgcredit.place_hold(text, text) IS
  'put a customer''s account on credit hold: orders raising its exposure are refused or held, audited';
REVOKE EXECUTE ON FUNCTION pgcredit.place_hold(text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgcredit.place_hold(text, text) TO pgcredit_controller;

CREATE FUNCTION pgcredit.block_account(customer text, reason text)
RETURNS pgcredit.account LANGUAGE sql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$ SELECT pgcredit.set_status($1, 'blocked', $2) $$;
COMMENT ON FUNCTION pgcredit.block_account(text, text) IS
  'block a customer''s account: orders raising its exposure are refused or held, audited';
REVOKE EXECUTE ON FUNCTION pgcredit.block_account(text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgcredit.block_account(text, text) TO pgcredit_controller;

CREATE FUNCTION pgcredit.release_hold(customer text, reason text)
RETURNS pgcredit.account LANGUAGE sql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$ SELECT pgcredit.set_status($1, 'ok', $2) $$;
COMMENT ON FUNCTION pgcredit.release_hold(text, text) IS
  'take a customer''s account off hold or block (status ok), audited';
REVOKE EXECUTE ON FUNCTION pgcredit.release_hold(text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgcredit.release_hold(text, text) TO pgcredit_controller;

CREATE FUNCTION pgcredit.update_account(customer text, reason text,
                                        payment_terms_days int DEFAULT NULL,
                                        risk_tier text DEFAULT NULL,
                                        next_review date DEFAULT NULL)
RETURNS pgcredit.account LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
DECLARE
  changes jsonb := jsonb_strip_nulls(jsonb_build_object('payment_terms_days', payment_terms_days,
                                                        'risk_tier', risk_tier,
                                                        'next_review', next_review));
BEGIN
  IF payment_terms_days < 0 THEN
    RAISE EXCEPTION 'payment_terms_days must not be negative' USING ERRCODE = 'invalid_parameter_value';
  END IF;
  IF changes = '{}' THEN
    RAISE EXCEPTION 'nothing to change' USING ERRCODE = 'invalid_parameter_value',
      HINT = 'Give payment_terms_days, risk_tier or next_review.';
  END IF;
  RETURN pgcredit._change_account(customer, changes, 'update_account', reason);
END
$$;
COMMENT ON FUNCTION pgcredit.update_account(text, text, int, text, date) IS
  'change an account''s payment terms, risk tier or next review date (the ones given), audited';
REVOKE EXECUTE ON FUNCTION pgcredit.update_account(text, text, int, text, date) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgcredit.update_account(text, text, int, text, date) TO pgcredit_controller;

-- Risk: what each tier means for an account, and the limits it recommends

CREATE TABLE pgcredit.tier_policy (
  tier                  text PRIMARY KEY CHECK (tier IN ('A', 'B', 'C', 'D', 'E')),
  payment_terms_days    int NOT NULL CHECK (payment_terms_days >= 0),
  -- numeric NaN passes >= 0 (it sorts above every number): the checks
  -- bound the values below 'Infinity' too
  tolerance_pct         numeric NOT NULL CHECK (tolerance_pct >= 0 AND tolerance_pct < 'Infinity'),
  review_interval_days  int NOT NULL CHECK (review_interval_days > 0),
  limit_months          numeric NOT NULL CHECK (limit_months >= 0 AND limit_months < 'Infinity')
);
COMMENT ON TABLE pgcredit.tier_policy IS 'what each risk tier means for the account: default payment terms, tolerance, review interval, and months of sales a recommended limit covers';
COMMENT ON COLUMN pgcredit.tier_policy.tier IS 'A (best) to E (worst)';
COMMENT ON COLUMN pgcredit.tier_policy.payment_terms_days IS 'default payment terms';
COMMENT ON COLUMN pgcredit.tier_policy.tolerance_pct IS 'default tolerance over the limit';
COMMENT ON COLUMN pgcredit.tier_policy.review_interval_days IS 'days between reviews of the account';
COMMENT ON COLUMN pgcredit.tier_policy.limit_months IS 'recommend_limit: the limit covers this many months of the customer''s average monthly invoicing';
REVOKE ALL ON pgcredit.tier_policy FROM PUBLIC;
GRANT SELECT ON pgcredit.tier_policy TO pgcredit_reader;
GRANT INSERT, UPDATE, DELETE ON pgcredit.tier_policy TO pgcredit_admin;
SELECT pg_catalog.pg_extension_config_dump('pgcredit.tier_policy', '');
INSERT INTO pgcredit.tier_policy VALUES
  ('A', 60, 10, 365, 3), ('B', 45, 5, 180, 2), ('C', 30, 0, 120, 1.5),
  ('D', 14, 0, 90, 1), ('E', 0, 0, 30, 0);

-- A row inserted for a tier that has one replaces it: so a restore from
-- pg_dump (which copies the dumped rows in after CREATE EXTENSION made the
-- defaults) keeps the policy as it was, and INSERT works as an upsert.
CREATE FUNCTION pgcredit._tier_policy_replace()
RETURNS trigger LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
BEGIN
  UPDATE pgcredit.tier_policy p
  SET payment_terms_days = NEW.payment_terms_days, tolerance_pct = NEW.tolerance_pct,
      review_interval_days = NEW.review_interval_days, limit_months = NEW.limit_months
  WHERE p.tier = NEW.tier;
  IF FOUND THEN
    RETURN NULL;
  END IF;
  RETURN NEW;
END
$$;
COMMENT ON FUNCTION pgcredit._tier_policy_replace() IS
  'BEFORE INSERT on tier_policy: a row for a tier already there replaces it (restores and upserts)';
CREATE TRIGGER tier_policy_replace BEFORE INSERT ON pgcredit.tier_policy
  FOR EACH ROW EXECUTE FUNCTION pgcredit._tier_policy_replace();
REVOKE EXECUTE ON FUNCTION pgcredit._tier_policy_replace() FROM PUBLIC;


CREATE TYPE pgcredit.limit_recommendation AS (
  customer           text,
  current_limit      numeric,
  recommended_limit  numeric,
  tier               text,
  reasons            text[]
);
COMMENT ON TYPE pgcredit.limit_recommendation IS 'result of recommend_limit()';
COMMENT ON COLUMN pgcredit.limit_recommendation.customer IS 'customer key';
COMMENT ON COLUMN pgcredit.limit_recommendation.current_limit IS 'the account''s limit now, NULL without one';
COMMENT ON COLUMN pgcredit.limit_recommendation.recommended_limit IS 'the limit proposed, rounded up to 100';
COMMENT ON COLUMN pgcredit.limit_recommendation.tier IS 'the tier it is based on';
COMMENT ON COLUMN pgcredit.limit_recommendation.reasons IS 'each step of the reckoning, in words';
-- USAGE: PUBLIC (the default for a type); recommend_limit() decides who
-- gets one.

CREATE FUNCTION pgcredit.recommend_limit(customer text, as_of date DEFAULT pgcredit.as_of())
RETURNS pgcredit.limit_recommendation
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
DECLARE
  a pgcredit.account;
  h pgcredit.score_history;
  s record;
  p pgcredit.tier_policy;
  monthly numeric;
  base numeric;
  why text[] := '{}';
  t text;
BEGIN
  IF recommend_limit.customer IS NULL THEN
    RAISE EXCEPTION 'customer must not be null' USING ERRCODE = 'null_value_not_allowed';
  END IF;
  SELECT * INTO a FROM pgcredit.account x WHERE x.customer = recommend_limit.customer;
  SELECT * INTO h FROM pgcredit.score_history x WHERE x.customer = recommend_limit.customer
    AND x.as_of <= recommend_limit.as_of ORDER BY x.as_of DESC LIMIT 1;
  SELECT * INTO s FROM pgcredit.receivable_stats(recommend_limit.as_of) x WHERE x.customer = recommend_limit.customer;
  IF a.customer IS NULL AND h.customer IS NULL AND s.customer IS NULL
     AND NOT EXISTS (SELECT FROM pgcredit.exposure x WHERE x.customer = recommend_limit.customer) THEN
    RAISE EXCEPTION 'customer "%" is unknown to pgcredit', recommend_limit.customer USING ERRCODE = 'PC003',
      DETAIL = 'It has no account, no exposure history and no receivables.';
  END IF;
  t := coalesce(h.tier, a.risk_tier, 'C');
  IF h.tier IS NULL THEN
    why := why || format('no score yet: tier %s assumed', t);
  ELSE
    why := why || format('tier %s (combined score %s on %s)', h.tier, h.combined_score, to_char(h.as_of, 'YYYY-MM-DD'));
  END IF;
  SELECT * INTO p FROM pgcredit.tier_policy x WHERE x.tier = t;
  monthly := round(coalesce(s.invoiced_12m, 0) / 12, 2);
  why := why || format('invoiced %s in the last 12 months, %s a month', coalesce(s.invoiced_12m, 0), monthly);
  base := round(monthly * p.limit_months, 2);
  why := why || format('tier %s covers %s months of invoicing: %s', t, p.limit_months, base);
  IF s.behavioural_score IS NOT NULL AND s.behavioural_score < 50 AND base > 0 THEN
    base := base / 2;
    why := why || format('payment behaviour score %s is below 50: halved', s.behavioural_score);
  END IF;
  IF coalesce(s.oldest_days_past_due, 0) > 90 THEN
    base := 0;
    why := why || format('an item is %s days past due: no credit until it is paid', s.oldest_days_past_due);
  END IF;
  base := ceil(base / 100) * 100;
  why := why || format('rounded up to the next 100: %s', base);
  RETURN ROW(recommend_limit.customer, a.credit_limit, base, t, why)::pgcredit.limit_recommendation;
END
$$;
COMMENT ON FUNCTION pgcredit.recommend_limit(text, date) IS
  'propose a credit limit for a customer from its tier (tier_policy.limit_months of average monthly invoicing), payment behaviour and overdue items, with the reasons';
REVOKE EXECUTE ON FUNCTION pgcredit.recommend_limit(text, date) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgcredit.recommend_limit(text, date) TO pgcredit_reader;

CREATE FUNCTION pgcredit.apply_tier_policy(customer text, reason text)
RETURNS pgcredit.account LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
DECLARE
  t text;
  p pgcredit.tier_policy;
  a pgcredit.account;
BEGIN
  PERFORM pgcredit._check_reason(reason);
  SELECT h.tier INTO t FROM pgcredit.score_history h WHERE h.customer = apply_tier_policy.customer
    AND h.as_of <= pgcredit.as_of()
  ORDER BY h.as_of DESC LIMIT 1;
  IF t IS NULL THEN
    RAISE EXCEPTION 'customer "%" has no tier yet', customer USING ERRCODE = 'object_not_in_prerequisite_state',
      HINT = 'Run pgcredit.refresh_scores() first.';
  END IF;
  SELECT * INTO p FROM pgcredit.tier_policy x WHERE x.tier = t;
  PERFORM pgcredit.set_tolerance(customer, p.tolerance_pct, reason);
  a := pgcredit.update_account(customer, reason, p.payment_terms_days, t,
                               pgcredit.as_of() + p.review_interval_days);
  RETURN a;
END
$$;
COMMENT ON FUNCTION pgcredit.apply_tier_policy(text, text) IS
  'set a customer''s tolerance, payment terms, risk tier and next review from its latest tier and tier_policy, through the audited account functions';
REVOKE EXECUTE ON FUNCTION pgcredit.apply_tier_policy(text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgcredit.apply_tier_policy(text, text) TO pgcredit_controller;

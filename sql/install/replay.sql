-- Foresight: replay a candidate credit policy on the stored history (doc/foresight.md)

----------------------------------------------------------------------
-- A draft policy is a named copy of the live one: accounts (limit,
-- tolerance, temporary limit, tier), rules and the tier table, plus what
-- customers without an account get.  Drafts are a credit controller's
-- sandbox: nothing live reads them, so they are edited with plain
-- INSERT, UPDATE and DELETE.  replay_policy() walks the stored orders and
-- invoices of a period under the draft and under the live policy, side
-- by side, and writes nothing.
----------------------------------------------------------------------

CREATE TABLE pgcredit.policy_draft (
  name                  text PRIMARY KEY CONSTRAINT draft_name CHECK (name ~ '\S' AND octet_length(name) <= 200),
  note                  text,
  no_account_policy     text NOT NULL DEFAULT 'allow'
                        CHECK (no_account_policy IN ('allow', 'deny', 'default_limit')),
  default_limit         numeric CHECK (default_limit >= 0 AND default_limit < 'Infinity'),
  default_tolerance_pct numeric NOT NULL DEFAULT 0
                        CHECK (default_tolerance_pct >= 0 AND default_tolerance_pct < 'Infinity'),
  created_at            timestamptz NOT NULL DEFAULT pg_catalog.now(),
  created_by            name NOT NULL DEFAULT session_user,
  CHECK (no_account_policy <> 'default_limit' OR default_limit IS NOT NULL)
);
COMMENT ON TABLE pgcredit.policy_draft IS 'candidate credit policies for replay_policy(), made by create_policy_draft() from the live one; nothing live reads them';
COMMENT ON COLUMN pgcredit.policy_draft.name IS 'the draft''s name';
COMMENT ON COLUMN pgcredit.policy_draft.note IS 'what the draft tries, for the people who compare it';
COMMENT ON COLUMN pgcredit.policy_draft.no_account_policy IS 'orders of customers without an account in the draft: allow, deny, or default_limit (as settings.no_account_policy)';
COMMENT ON COLUMN pgcredit.policy_draft.default_limit IS 'limit for customers without an account under default_limit';
COMMENT ON COLUMN pgcredit.policy_draft.default_tolerance_pct IS 'its tolerance';
COMMENT ON COLUMN pgcredit.policy_draft.created_at IS 'when the draft was made';
COMMENT ON COLUMN pgcredit.policy_draft.created_by IS 'the session user who made it';
REVOKE ALL ON pgcredit.policy_draft FROM PUBLIC;
GRANT SELECT ON pgcredit.policy_draft TO pgcredit_reader;
GRANT UPDATE (note, no_account_policy, default_limit, default_tolerance_pct) ON pgcredit.policy_draft TO pgcredit_controller;
SELECT pg_catalog.pg_extension_config_dump('pgcredit.policy_draft', '');

CREATE TABLE pgcredit.policy_draft_limit (
  draft            text NOT NULL REFERENCES pgcredit.policy_draft ON DELETE CASCADE ON UPDATE CASCADE,
  customer         text NOT NULL CONSTRAINT customer_key_length CHECK (octet_length(customer) <= 1000),
  credit_limit     numeric CHECK (credit_limit >= 0 AND credit_limit < 'Infinity'),
  tolerance_pct    numeric NOT NULL DEFAULT 0 CHECK (tolerance_pct >= 0 AND tolerance_pct < 'Infinity'),
  temporary_limit  numeric CHECK (temporary_limit >= 0 AND temporary_limit < 'Infinity'),
  temporary_from   date,
  temporary_until  date,
  risk_tier        text CHECK (risk_tier IN ('A', 'B', 'C', 'D', 'E')),
  PRIMARY KEY (draft, customer),
  CONSTRAINT temporary_limit_window CHECK (
    (temporary_limit IS NULL) = (temporary_until IS NULL)
    AND (temporary_limit IS NOT NULL OR temporary_from IS NULL)
    AND temporary_from > '-infinity' AND temporary_until < 'infinity'
    AND temporary_from <= temporary_until)
);
COMMENT ON TABLE pgcredit.policy_draft_limit IS 'the accounts of a draft policy: a customer with a row has an account in the draft (as pgcredit.account), one without has none';
COMMENT ON COLUMN pgcredit.policy_draft_limit.draft IS 'the draft';
COMMENT ON COLUMN pgcredit.policy_draft_limit.customer IS 'customer key';
COMMENT ON COLUMN pgcredit.policy_draft_limit.credit_limit IS 'credit limit in the draft; NULL = none';
COMMENT ON COLUMN pgcredit.policy_draft_limit.tolerance_pct IS 'percentage of the limit an order may go above it';
COMMENT ON COLUMN pgcredit.policy_draft_limit.temporary_limit IS 'a limit that replaces credit_limit from temporary_from to temporary_until';
COMMENT ON COLUMN pgcredit.policy_draft_limit.temporary_from IS 'first day of the temporary limit; NULL = from any day';
COMMENT ON COLUMN pgcredit.policy_draft_limit.temporary_until IS 'last day of the temporary limit';
COMMENT ON COLUMN pgcredit.policy_draft_limit.risk_tier IS 'the customer''s tier in the draft, for the rules of tier scope and draft_limits_from_tiers()';
REVOKE ALL ON pgcredit.policy_draft_limit FROM PUBLIC;
GRANT SELECT ON pgcredit.policy_draft_limit TO pgcredit_reader;
GRANT INSERT, UPDATE, DELETE ON pgcredit.policy_draft_limit TO pgcredit_controller;
SELECT pg_catalog.pg_extension_config_dump('pgcredit.policy_draft_limit', '');

CREATE TABLE pgcredit.policy_draft_rule (
  draft          text NOT NULL REFERENCES pgcredit.policy_draft ON DELETE CASCADE ON UPDATE CASCADE,
  id             bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
  live_rule_id   bigint,
  name           text,
  kind           text NOT NULL
                 CHECK (kind IN ('credit_limit', 'account_status', 'days_past_due', 'overdue_amount',
                                 'largest_order', 'utilisation', 'limit_expired')),
  scope          text NOT NULL DEFAULT 'everyone' CHECK (scope IN ('everyone', 'tier', 'customer')),
  scope_value    text,
  action         text NOT NULL CHECK (action IN ('refuse', 'hold', 'shadow', 'exempt')),
  days           int CHECK (days >= 0),
  amount         numeric CHECK (amount >= 0 AND amount < 'Infinity'),
  share          numeric CHECK (share > 0 AND share < 'Infinity'),
  multiple       numeric CHECK (multiple > 0 AND multiple < 'Infinity'),
  min_orders     int CHECK (min_orders >= 1),
  statuses       text[] CHECK (statuses <@ ARRAY['ok', 'watch', 'hold', 'blocked']),
  valid_from     date CHECK (valid_from > '-infinity'),
  valid_until    date CHECK (valid_until < 'infinity'),
  exclusions     text[] NOT NULL DEFAULT '{}' CHECK (array_position(exclusions, NULL) IS NULL),
  note           text,
  CONSTRAINT scope_value_given CHECK ((scope = 'everyone') = (scope_value IS NULL)),
  CONSTRAINT valid_window CHECK (valid_from <= valid_until),
  -- what the guard needs of each kind to judge by it (as add_rule() checks)
  CONSTRAINT rule_parameters CHECK (CASE kind
    WHEN 'days_past_due' THEN days IS NOT NULL
    WHEN 'overdue_amount' THEN amount IS NOT NULL OR share IS NOT NULL
    WHEN 'largest_order' THEN amount IS NOT NULL OR multiple IS NOT NULL
    WHEN 'utilisation' THEN share IS NOT NULL
    WHEN 'account_status' THEN statuses IS NOT NULL
    ELSE true END)
);
CREATE INDEX policy_draft_rule_draft ON pgcredit.policy_draft_rule (draft);
COMMENT ON INDEX pgcredit.policy_draft_rule_draft IS 'the rules of a draft';
COMMENT ON TABLE pgcredit.policy_draft_rule IS 'the rules of a draft policy, as pgcredit.credit_rule holds the live ones (the same kinds, scopes, actions and parameters)';
COMMENT ON COLUMN pgcredit.policy_draft_rule.draft IS 'the draft';
COMMENT ON COLUMN pgcredit.policy_draft_rule.id IS 'rule number among the drafts'' rules';
COMMENT ON COLUMN pgcredit.policy_draft_rule.live_rule_id IS 'the live rule (credit_rule.id) it was copied from; NULL for a rule added to the draft';
COMMENT ON COLUMN pgcredit.policy_draft_rule.name IS 'an optional name';
COMMENT ON COLUMN pgcredit.policy_draft_rule.kind IS 'as credit_rule.kind; replay_policy() judges credit_limit, days_past_due, overdue_amount, largest_order and utilisation (account_status and limit_expired judge today''s account, not history)';
COMMENT ON COLUMN pgcredit.policy_draft_rule.scope IS 'everyone, tier or customer';
COMMENT ON COLUMN pgcredit.policy_draft_rule.scope_value IS 'the tier or customer; NULL for everyone';
COMMENT ON COLUMN pgcredit.policy_draft_rule.action IS 'refuse, hold, shadow (ignored by the replay) or exempt';
COMMENT ON COLUMN pgcredit.policy_draft_rule.days IS 'as credit_rule.days';
COMMENT ON COLUMN pgcredit.policy_draft_rule.amount IS 'as credit_rule.amount';
COMMENT ON COLUMN pgcredit.policy_draft_rule.share IS 'as credit_rule.share';
COMMENT ON COLUMN pgcredit.policy_draft_rule.multiple IS 'as credit_rule.multiple';
COMMENT ON COLUMN pgcredit.policy_draft_rule.min_orders IS 'as credit_rule.min_orders (default 5)';
COMMENT ON COLUMN pgcredit.policy_draft_rule.statuses IS 'as credit_rule.statuses';
COMMENT ON COLUMN pgcredit.policy_draft_rule.valid_from IS 'first day the rule is in force; NULL = always';
COMMENT ON COLUMN pgcredit.policy_draft_rule.valid_until IS 'last day the rule is in force; NULL = no end';
COMMENT ON COLUMN pgcredit.policy_draft_rule.exclusions IS 'customer keys the rule does not apply to';
COMMENT ON COLUMN pgcredit.policy_draft_rule.note IS 'why the rule is in the draft';
COMMENT ON SEQUENCE pgcredit.policy_draft_rule_id_seq IS 'numbers of draft rules (policy_draft_rule.id)';
REVOKE ALL ON pgcredit.policy_draft_rule FROM PUBLIC;
GRANT SELECT ON pgcredit.policy_draft_rule TO pgcredit_reader;
GRANT INSERT, UPDATE, DELETE ON pgcredit.policy_draft_rule TO pgcredit_controller;
SELECT pg_catalog.pg_extension_config_dump('pgcredit.policy_draft_rule', '');
SELECT pg_catalog.pg_extension_config_dump('pgcredit.policy_draft_rule_id_seq', '');

CREATE TABLE pgcredit.policy_draft_tier (
  draft                 text NOT NULL REFERENCES pgcredit.policy_draft ON DELETE CASCADE ON UPDATE CASCADE,
  tier                  text NOT NULL CHECK (tier IN ('A', 'B', 'C', 'D', 'E')),
  payment_terms_days    int NOT NULL CHECK (payment_terms_days >= 0),
  tolerance_pct         numeric NOT NULL CHECK (tolerance_pct >= 0 AND tolerance_pct < 'Infinity'),
  review_interval_days  int NOT NULL CHECK (review_interval_days > 0),
  limit_months          numeric NOT NULL CHECK (limit_months >= 0 AND limit_months < 'Infinity'),
  PRIMARY KEY (draft, tier)
);
COMMENT ON TABLE pgcredit.policy_draft_tier IS 'the tier table of a draft policy, as pgcredit.tier_policy; draft_limits_from_tiers() sets the draft''s limits from it';
COMMENT ON COLUMN pgcredit.policy_draft_tier.draft IS 'the draft';
COMMENT ON COLUMN pgcredit.policy_draft_tier.tier IS 'risk tier';
COMMENT ON COLUMN pgcredit.policy_draft_tier.payment_terms_days IS 'as tier_policy.payment_terms_days';
COMMENT ON COLUMN pgcredit.policy_draft_tier.tolerance_pct IS 'the tolerance draft_limits_from_tiers() gives the tier''s customers';
COMMENT ON COLUMN pgcredit.policy_draft_tier.review_interval_days IS 'as tier_policy.review_interval_days';
COMMENT ON COLUMN pgcredit.policy_draft_tier.limit_months IS 'draft_limits_from_tiers(): the limit covers this many months of the customer''s average monthly invoicing';
REVOKE ALL ON pgcredit.policy_draft_tier FROM PUBLIC;
GRANT SELECT ON pgcredit.policy_draft_tier TO pgcredit_reader;
GRANT INSERT, UPDATE, DELETE ON pgcredit.policy_draft_tier TO pgcredit_controller;
SELECT pg_catalog.pg_extension_config_dump('pgcredit.policy_draft_tier', '');

CREATE FUNCTION pgcredit._check_draft_name(name text)
RETURNS void LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
BEGIN
  IF name IS NULL THEN
    RAISE EXCEPTION 'draft name must not be null' USING ERRCODE = 'null_value_not_allowed';
  END IF;
END
$$;
COMMENT ON FUNCTION pgcredit._check_draft_name(text) IS 'refuse a NULL draft name';
REVOKE EXECUTE ON FUNCTION pgcredit._check_draft_name(text) FROM PUBLIC;

-- The draft's row, or PC031 when there is no draft of that name
CREATE FUNCTION pgcredit._draft(name text)
RETURNS pgcredit.policy_draft LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
DECLARE
  d pgcredit.policy_draft;
BEGIN
  PERFORM pgcredit._check_draft_name(name);
  SELECT * INTO d FROM pgcredit.policy_draft x WHERE x.name = _draft.name;
  IF d.name IS NULL THEN
    RAISE EXCEPTION 'policy draft "%" does not exist', name USING ERRCODE = 'PC031',
      HINT = 'Make one with pgcredit.create_policy_draft(); pgcredit.policy_draft lists them.';
  END IF;
  RETURN d;
END
$$;
COMMENT ON FUNCTION pgcredit._draft(text) IS 'a draft policy by name; PC031 when there is none';
REVOKE EXECUTE ON FUNCTION pgcredit._draft(text) FROM PUBLIC;

CREATE FUNCTION pgcredit.create_policy_draft(name text, note text DEFAULT NULL)
RETURNS pgcredit.policy_draft LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
DECLARE
  d pgcredit.policy_draft;
  s pgcredit.settings;
BEGIN
  PERFORM pgcredit._check_draft_name(name);
  SELECT * INTO s FROM pgcredit.settings;
  BEGIN
    INSERT INTO pgcredit.policy_draft AS x (name, note, no_account_policy, default_limit, default_tolerance_pct)
    VALUES (create_policy_draft.name, create_policy_draft.note, coalesce(s.no_account_policy, 'allow'),
            s.default_limit, coalesce(s.default_tolerance_pct, 0))
    RETURNING * INTO d;
  EXCEPTION WHEN unique_violation THEN
    RAISE EXCEPTION 'policy draft "%" exists already', name USING ERRCODE = 'duplicate_object',
      HINT = 'Drop it with pgcredit.drop_policy_draft() or choose another name.';
  WHEN check_violation THEN
    RAISE EXCEPTION 'invalid policy draft name "%"', name USING ERRCODE = 'invalid_parameter_value',
      DETAIL = 'A draft name has a character other than white space and at most 200 bytes.';
  END;
  INSERT INTO pgcredit.policy_draft_limit (draft, customer, credit_limit, tolerance_pct, temporary_limit,
                                           temporary_from, temporary_until, risk_tier)
  SELECT d.name, a.customer, a.credit_limit, a.tolerance_pct, a.temporary_limit, a.temporary_from,
         a.temporary_until, CASE WHEN a.risk_tier IN ('A', 'B', 'C', 'D', 'E') THEN a.risk_tier END
  FROM pgcredit.account a;
  INSERT INTO pgcredit.policy_draft_rule (draft, live_rule_id, name, kind, scope, scope_value, action, days, amount,
                                          share, multiple, min_orders, statuses, valid_from, valid_until,
                                          exclusions, note)
  SELECT d.name, r.id, r.name, r.kind, r.scope, r.scope_value, r.action, r.days, r.amount, r.share,
         r.multiple, r.min_orders, r.statuses, r.valid_from, r.valid_until, r.exclusions, r.note
  FROM pgcredit.credit_rule r
  WHERE r.scope <> 'group'
  ORDER BY r.id;
  INSERT INTO pgcredit.policy_draft_tier
  SELECT d.name, t.tier, t.payment_terms_days, t.tolerance_pct, t.review_interval_days, t.limit_months
  FROM pgcredit.tier_policy t;
  RETURN d;
END
$$;
COMMENT ON FUNCTION pgcredit.create_policy_draft(text, text) IS
  'make a draft policy named name, a copy of the live one (accounts'' limits, tolerances, temporary limits and tiers; the rules; the tier table; the policy for customers without an account), to change and replay with replay_policy()';
REVOKE EXECUTE ON FUNCTION pgcredit.create_policy_draft(text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgcredit.create_policy_draft(text, text) TO pgcredit_controller;

CREATE FUNCTION pgcredit.drop_policy_draft(name text)
RETURNS void LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
BEGIN
  PERFORM pgcredit._draft(name);
  DELETE FROM pgcredit.policy_draft x WHERE x.name = drop_policy_draft.name;
END
$$;
COMMENT ON FUNCTION pgcredit.drop_policy_draft(text) IS 'drop a draft policy with its accounts, rules and tiers';
REVOKE EXECUTE ON FUNCTION pgcredit.drop_policy_draft(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgcredit.drop_policy_draft(text) TO pgcredit_controller;

-- The draft's limits from its tier table, as recommend_limit() reckons
-- them from the live one: limit_months of the average monthly invoicing
-- of the twelve months before as_of, rounded up to 100, with the tier's
-- tolerance; for every customer with a tier in the draft.
CREATE FUNCTION pgcredit.draft_limits_from_tiers(draft text, as_of date)
RETURNS bigint LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
DECLARE
  n bigint;
BEGIN
  PERFORM pgcredit._draft(draft);
  PERFORM pgcredit._check_day(as_of);
  UPDATE pgcredit.policy_draft_limit l
  SET credit_limit = ceil(round(round(coalesce(
        (SELECT sum(coalesce(i.invoice_amount, i.amount))
         FROM pgcredit._attached_items('receivables', l.customer) i
         WHERE i.invoiced_on <= as_of AND i.invoiced_on > as_of - 365), 0) / 12, 2)
        * t.limit_months, 2) / 100) * 100,
      tolerance_pct = t.tolerance_pct
  FROM pgcredit.policy_draft_tier t
  WHERE l.draft = draft_limits_from_tiers.draft AND t.draft = l.draft AND t.tier = l.risk_tier;
  GET DIAGNOSTICS n = ROW_COUNT;
  RETURN n;
END
$$;
COMMENT ON FUNCTION pgcredit.draft_limits_from_tiers(text, date) IS
  'set the limit and tolerance of every customer with a tier in the draft from the draft''s tier table: limit_months of its average monthly invoicing over the year before as_of, rounded up to 100; returns how many accounts changed';
REVOKE EXECUTE ON FUNCTION pgcredit.draft_limits_from_tiers(text, date) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgcredit.draft_limits_from_tiers(text, date) TO pgcredit_controller;

-- What the walk reads of the two policies: policy 0 is the live one, 1
-- the draft (shadow rules judge nothing; group rules are reserved)
CREATE FUNCTION pgcredit._replay_rules(draft text)
RETURNS TABLE (policy integer, kind text, scope text, scope_value text, action text, days integer,
               amount numeric, share numeric, multiple numeric, min_orders integer,
               valid_from date, valid_until date, exclusions text[])
LANGUAGE sql STABLE
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
  SELECT 0, r.kind, r.scope, r.scope_value, r.action, r.days, r.amount, r.share, r.multiple,
         r.min_orders, r.valid_from, r.valid_until, r.exclusions
  FROM pgcredit.credit_rule r WHERE r.action <> 'shadow' AND r.scope <> 'group'
  UNION ALL
  SELECT 1, r.kind, r.scope, r.scope_value, r.action, r.days, r.amount, r.share, r.multiple,
         r.min_orders, r.valid_from, r.valid_until, r.exclusions
  FROM pgcredit.policy_draft_rule r WHERE r.draft = $1 AND r.action <> 'shadow'
$$;
COMMENT ON FUNCTION pgcredit._replay_rules(text) IS 'the rules of the live policy (0) and of a draft (1), for _replay_walk()';
REVOKE EXECUTE ON FUNCTION pgcredit._replay_rules(text) FROM PUBLIC;

CREATE FUNCTION pgcredit._replay_accounts(draft text)
RETURNS TABLE (policy integer, customer text, credit_limit numeric, tolerance_pct numeric,
               temporary_limit numeric, temporary_from date, temporary_until date, risk_tier text,
               no_account_policy text)
LANGUAGE sql STABLE
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
  SELECT 0, a.customer, a.credit_limit, a.tolerance_pct, a.temporary_limit, a.temporary_from,
         a.temporary_until, a.risk_tier, NULL::text
  FROM pgcredit.account a
  UNION ALL
  SELECT 0, NULL, s.default_limit, coalesce(s.default_tolerance_pct, 0), NULL, NULL, NULL, NULL,
         coalesce(s.no_account_policy, 'allow')
  FROM (SELECT) o LEFT JOIN pgcredit.settings s ON true
  UNION ALL
  SELECT 1, l.customer, l.credit_limit, l.tolerance_pct, l.temporary_limit, l.temporary_from,
         l.temporary_until, l.risk_tier, NULL
  FROM pgcredit.policy_draft_limit l WHERE l.draft = $1
  UNION ALL
  SELECT 1, NULL, d.default_limit, d.default_tolerance_pct, NULL, NULL, NULL, NULL, d.no_account_policy
  FROM pgcredit.policy_draft d WHERE d.name = $1
$$;
COMMENT ON FUNCTION pgcredit._replay_accounts(text) IS 'the accounts of the live policy (0) and of a draft (1), and (customer NULL) what a customer without one gets, for _replay_walk()';
REVOKE EXECUTE ON FUNCTION pgcredit._replay_accounts(text) FROM PUBLIC;

CREATE FUNCTION pgcredit._replay_walk(draft text, period_from date, period_until date, detail boolean,
  OUT policy smallint, OUT customer text, OUT orders bigint, OUT ordered numeric,
  OUT passed bigint, OUT passed_amount numeric, OUT held bigint, OUT held_amount numeric,
  OUT released bigint, OUT released_amount numeric, OUT deferred_days bigint,
  OUT refused bigint, OUT refused_amount numeric, OUT lost bigint, OUT lost_amount numeric,
  OUT peak_exposure numeric, OUT end_exposure numeric, OUT peak_day date,
  OUT average_exposure numeric, OUT start_exposure numeric, OUT outcome text, OUT rule_kind text,
  OUT ordered_on date, OUT released_on date)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'pgc_replay_walk'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION pgcredit._replay_walk(text, date, date, boolean) IS
  'walk the stored orders and invoices of a period under the live policy (0) and a draft (1): per customer and for the book (customer NULL), or with detail per order and policy (orders: the order''s number, ordered: its amount); writes nothing';
REVOKE EXECUTE ON FUNCTION pgcredit._replay_walk(text, date, date, boolean) FROM PUBLIC;

-- The checks of a replay's arguments, shared
CREATE FUNCTION pgcredit._check_replay(draft text, period_from date, period_until date)
RETURNS void LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
BEGIN
  PERFORM pgcredit._draft(draft);
  IF period_from IS NULL OR period_until IS NULL THEN
    RAISE EXCEPTION 'the period must not be null' USING ERRCODE = 'null_value_not_allowed';
  END IF;
  IF period_from IN ('infinity', '-infinity') OR period_until IN ('infinity', '-infinity') THEN
    RAISE EXCEPTION 'the period must have finite dates' USING ERRCODE = 'invalid_parameter_value';
  END IF;
  IF period_until < period_from THEN
    RAISE EXCEPTION 'the period ends before it starts' USING ERRCODE = 'invalid_parameter_value',
      DETAIL = format('period_from is %s, period_until %s.', period_from, period_until);
  END IF;
END
$$;
COMMENT ON FUNCTION pgcredit._check_replay(text, date, date) IS 'refuse an unknown draft, a NULL, infinite or reversed period';
REVOKE EXECUTE ON FUNCTION pgcredit._check_replay(text, date, date) FROM PUBLIC;

-- Net losses per customer: write-offs from the start of the period on,
-- less what was recovered of them
CREATE FUNCTION pgcredit._replay_losses(period_from date)
RETURNS TABLE (customer text, net_loss numeric)
LANGUAGE sql STABLE
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
  SELECT w.customer, sum(w.amount - coalesce((SELECT sum(r.amount) FROM pgcredit.recovery r
                                              WHERE r.write_off_id = w.id), 0))
  FROM pgcredit.write_off w WHERE w.written_off_on >= $1
  GROUP BY w.customer
$$;
COMMENT ON FUNCTION pgcredit._replay_losses(date) IS 'per customer, the write-offs from a day on less their recoveries';
REVOKE EXECUTE ON FUNCTION pgcredit._replay_losses(date) FROM PUBLIC;

CREATE FUNCTION pgcredit.replay_policy_customers(draft text, period_from date, period_until date)
RETURNS TABLE (customer text, policy text, orders bigint, ordered numeric, refused bigint,
               refused_amount numeric, held bigint, held_amount numeric, released bigint,
               revenue_deferred numeric, revenue_lost numeric, peak_exposure numeric,
               end_exposure numeric, net_loss numeric, loss_avoided numeric)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
BEGIN
  PERFORM pgcredit._check_replay(draft, period_from, period_until);
  RETURN QUERY
  SELECT w.customer, CASE w.policy WHEN 0 THEN 'live' ELSE draft END, w.orders, w.ordered, w.refused,
         w.refused_amount, w.held, w.held_amount, w.released, w.released_amount,
         w.refused_amount + w.lost_amount, w.peak_exposure, w.end_exposure,
         coalesce(l.net_loss, 0), least(coalesce(l.net_loss, 0), w.refused_amount + w.lost_amount)
  FROM pgcredit._replay_walk(draft, period_from, period_until, false) w
  LEFT JOIN pgcredit._replay_losses(period_from) l ON l.customer = w.customer
  WHERE w.customer IS NOT NULL
  ORDER BY w.customer, w.policy;
END
$$;
COMMENT ON FUNCTION pgcredit.replay_policy_customers(text, date, date) IS
  'replay_policy() per customer: under the live policy and the draft, each customer''s orders, what was refused, held, released later and lost, its peak and final exposure, its net loss (write-offs from period_from on less recoveries) and the part of it the policy''s stopped orders would have avoided';
REVOKE EXECUTE ON FUNCTION pgcredit.replay_policy_customers(text, date, date) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgcredit.replay_policy_customers(text, date, date) TO pgcredit_reader;

CREATE FUNCTION pgcredit.replay_policy(draft text, period_from date, period_until date)
RETURNS TABLE (policy text, orders bigint, ordered numeric, passed bigint, passed_amount numeric,
               refused bigint, refused_amount numeric, held bigint, held_amount numeric,
               released bigint, revenue_deferred numeric, average_deferral_days numeric,
               never_released bigint, revenue_lost numeric, peak_exposure numeric, peak_day date,
               average_exposure numeric, start_exposure numeric, end_exposure numeric,
               customers_stopped bigint, losses numeric, losses_avoided numeric)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
BEGIN
  PERFORM pgcredit._check_replay(draft, period_from, period_until);
  RETURN QUERY
  WITH w AS MATERIALIZED (
    SELECT * FROM pgcredit._replay_walk(draft, period_from, period_until, false)),
  per AS (
    SELECT w.policy, count(*) FILTER (WHERE w.refused + w.lost > 0) AS stopped,
           sum(l.net_loss) AS losses,
           sum(least(coalesce(l.net_loss, 0), w.refused_amount + w.lost_amount)) AS avoided
    FROM w LEFT JOIN pgcredit._replay_losses(period_from) l ON l.customer = w.customer
    WHERE w.customer IS NOT NULL
    GROUP BY w.policy)
  SELECT CASE b.policy WHEN 0 THEN 'live' ELSE draft END, b.orders, b.ordered, b.passed, b.passed_amount,
         b.refused, b.refused_amount, b.held, b.held_amount, b.released, b.released_amount,
         CASE WHEN b.released > 0 THEN round(b.deferred_days::numeric / b.released, 1) END,
         b.lost, b.refused_amount + b.lost_amount, b.peak_exposure, b.peak_day, b.average_exposure,
         b.start_exposure, b.end_exposure, coalesce(p.stopped, 0), coalesce(p.losses, 0),
         coalesce(p.avoided, 0)
  FROM w b LEFT JOIN per p ON p.policy = b.policy
  WHERE b.customer IS NULL
  ORDER BY b.policy;
END
$$;
COMMENT ON FUNCTION pgcredit.replay_policy(text, date, date) IS
  'what the draft policy would have done with the stored orders of a period, beside the live policy replayed the same way: orders refused and held (count and amount), held orders released later (revenue deferred, average days) or never (with the refused: revenue lost), the book''s peak, average, first and last exposure, the customers it stopped and the losses (write-offs from period_from on, less recoveries) of those customers it would have avoided, up to what it stopped; writes nothing (doc/foresight.md)';
REVOKE EXECUTE ON FUNCTION pgcredit.replay_policy(text, date, date) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgcredit.replay_policy(text, date, date) TO pgcredit_reader;

CREATE FUNCTION pgcredit.replay_policy_orders(draft text, period_from date, period_until date)
RETURNS TABLE (customer text, ordered_on date, amount numeric, live_outcome text, live_rule text,
               live_released_on date, draft_outcome text, draft_rule text, draft_released_on date)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
BEGIN
  PERFORM pgcredit._check_replay(draft, period_from, period_until);
  RETURN QUERY
  WITH w AS MATERIALIZED (
    SELECT * FROM pgcredit._replay_walk(draft, period_from, period_until, true))
  SELECT l.customer, l.ordered_on, l.ordered, l.outcome, l.rule_kind, l.released_on,
         d.outcome, d.rule_kind, d.released_on
  FROM w l JOIN w d ON d.orders = l.orders AND d.policy = 1
  WHERE l.policy = 0
  ORDER BY l.customer, l.ordered_on, l.ordered, l.orders;
END
$$;
COMMENT ON FUNCTION pgcredit.replay_policy_orders(text, date, date) IS
  'replay_policy() per order: each order of the period with what the live policy and the draft did with it (passed, held or refused), the kind of rule that decided and the day a held order was released';
REVOKE EXECUTE ON FUNCTION pgcredit.replay_policy_orders(text, date, date) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgcredit.replay_policy_orders(text, date, date) TO pgcredit_reader;

-- Collections: the collectors' worklist, and who works which customer

----------------------------------------------------------------------
-- The worklist a collector opens in the morning: the customers with
-- something past due, most important first (overdue weighted by risk
-- and age, and by the promises to pay the customer broke), with what
-- dunning did and will do, and who works them.
-- pgcredit_collector reads it and nothing else; when the company wants
-- it (settings.worklist_by_assignment), a collector sees only the
-- customers assigned to a role it is a member of.
----------------------------------------------------------------------

CREATE TABLE pgcredit.collector_assignment (
  customer     text PRIMARY KEY CONSTRAINT customer_key_length CHECK (octet_length(customer) <= 1000),
  collector    name NOT NULL,
  reason       text NOT NULL,
  assigned_at  timestamptz NOT NULL DEFAULT pg_catalog.now()
);
CREATE INDEX collector_assignment_collector ON pgcredit.collector_assignment (collector);
COMMENT ON INDEX pgcredit.collector_assignment_collector IS 'the customers of a collector';
COMMENT ON TABLE pgcredit.collector_assignment IS 'the collector who works each customer: a role (a person''s login, or a group of collectors); changed with assign_collector, audited';
COMMENT ON COLUMN pgcredit.collector_assignment.customer IS 'customer key';
COMMENT ON COLUMN pgcredit.collector_assignment.collector IS 'the role that works the customer; its members see it in their worklist';
COMMENT ON COLUMN pgcredit.collector_assignment.reason IS 'why';
COMMENT ON COLUMN pgcredit.collector_assignment.assigned_at IS 'when';
REVOKE ALL ON pgcredit.collector_assignment FROM PUBLIC;
GRANT SELECT ON pgcredit.collector_assignment TO pgcredit_reader;
SELECT pg_catalog.pg_extension_config_dump('pgcredit.collector_assignment', '');

CREATE FUNCTION pgcredit.assign_collector(customer text, collector name, reason text)
RETURNS pgcredit.collector_assignment LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
DECLARE
  before pgcredit.collector_assignment;
  after pgcredit.collector_assignment;
BEGIN
  PERFORM pgcredit._check_reason(reason);
  IF customer IS NULL THEN
    RAISE EXCEPTION 'customer must not be null' USING ERRCODE = 'null_value_not_allowed';
  END IF;
  IF octet_length(customer) > 1000 THEN
    RAISE EXCEPTION 'customer key is too long' USING ERRCODE = 'string_data_right_truncation',
      DETAIL = 'Customer keys are at most 1000 bytes.';
  END IF;
  SELECT * INTO before FROM pgcredit.collector_assignment c WHERE c.customer = assign_collector.customer FOR UPDATE;
  IF collector IS NULL THEN
    DELETE FROM pgcredit.collector_assignment c WHERE c.customer = assign_collector.customer;
  ELSE
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles r WHERE r.rolname = collector) THEN
      RAISE EXCEPTION 'role "%" does not exist', collector USING ERRCODE = 'undefined_object',
        HINT = 'A collector is a role: a person''s login or a group role of collectors.';
    END IF;
    INSERT INTO pgcredit.collector_assignment AS c (customer, collector, reason)
    VALUES (assign_collector.customer, assign_collector.collector, assign_collector.reason)
    ON CONFLICT ON CONSTRAINT collector_assignment_pkey DO UPDATE SET collector = EXCLUDED.collector,
      reason = EXCLUDED.reason, assigned_at = now()
    RETURNING * INTO after;
  END IF;
  PERFORM pgcredit._audit('assign_collector', customer,
    CASE WHEN before.customer IS NOT NULL THEN jsonb_build_object('collector', before.collector) END,
    CASE WHEN after.customer IS NOT NULL THEN jsonb_build_object('collector', after.collector) END,
    reason);
  RETURN after;
END
$$;
COMMENT ON FUNCTION pgcredit.assign_collector(text, name, text) IS
  'give a customer its collector, a role (NULL: none), audited';
REVOKE EXECUTE ON FUNCTION pgcredit.assign_collector(text, name, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgcredit.assign_collector(text, name, text) TO pgcredit_controller;

CREATE FUNCTION pgcredit.set_worklist_by_assignment(enabled boolean, reason text)
RETURNS void LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
DECLARE
  before boolean;
BEGIN
  PERFORM pgcredit._check_reason(reason);
  IF enabled IS NULL THEN
    RAISE EXCEPTION 'enabled must not be null' USING ERRCODE = 'null_value_not_allowed';
  END IF;
  SELECT s.worklist_by_assignment INTO before FROM pgcredit.settings s FOR UPDATE;
  INSERT INTO pgcredit.settings AS s (worklist_by_assignment) VALUES (enabled)
  ON CONFLICT (only_row) DO UPDATE SET worklist_by_assignment = EXCLUDED.worklist_by_assignment;
  PERFORM pgcredit._audit('set_worklist_by_assignment', NULL,
    jsonb_build_object('worklist_by_assignment', coalesce(before, false)),
    jsonb_build_object('worklist_by_assignment', enabled), reason);
END
$$;
COMMENT ON FUNCTION pgcredit.set_worklist_by_assignment(boolean, text) IS
  'whether a collector (a member of pgcredit_collector and not of pgcredit_reader) sees in the worklist only the customers assigned to a role it is a member of; audited';
REVOKE EXECUTE ON FUNCTION pgcredit.set_worklist_by_assignment(boolean, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgcredit.set_worklist_by_assignment(boolean, text) TO pgcredit_admin;


-- The weight of a risk tier in the worklist's order
CREATE FUNCTION pgcredit._tier_weight(tier text)
RETURNS numeric LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
  SELECT CASE $1 WHEN 'A' THEN 1.0 WHEN 'B' THEN 1.25 WHEN 'C' THEN 1.5 WHEN 'D' THEN 2.0 WHEN 'E' THEN 3.0
                 ELSE 1.5 END
$$;
COMMENT ON FUNCTION pgcredit._tier_weight(text) IS
  'the weight of a risk tier in the worklist: A 1, B 1.25, C 1.5, D 2, E 3; no tier 1.5 (as C)';
REVOKE EXECUTE ON FUNCTION pgcredit._tier_weight(text) FROM PUBLIC;

CREATE FUNCTION pgcredit.collection_worklist_at(as_of date)
RETURNS TABLE (day date, customer text, collector text, priority numeric, overdue numeric,
               oldest_days_past_due int, risk_tier text, combined_score numeric, tier_weight numeric,
               age_weight numeric, broken_promises int, partly_kept_promises int, promise_weight numeric,
               account_status text, level int, action_today text,
               channel_today text, last_action_on date, next_level int, next_action_on date)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER ROWS 1000
SET jit = off
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
DECLARE
  me name := pgcredit._actor();
  -- a collector sees its own customers when the company wants it;
  -- pgcredit_reader and the roles above it see every customer
  mine_only boolean := coalesce((SELECT s.worklist_by_assignment FROM pgcredit.settings s), false)
                       AND NOT pg_catalog.pg_has_role(me, 'pgcredit_reader', 'USAGE');
BEGIN
  PERFORM pgcredit._check_day(collection_worklist_at.as_of);
  RETURN QUERY
  WITH st AS (
    SELECT * FROM pgcredit.collection_status_at(collection_worklist_at.as_of) c
    WHERE c.overdue > 0),
  w AS (
    SELECT st.customer, ca.collector, st.overdue, st.oldest_days_past_due,
           coalesce(sh.tier, ac.risk_tier) AS tier, sh.combined_score,
           pgcredit._tier_weight(coalesce(sh.tier, ac.risk_tier)) AS tw,
           round(1 + least(st.oldest_days_past_due, 180) / 30.0, 4) AS aw,
           coalesce(bp.broken, 0) AS broken, coalesce(bp.partly_kept, 0) AS partly,
           1 + 0.5 * coalesce(bp.broken, 0) + 0.25 * coalesce(bp.partly_kept, 0) AS pw,
           ac.status, st.level, act.template, act.channel, st.last_action_on, st.next_level, st.next_action_on
    FROM st
    LEFT JOIN pgcredit.collector_assignment ca ON ca.customer = st.customer
    LEFT JOIN pgcredit.account ac ON ac.customer = st.customer
    LEFT JOIN pgcredit.collection_action act ON act.customer = st.customer
                                            AND act.as_of = collection_worklist_at.as_of
    LEFT JOIN pgcredit.broken_promises_at(collection_worklist_at.as_of) bp ON bp.customer = st.customer
    LEFT JOIN LATERAL (
      SELECT h.tier, h.combined_score FROM pgcredit.score_history h
      WHERE h.customer = st.customer AND h.as_of <= collection_worklist_at.as_of
      ORDER BY h.as_of DESC LIMIT 1) sh ON true
    WHERE NOT mine_only
       OR ca.collector IS NOT NULL AND pg_catalog.pg_has_role(me, ca.collector, 'MEMBER'))
  SELECT collection_worklist_at.as_of, w.customer, w.collector::text, round(w.overdue * w.tw * w.aw * w.pw, 2),
         w.overdue, w.oldest_days_past_due, w.tier, w.combined_score, w.tw, w.aw, w.broken, w.partly,
         w.pw, w.status, w.level, w.template, w.channel, w.last_action_on, w.next_level, w.next_action_on
  FROM w
  ORDER BY round(w.overdue * w.tw * w.aw * w.pw, 2) DESC, w.customer COLLATE "C";
END
$$;
COMMENT ON FUNCTION pgcredit.collection_worklist_at(date) IS
  'the rows of collection_worklist as of any day';
REVOKE EXECUTE ON FUNCTION pgcredit.collection_worklist_at(date) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgcredit.collection_worklist_at(date) TO pgcredit_reader, pgcredit_collector;

CREATE VIEW pgcredit.collection_worklist AS
  SELECT * FROM pgcredit.collection_worklist_at(pgcredit.as_of());
COMMENT ON VIEW pgcredit.collection_worklist IS
  'the collectors'' worklist on the day pgcredit.as_of(): every customer with receivables past due that dunning follows, most important first: priority = overdue x tier weight x age weight x promise weight, with the figures behind it, today''s action, the next, and the collector; a collector sees only its own customers when settings.worklist_by_assignment is on';
COMMENT ON COLUMN pgcredit.collection_worklist.day IS 'the day described';
COMMENT ON COLUMN pgcredit.collection_worklist.customer IS 'customer key';
COMMENT ON COLUMN pgcredit.collection_worklist.collector IS 'the role that works the customer (collector_assignment); NULL = none';
COMMENT ON COLUMN pgcredit.collection_worklist.priority IS 'overdue x tier_weight x age_weight x promise_weight, rounded to cents: the order of the list, highest first';
COMMENT ON COLUMN pgcredit.collection_worklist.overdue IS 'receivables past due that dunning follows';
COMMENT ON COLUMN pgcredit.collection_worklist.oldest_days_past_due IS 'days past due of the oldest of them';
COMMENT ON COLUMN pgcredit.collection_worklist.risk_tier IS 'the tier of the latest scoring on or before the day, else the account''s';
COMMENT ON COLUMN pgcredit.collection_worklist.combined_score IS 'the combined score of that scoring';
COMMENT ON COLUMN pgcredit.collection_worklist.tier_weight IS 'A 1, B 1.25, C 1.5, D 2, E 3, no tier 1.5';
COMMENT ON COLUMN pgcredit.collection_worklist.age_weight IS '1 + days past due of the oldest item / 30, the days counted up to 180 (at most 7)';
COMMENT ON COLUMN pgcredit.collection_worklist.broken_promises IS 'promises to pay broken whose day fell in the 365 days before the day';
COMMENT ON COLUMN pgcredit.collection_worklist.partly_kept_promises IS 'promises to pay partly kept in those days';
COMMENT ON COLUMN pgcredit.collection_worklist.promise_weight IS '1 + 0.5 for each broken promise + 0.25 for each partly kept one';
COMMENT ON COLUMN pgcredit.collection_worklist.account_status IS 'the account''s status now; NULL = no account';
COMMENT ON COLUMN pgcredit.collection_worklist.level IS 'the highest dunning level an open item has been sent';
COMMENT ON COLUMN pgcredit.collection_worklist.action_today IS 'the template of the dunning action written for the day, if any';
COMMENT ON COLUMN pgcredit.collection_worklist.channel_today IS 'its channel';
COMMENT ON COLUMN pgcredit.collection_worklist.last_action_on IS 'the day of the last dunning action';
COMMENT ON COLUMN pgcredit.collection_worklist.next_level IS 'the next dunning level due';
COMMENT ON COLUMN pgcredit.collection_worklist.next_action_on IS 'the day it is due';
REVOKE ALL ON pgcredit.collection_worklist FROM PUBLIC;
GRANT SELECT ON pgcredit.collection_worklist TO pgcredit_reader, pgcredit_collector;

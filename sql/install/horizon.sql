-- Credit control: the horizon (issue #13), orders delivered far ahead
-- that do not count yet, and the nightly move of those whose day came

----------------------------------------------------------------------
-- Credit control: the horizon (pgcredit_admin runs advance_horizon)
----------------------------------------------------------------------

CREATE FUNCTION pgcredit.set_time_zone(zone text, reason text)
RETURNS pgcredit.settings LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
DECLARE
  before pgcredit.settings;
  after pgcredit.settings;
  old_today date;
  new_today date;
BEGIN
  PERFORM pgcredit._check_reason(reason);
  IF zone IS NOT NULL AND btrim(zone) = '' THEN
    RAISE EXCEPTION 'time zone must not be empty' USING ERRCODE = 'invalid_parameter_value',
      HINT = 'Name a time zone such as Europe/Berlin, or NULL for each session''s own.';
  END IF;
  SELECT * INTO before FROM pgcredit.settings FOR UPDATE;
  old_today := pgcredit._horizon_today();
  -- an unknown name raises 22023 here
  new_today := CASE WHEN zone IS NULL THEN current_date
                    ELSE (pg_catalog.now() AT TIME ZONE zone)::date END;
  -- the orders waiting beyond the horizon are in buckets of days counted
  -- from today: today must not go back under them (unless the tests'
  -- pgcredit.horizon_today holds the day, which a zone does not move)
  IF new_today < old_today AND coalesce(pg_catalog.current_setting('pgcredit.horizon_today', true), '') = ''
     AND EXISTS (SELECT FROM pgcredit.order_horizon) THEN
    RAISE EXCEPTION 'cannot move the horizon''s today back' USING ERRCODE = 'object_not_in_prerequisite_state',
      DETAIL = format('Today is %s in the book; in time zone %s it would be %s, and orders wait beyond the horizon.',
                      old_today, coalesce(zone, 'of this session'), new_today),
      HINT = 'Change the time zone when the new one''s date has caught up, or when no order waits beyond the horizon.';
  END IF;
  INSERT INTO pgcredit.settings AS s (time_zone) VALUES (zone)
  ON CONFLICT (only_row) DO UPDATE SET time_zone = EXCLUDED.time_zone
  RETURNING * INTO after;
  PERFORM pgcredit._audit('set_time_zone', NULL, jsonb_build_object('time_zone', before.time_zone),
                          jsonb_build_object('time_zone', after.time_zone), reason);
  RETURN after;
END
$$;
COMMENT ON FUNCTION pgcredit.set_time_zone(text, text) IS
  'set the book''s time zone, in which the horizon''s today is the same for every session (NULL = each session''s own); refused when it would move today back while orders wait beyond the horizon; audited';
REVOKE EXECUTE ON FUNCTION pgcredit.set_time_zone(text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgcredit.set_time_zone(text, text) TO pgcredit_admin;

CREATE FUNCTION pgcredit.advance_horizon(as_of date DEFAULT pgcredit._horizon_today())
RETURNS TABLE (customer text, moved numeric, orders integer, exposure numeric,
               credit_limit numeric, crossed_limit boolean)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
DECLARE
  c record;
  grp text;
  g text;
  pre numeric;
  got numeric;
  n integer;
  x pgcredit.exposure;
  lim numeric;
  total integer := 0;
BEGIN
  IF as_of IS NULL OR NOT isfinite(as_of) THEN
    RAISE EXCEPTION 'as_of must be a finite date' USING ERRCODE = 'invalid_parameter_value';
  END IF;
  IF as_of > pgcredit._horizon_today() THEN
    RAISE EXCEPTION 'as_of must not be after today' USING ERRCODE = 'invalid_parameter_value',
      DETAIL = format('as_of is %s and today is %s.', as_of, pgcredit._horizon_today()),
      HINT = 'Orders beyond the horizon count from their day on, not before.';
  END IF;
  -- the lock every order takes while groups exist: no customer changes
  -- group under this function (join_group and leave_group wait for it)
  LOCK TABLE pgcredit.group_exposure IN ROW EXCLUSIVE MODE;
  FOR c IN SELECT h.customer, sum(h.amount) AS amount FROM pgcredit.order_horizon h
           WHERE h.counts_from <= as_of GROUP BY h.customer ORDER BY h.customer LOOP
    -- the guard's lock order: the customer's groups from the top down,
    -- then its exposure row; the buckets are read again under that lock
    SELECT e.credit_group INTO grp FROM pgcredit.exposure e WHERE e.customer = c.customer;
    pre := c.amount;
    IF grp IS NOT NULL THEN
      FOR g IN SELECT ch.group_id FROM pgcredit._group_chain(grp) ch ORDER BY ch.depth LOOP
        UPDATE pgcredit.group_exposure ge SET exposure = ge.exposure + pre WHERE ge.group_id = g;
      END LOOP;
    END IF;
    PERFORM FROM pgcredit.exposure e WHERE e.customer = c.customer FOR NO KEY UPDATE;
    WITH gone AS (DELETE FROM pgcredit.order_horizon h
                  WHERE h.customer = c.customer AND h.counts_from <= as_of
                  RETURNING h.amount, h.items)
    SELECT coalesce(sum(g.amount), 0), coalesce(sum(g.items), 0) INTO got, n FROM gone g;
    IF grp IS NOT NULL AND got <> pre THEN
      FOR g IN SELECT ch.group_id FROM pgcredit._group_chain(grp) ch ORDER BY ch.depth LOOP
        UPDATE pgcredit.group_exposure ge SET exposure = ge.exposure + (got - pre) WHERE ge.group_id = g;
      END LOOP;
    END IF;
    UPDATE pgcredit.exposure e SET open_orders = e.open_orders + got
    WHERE e.customer = c.customer RETURNING e.* INTO x;
    IF NOT FOUND THEN
      -- a bucket without an exposure row (made by hand): the row, with a
      -- copy of the account, as the guard makes it
      INSERT INTO pgcredit.exposure AS e (customer, open_orders, has_account, credit_limit, tolerance_pct,
                                          status, risk_tier, next_review, temporary_limit,
                                          temporary_from, temporary_until)
      SELECT c.customer, got, a.customer IS NOT NULL, a.credit_limit, coalesce(a.tolerance_pct, 0),
             coalesce(a.status, 'ok'), a.risk_tier, a.next_review, a.temporary_limit,
             a.temporary_from, a.temporary_until
      FROM (SELECT) AS one LEFT JOIN pgcredit.account a ON a.customer = c.customer
      RETURNING e.* INTO x;
    END IF;
    total := total + 1;
    -- the limit in force on as_of: a temporary limit within its window
    lim := CASE WHEN x.temporary_limit IS NOT NULL AND as_of BETWEEN x.temporary_from AND x.temporary_until
                THEN x.temporary_limit ELSE x.credit_limit END;
    customer := c.customer;
    moved := got;
    orders := n;
    exposure := x.receivables + x.open_orders;
    credit_limit := lim;
    crossed_limit := lim IS NOT NULL
      AND pgcredit.exposure_over_limit(exposure, lim, x.tolerance_pct) > 0
      AND pgcredit.exposure_over_limit(exposure - got, lim, x.tolerance_pct) = 0;
    IF crossed_limit THEN
      INSERT INTO pgcredit.alert (kind, customer, details)
      VALUES ('horizon_over_limit', c.customer,
              jsonb_build_object('as_of', as_of, 'moved', got, 'orders', n, 'exposure', exposure,
                                 'credit_limit', lim, 'tolerance_pct', x.tolerance_pct));
    END IF;
    RETURN NEXT;
  END LOOP;
  IF total > 0 THEN
    PERFORM pgcredit._audit('advance_horizon', NULL, NULL,
                            jsonb_build_object('as_of', as_of, 'customers', total), NULL);
  END IF;
END
$$;
COMMENT ON FUNCTION pgcredit.advance_horizon(date) IS
  'move the orders beyond the horizon whose day has come (counts_from on or before as_of) into exposure, once; returns the customers moved, alerting (horizon_over_limit) those it took over their limit';
REVOKE EXECUTE ON FUNCTION pgcredit.advance_horizon(date) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgcredit.advance_horizon(date) TO pgcredit_admin;

CREATE VIEW pgcredit.future_orders AS
  SELECT h.customer, h.counts_from, h.amount, h.items,
         h.counts_from <= pgcredit._horizon_today() AS due_to_move,
         pgcredit._horizon_today() AS day
  FROM pgcredit.order_horizon h;
COMMENT ON VIEW pgcredit.future_orders IS
  'open orders beyond the horizon per customer and the day they start to count; due_to_move marks days that have come, which count already and which advance_horizon() moves into exposure';
COMMENT ON COLUMN pgcredit.future_orders.customer IS 'customer key';
COMMENT ON COLUMN pgcredit.future_orders.counts_from IS 'the first day these orders count in exposure: their delivery date less their table''s horizon_days';
COMMENT ON COLUMN pgcredit.future_orders.amount IS 'sum of their amounts that use credit';
COMMENT ON COLUMN pgcredit.future_orders.items IS 'number of orders';
COMMENT ON COLUMN pgcredit.future_orders.due_to_move IS 'whether their day has come (advance_horizon() has not moved them yet)';
COMMENT ON COLUMN pgcredit.future_orders.day IS 'the book''s today (pgcredit._horizon_today()), which due_to_move compares with';
REVOKE ALL ON pgcredit.future_orders FROM PUBLIC;
GRANT SELECT ON pgcredit.future_orders TO pgcredit_reader;

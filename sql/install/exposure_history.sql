-- Exposure history: every change of what the guard judges a customer by

----------------------------------------------------------------------
-- Exposure history
--
-- pgcredit.exposure holds, per customer, what the guard judges an order
-- by: receivables, open orders and the copies of the account's limit,
-- tolerance, status, temporary limit and cover.  Each change of any of
-- them adds a row here with the new values and the time of the change:
-- the guard writes it beside its own update of the exposure row (C, in
-- src/guard_exposure.c), and a trigger on pgcredit.exposure writes it for
-- every other change (attaching, limits, holds, covers, rebuilds).  Per
-- customer the changes are in the order of the exposure row's lock, so
-- the latest row at or before a time is what the guard judged by then.
-- settings.exposure_history turns it off.
----------------------------------------------------------------------

CREATE TABLE pgcredit.exposure_history (
  customer         text NOT NULL,
  changed_at       timestamptz NOT NULL,
  receivables      numeric NOT NULL,
  open_orders      numeric NOT NULL,
  has_account      boolean NOT NULL,
  credit_limit     numeric,
  tolerance_pct    numeric NOT NULL,
  status           text NOT NULL,
  temporary_limit  numeric,
  temporary_from   date,
  temporary_until  date,
  cover_counted    numeric,
  cover_from       date,
  cover_until      date,
  xact_id          bigint NOT NULL
);
CREATE INDEX exposure_history_customer ON pgcredit.exposure_history (customer, changed_at);
COMMENT ON TABLE pgcredit.exposure_history IS 'every change of a customer''s exposure row: the receivables, open orders and the copies of the account and cover the guard judges by, after the change, and when; written by the guard and by a trigger on pgcredit.exposure while settings.exposure_history is on';
COMMENT ON INDEX pgcredit.exposure_history_customer IS 'a customer''s changes in time order, for exposure_at()';
COMMENT ON COLUMN pgcredit.exposure_history.customer IS 'customer key';
COMMENT ON COLUMN pgcredit.exposure_history.changed_at IS 'when the change was made (the clock when the customer''s exposure row was written, under its lock)';
COMMENT ON COLUMN pgcredit.exposure_history.receivables IS 'open receivables after the change';
COMMENT ON COLUMN pgcredit.exposure_history.open_orders IS 'open orders after the change';
COMMENT ON COLUMN pgcredit.exposure_history.has_account IS 'whether the customer had an account';
COMMENT ON COLUMN pgcredit.exposure_history.credit_limit IS 'the account''s credit limit (NULL: none)';
COMMENT ON COLUMN pgcredit.exposure_history.tolerance_pct IS 'the account''s tolerance, %';
COMMENT ON COLUMN pgcredit.exposure_history.status IS 'the account''s status';
COMMENT ON COLUMN pgcredit.exposure_history.temporary_limit IS 'the account''s temporary limit (NULL: none)';
COMMENT ON COLUMN pgcredit.exposure_history.temporary_from IS 'its first day (NULL: from when it was set)';
COMMENT ON COLUMN pgcredit.exposure_history.temporary_until IS 'its last day';
COMMENT ON COLUMN pgcredit.exposure_history.cover_counted IS 'the cover that counted towards the limit (NULL: none)';
COMMENT ON COLUMN pgcredit.exposure_history.cover_from IS 'the first day that cover counted (NULL: any day before cover_until)';
COMMENT ON COLUMN pgcredit.exposure_history.cover_until IS 'the last day it counted (NULL: any day after cover_from)';
COMMENT ON COLUMN pgcredit.exposure_history.xact_id IS 'the transaction that made the change (pg_current_xact_id()): its changes of one customer follow one another, and its last one is what it committed';
REVOKE ALL ON pgcredit.exposure_history FROM PUBLIC;
GRANT SELECT ON pgcredit.exposure_history TO pgcredit_reader;
SELECT pg_catalog.pg_extension_config_dump('pgcredit.exposure_history', '');

-- The changes made with SQL (the guard's own are written by the guard,
-- which changes the row without firing triggers)
CREATE FUNCTION pgcredit._exposure_history_row()
RETURNS trigger LANGUAGE plpgsql
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
BEGIN
  IF NOT coalesce((SELECT s.exposure_history FROM pgcredit.settings s), true) THEN
    RETURN NULL;
  END IF;
  IF TG_OP = 'DELETE' THEN
    INSERT INTO pgcredit.exposure_history (customer, changed_at, receivables, open_orders, has_account,
                                           tolerance_pct, status, xact_id)
    VALUES (OLD.customer, pg_catalog.clock_timestamp(), 0, 0, false, 0, 'ok',
            pg_catalog.pg_current_xact_id()::text::bigint);
  ELSIF TG_OP = 'INSERT'
        OR (NEW.receivables, NEW.open_orders, NEW.has_account, NEW.credit_limit, NEW.tolerance_pct,
            NEW.status, NEW.temporary_limit, NEW.temporary_from, NEW.temporary_until,
            NEW.cover_counted, NEW.cover_from, NEW.cover_until)
           IS DISTINCT FROM
           (OLD.receivables, OLD.open_orders, OLD.has_account, OLD.credit_limit, OLD.tolerance_pct,
            OLD.status, OLD.temporary_limit, OLD.temporary_from, OLD.temporary_until,
            OLD.cover_counted, OLD.cover_from, OLD.cover_until) THEN
    INSERT INTO pgcredit.exposure_history
    VALUES (NEW.customer, pg_catalog.clock_timestamp(), NEW.receivables, NEW.open_orders, NEW.has_account,
            NEW.credit_limit, NEW.tolerance_pct, NEW.status, NEW.temporary_limit, NEW.temporary_from,
            NEW.temporary_until, NEW.cover_counted, NEW.cover_from, NEW.cover_until,
            pg_catalog.pg_current_xact_id()::text::bigint);
  END IF;
  RETURN NULL;
END
$$;
COMMENT ON FUNCTION pgcredit._exposure_history_row() IS
  'row trigger on pgcredit.exposure: records a change of what the guard judges by in exposure_history, when settings.exposure_history is on';
REVOKE EXECUTE ON FUNCTION pgcredit._exposure_history_row() FROM PUBLIC;
CREATE TRIGGER exposure_history AFTER INSERT OR UPDATE OR DELETE ON pgcredit.exposure
  FOR EACH ROW EXECUTE FUNCTION pgcredit._exposure_history_row();

-- Each customer's exposure row as it stood at the end of a day: from the
-- history for a day before today, the row itself from today on
CREATE FUNCTION pgcredit._exposure_state_at(day date, for_customer text)
RETURNS TABLE (customer text, receivables numeric, open_orders numeric, has_account boolean,
               credit_limit numeric, tolerance_pct numeric, status text, temporary_limit numeric,
               temporary_from date, temporary_until date, cover_counted numeric, cover_from date,
               cover_until date)
LANGUAGE plpgsql STABLE ROWS 10000
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
BEGIN
  IF day IS NULL OR NOT isfinite(day) THEN
    RAISE EXCEPTION 'day must be a finite date' USING ERRCODE = 'invalid_parameter_value';
  END IF;
  IF cardinality(pgcredit._citus_shells()) > 0 THEN
    -- on the coordinator of a Citus cluster (doc/citus.md): receivables
    -- and open orders as the guards on the workers kept them (now, or in
    -- their history), the account's copy as this node has it
    RETURN QUERY EXECUTE
      'WITH w AS (SELECT * FROM pgcredit._citus_exposure_at($2, $1)),
       e AS (SELECT x.customer, x.has_account, x.credit_limit, x.tolerance_pct, x.status, x.temporary_limit,
                    x.temporary_from, x.temporary_until, x.cover_counted, x.cover_from, x.cover_until
             FROM pgcredit.exposure x WHERE $2 >= current_date AND ($1 IS NULL OR x.customer = $1)
             UNION ALL
             SELECT h.customer, h.has_account, h.credit_limit, h.tolerance_pct, h.status, h.temporary_limit,
                    h.temporary_from, h.temporary_until, h.cover_counted, h.cover_from, h.cover_until
             FROM pgcredit.exposure x
             CROSS JOIN LATERAL (SELECT * FROM pgcredit.exposure_history y
                                 WHERE y.customer = x.customer AND y.changed_at < $3
                                 ORDER BY y.changed_at DESC LIMIT 1) h
             WHERE $2 < current_date AND ($1 IS NULL OR x.customer = $1))
       SELECT coalesce(e.customer, w.customer), coalesce(w.receivables, 0), coalesce(w.open_orders, 0),
              coalesce(e.has_account, false), e.credit_limit, coalesce(e.tolerance_pct, 0),
              coalesce(e.status, ''ok''), e.temporary_limit, e.temporary_from, e.temporary_until,
              e.cover_counted, e.cover_from, e.cover_until
       FROM e FULL JOIN w ON w.customer = e.customer'
    USING for_customer, day, (day + 1)::timestamptz;
  ELSIF day >= current_date THEN
    RETURN QUERY EXECUTE
      'SELECT e.customer, e.receivables, e.open_orders, e.has_account, e.credit_limit, e.tolerance_pct,
              e.status, e.temporary_limit, e.temporary_from, e.temporary_until, e.cover_counted,
              e.cover_from, e.cover_until
       FROM pgcredit.exposure e WHERE $1 IS NULL OR e.customer = $1'
    USING for_customer;
  ELSE
    -- the latest change before the next day began, each customer's found
    -- through the history's index (customers are those with an exposure
    -- row now: a row is never deleted but by detaching or rebuilding)
    RETURN QUERY EXECUTE
      'SELECT h.customer, h.receivables, h.open_orders, h.has_account, h.credit_limit, h.tolerance_pct,
              h.status, h.temporary_limit, h.temporary_from, h.temporary_until, h.cover_counted,
              h.cover_from, h.cover_until
       FROM pgcredit.exposure e
       CROSS JOIN LATERAL (SELECT * FROM pgcredit.exposure_history x
                           WHERE x.customer = e.customer AND x.changed_at < $2
                           ORDER BY x.changed_at DESC LIMIT 1) h
       WHERE $1 IS NULL OR e.customer = $1'
    USING for_customer, (day + 1)::timestamptz;
  END IF;
END
$$;
COMMENT ON FUNCTION pgcredit._exposure_state_at(date, text) IS
  'each customer''s (one customer''s, unless NULL) exposure row at the end of a day: from exposure_history before today (the latest change before the next day began; no row for a customer without one), the row itself from today on';
REVOKE EXECUTE ON FUNCTION pgcredit._exposure_state_at(date, text) FROM PUBLIC;
-- customer_risk_at() calls it as its reader
GRANT EXECUTE ON FUNCTION pgcredit._exposure_state_at(date, text) TO pgcredit_reader;

-- The customer's exposure row as a transaction committed it, the last
-- committed by a time: the latest change by then, and the changes of the
-- same transaction after it (they follow one another, under the
-- exposure row's lock; a held order, added and taken out again, never
-- was the exposure).  NULL: nothing recorded for the customer by then.
CREATE FUNCTION pgcredit._exposure_history_row(for_customer text, at_time timestamptz)
RETURNS pgcredit.exposure_history LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
DECLARE
  h pgcredit.exposure_history;
  n pgcredit.exposure_history;
BEGIN
  SELECT * INTO h FROM pgcredit.exposure_history x
  WHERE x.customer = for_customer AND x.changed_at <= at_time
  ORDER BY x.changed_at DESC LIMIT 1;
  IF NOT FOUND THEN
    RETURN NULL;
  END IF;
  FOR n IN SELECT * FROM pgcredit.exposure_history x
           WHERE x.customer = for_customer AND x.changed_at > h.changed_at
           ORDER BY x.changed_at LOOP
    EXIT WHEN n.xact_id <> h.xact_id;
    h := n;
  END LOOP;
  RETURN h;
END
$$;
COMMENT ON FUNCTION pgcredit._exposure_history_row(text, timestamptz) IS
  'the customer''s exposure row as the last transaction committed by a time left it, from exposure_history (NULL: nothing recorded by then)';
REVOKE EXECUTE ON FUNCTION pgcredit._exposure_history_row(text, timestamptz) FROM PUBLIC;
-- exposure_at() calls it as its reader
GRANT EXECUTE ON FUNCTION pgcredit._exposure_history_row(text, timestamptz) TO pgcredit_reader;

-- What the guard judged a customer by at a time
CREATE FUNCTION pgcredit.exposure_at(for_customer text, at_time timestamptz)
RETURNS TABLE (customer text, at timestamptz, changed_at timestamptz, receivables numeric,
               open_orders numeric, exposure numeric, has_account boolean, credit_limit numeric,
               limit_in_force numeric, tolerance_pct numeric, cover_counted numeric,
               available_credit numeric, status text)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
DECLARE
  key text := for_customer;
  h pgcredit.exposure_history;
  day date;
BEGIN
  IF key IS NULL OR at_time IS NULL THEN
    RAISE EXCEPTION 'customer and time must not be null' USING ERRCODE = 'null_value_not_allowed';
  END IF;
  IF NOT isfinite(at_time) THEN
    RAISE EXCEPTION 'time must be finite' USING ERRCODE = 'invalid_parameter_value';
  END IF;
  -- what the last transaction by then committed: from the history of the
  -- worker holding the customer on the coordinator of a Citus cluster
  -- with distributed tables attached (doc/citus.md), what the guard there
  -- judged by
  IF cardinality(pgcredit._citus_shells()) > 0 THEN
    h := jsonb_populate_record(NULL::pgcredit.exposure_history, pgcredit._citus_history_row(key, at_time));
  ELSE
    h := pgcredit._exposure_history_row(key, at_time);
  END IF;
  IF h.customer IS NULL THEN
    RETURN;       -- nothing recorded for the customer by then
  END IF;
  -- the day of the time, in the session's time zone, as the guard's today
  day := at_time::date;
  customer := key;
  at := at_time;
  changed_at := h.changed_at;
  -- money to the cent, whatever the tables' scales
  receivables := round(h.receivables, 2);
  open_orders := round(h.open_orders, 2);
  exposure := round(h.receivables + h.open_orders, 2);
  has_account := h.has_account;
  credit_limit := round(h.credit_limit, 2);
  limit_in_force := round(CASE WHEN h.has_account THEN
    pgcredit._effective_limit(h.credit_limit, h.temporary_limit, h.temporary_from, h.temporary_until, day) END, 2);
  tolerance_pct := h.tolerance_pct;
  cover_counted := round(CASE WHEN (h.cover_from IS NULL OR day >= h.cover_from)
                                   AND (h.cover_until IS NULL OR day <= h.cover_until)
                              THEN coalesce(h.cover_counted, 0) ELSE 0 END, 2);
  available_credit := round(limit_in_force * (1 + h.tolerance_pct / 100) + cover_counted
                            - (h.receivables + h.open_orders), 2);
  status := CASE WHEN h.has_account THEN h.status ELSE 'no account' END;
  RETURN NEXT;
END
$$;
COMMENT ON FUNCTION pgcredit.exposure_at(text, timestamptz) IS
  'what the guard judged a customer by at a time, from exposure_history (the last change of the latest transaction that had changed it by then): receivables, open orders, exposure, the limit and the limit in force on that day, tolerance, the cover that counted, the credit available and the status; no row when nothing was recorded for the customer by then';
REVOKE EXECUTE ON FUNCTION pgcredit.exposure_at(text, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgcredit.exposure_at(text, timestamptz) TO pgcredit_reader;

-- Every customer's exposure row as it stands, as one change now: where the
-- history starts when it is turned on, and when pgcredit is updated to 1.1
CREATE FUNCTION pgcredit._exposure_history_seed()
RETURNS bigint LANGUAGE sql VOLATILE
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
  WITH n AS (
    INSERT INTO pgcredit.exposure_history
    SELECT e.customer, pg_catalog.clock_timestamp(), e.receivables, e.open_orders, e.has_account,
           e.credit_limit, e.tolerance_pct, e.status, e.temporary_limit, e.temporary_from,
           e.temporary_until, e.cover_counted, e.cover_from, e.cover_until,
           pg_catalog.pg_current_xact_id()::text::bigint
    FROM pgcredit.exposure e
    RETURNING 1)
  SELECT count(*) FROM n
$$;
COMMENT ON FUNCTION pgcredit._exposure_history_seed() IS
  'record every customer''s exposure row as it stands in exposure_history; returns how many';
REVOKE EXECUTE ON FUNCTION pgcredit._exposure_history_seed() FROM PUBLIC;

CREATE FUNCTION pgcredit.set_exposure_history(enabled boolean, reason text)
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
  SELECT s.exposure_history INTO before FROM pgcredit.settings s FOR UPDATE;
  INSERT INTO pgcredit.settings AS s (exposure_history) VALUES (enabled)
  ON CONFLICT (only_row) DO UPDATE SET exposure_history = EXCLUDED.exposure_history;
  -- turned on again: the history goes on from every customer's exposure
  -- as it stands (what changed while it was off is not known)
  IF enabled AND NOT coalesce(before, true) THEN
    PERFORM pgcredit._exposure_history_seed();
  END IF;
  PERFORM pgcredit._audit('set_exposure_history', NULL,
    jsonb_build_object('exposure_history', coalesce(before, true)),
    jsonb_build_object('exposure_history', enabled), reason);
END
$$;
COMMENT ON FUNCTION pgcredit.set_exposure_history(boolean, text) IS
  'whether every change of a customer''s exposure row is recorded in exposure_history (on by default); audited';
REVOKE EXECUTE ON FUNCTION pgcredit.set_exposure_history(boolean, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgcredit.set_exposure_history(boolean, text) TO pgcredit_admin;

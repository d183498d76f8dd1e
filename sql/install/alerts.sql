-- Risk: alerts, raised by the scoring, by holds and by held orders

CREATE TABLE pgcredit.alert (
  id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  raised_at   timestamptz NOT NULL DEFAULT pg_catalog.clock_timestamp(),
  kind        text NOT NULL CHECK (kind IN ('score_downgrade', 'tier_change', 'account_hold', 'order_held',
                                            'limit_breached', 'overdue_30', 'overdue_60', 'overdue_90',
                                            'review_overdue', 'horizon_over_limit', 'cover_expiring',
                                            'exposure_uninsured', 'promise_broken', 'promise_partly_kept',
                                            'plan_broken')),
  customer    text,
  details     jsonb NOT NULL DEFAULT '{}'
);
COMMENT ON TABLE pgcredit.alert IS 'early-warning events; each is also announced with NOTIFY pgcredit_alerts and a JSON payload of its id and kind';
COMMENT ON COLUMN pgcredit.alert.id IS 'alert number';
COMMENT ON COLUMN pgcredit.alert.raised_at IS 'when it was raised';
COMMENT ON COLUMN pgcredit.alert.kind IS 'score_downgrade, tier_change, account_hold (account put on hold or blocked), order_held, limit_breached (an order held because it would pass the limit), overdue_30/60/90 (the oldest open item crossed that many days past due), review_overdue, horizon_over_limit (orders that came within the horizon took the customer over its limit), cover_expiring (a cover ends within its kind''s notice), exposure_uninsured (exposure above the insured limit), promise_broken and promise_partly_kept (nothing, or less than promised, was paid by the day of a promise to pay), plan_broken (an instalment of a payment plan unpaid past its grace days)';
COMMENT ON COLUMN pgcredit.alert.customer IS 'customer key';
COMMENT ON COLUMN pgcredit.alert.details IS 'the figures behind it, as JSON';
REVOKE ALL ON pgcredit.alert FROM PUBLIC;
GRANT SELECT ON pgcredit.alert TO pgcredit_reader;
SELECT pg_catalog.pg_extension_config_dump('pgcredit.alert', '');
SELECT pg_catalog.pg_extension_config_dump('pgcredit.alert_id_seq', '');
COMMENT ON SEQUENCE pgcredit.alert_id_seq IS 'numbers of alerts (alert.id)';


-- Every alert goes out on the pgcredit_alerts channel too
CREATE FUNCTION pgcredit._notify_alert()
RETURNS trigger LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
BEGIN
  -- any role can LISTEN: the payload says only that an alert was raised
  -- and of which kind; its details stay in pgcredit.alert, behind its grants.
  -- Not on a Citus worker: its transactions are prepared (two-phase
  -- commit), which NOTIFY forbids; the coordinator announces alerts
  IF pgcredit._citus_installed() AND NOT pgcredit._citus_coordinator() THEN
    RETURN NULL;
  END IF;
  PERFORM pg_notify('pgcredit_alerts', json_build_object('id', NEW.id, 'kind', NEW.kind)::text);
  RETURN NULL;
END
$$;
COMMENT ON FUNCTION pgcredit._notify_alert() IS 'AFTER INSERT on alert: NOTIFY pgcredit_alerts with the alert''s id and kind as JSON';
REVOKE EXECUTE ON FUNCTION pgcredit._notify_alert() FROM PUBLIC;
CREATE TRIGGER notify_alert AFTER INSERT ON pgcredit.alert
  FOR EACH ROW EXECUTE FUNCTION pgcredit._notify_alert();

-- Holds raise alerts as they happen
CREATE FUNCTION pgcredit._alert_on_hold()
RETURNS trigger LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
BEGIN
  -- on a Citus worker the change is the coordinator's, which raised it
  IF pgcredit._citus_installed() AND NOT pgcredit._citus_coordinator() THEN
    RETURN NULL;
  END IF;
  IF NEW.status IN ('hold', 'blocked') AND OLD.status IS DISTINCT FROM NEW.status THEN
    INSERT INTO pgcredit.alert (kind, customer, details)
    VALUES ('account_hold', NEW.customer,
            jsonb_build_object('status', NEW.status, 'hold_reason', NEW.hold_reason));
  END IF;
  RETURN NULL;
END
$$;
COMMENT ON FUNCTION pgcredit._alert_on_hold() IS 'AFTER UPDATE OF status on account: an alert when an account is put on hold or blocked (held orders raise theirs as the guard records them)';
REVOKE EXECUTE ON FUNCTION pgcredit._alert_on_hold() FROM PUBLIC;
-- (on updates only: a restore copies rows in, and raises nothing again)
CREATE TRIGGER alert_on_hold AFTER UPDATE OF status ON pgcredit.account
  FOR EACH ROW EXECUTE FUNCTION pgcredit._alert_on_hold();

-- A held order is recorded once while it stays held, with its alert
CREATE FUNCTION pgcredit._record_hold_fx(tbl oid, row_key jsonb, customer text, amount numeric, why text,
                                        row_amount numeric, row_currency text, rate_date date)
RETURNS void LANGUAGE sql VOLATILE
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
  WITH h AS (
    INSERT INTO pgcredit.held_order (relid, row_key, customer, amount, why, row_amount, row_currency, rate_date)
    SELECT $1, $2, $3, $4, $5, $6, $7, $8
    WHERE NOT EXISTS (SELECT FROM pgcredit.held_order o
                      WHERE o.relid = $1 AND o.row_key = $2 AND o.released_at IS NULL)
    RETURNING *)
  INSERT INTO pgcredit.alert (kind, customer, details)
  SELECT CASE WHEN h.why LIKE 'customer over its credit limit%' THEN 'limit_breached' ELSE 'order_held' END,
         h.customer,
         jsonb_build_object('held_order', h.id, 'table', h.relid::text, 'amount', h.amount, 'why', h.why)
         || CASE WHEN h.row_currency IS NULL THEN '{}'::jsonb
                 ELSE jsonb_build_object('order_amount', h.row_amount, 'order_currency', h.row_currency) END
  FROM h
$$;
COMMENT ON FUNCTION pgcredit._record_hold_fx(oid, jsonb, text, numeric, text, numeric, text, date) IS
  'the guard records a held order (amount in the account''s currency; for an order in a currency of its own, also its amount, currency and rate date as it is), unless the row has an open hold already, and raises its alert (limit_breached or order_held)';
REVOKE EXECUTE ON FUNCTION pgcredit._record_hold_fx(oid, jsonb, text, numeric, text, numeric, text, date) FROM PUBLIC;
CREATE FUNCTION pgcredit._record_hold(tbl oid, row_key jsonb, customer text, amount numeric, why text)
RETURNS void LANGUAGE sql VOLATILE
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
  SELECT pgcredit._record_hold_fx($1, $2, $3, $4, $5, NULL, NULL, NULL)
$$;
COMMENT ON FUNCTION pgcredit._record_hold(oid, jsonb, text, numeric, text) IS
  'the guard records a held order in the account''s currency, unless the row has an open hold already, and raises its alert (limit_breached or order_held)';
REVOKE EXECUTE ON FUNCTION pgcredit._record_hold(oid, jsonb, text, numeric, text) FROM PUBLIC;

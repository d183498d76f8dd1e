-- Credit control: held orders and overrides (pgcredit_controller)

----------------------------------------------------------------------
-- Credit control: holds and overrides (pgcredit_controller)
----------------------------------------------------------------------

CREATE TABLE pgcredit.held_order (
  id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  relid           regclass NOT NULL,
  row_key         jsonb NOT NULL,
  customer        text NOT NULL,
  amount          numeric NOT NULL,
  why             text NOT NULL,
  held_at         timestamptz NOT NULL DEFAULT pg_catalog.now(),
  released_at     timestamptz,
  released_by     name,
  release_reason  text,
  rejected        boolean NOT NULL DEFAULT false,
  row_amount      numeric,
  row_currency    text,
  rate_date       date
);
COMMENT ON TABLE pgcredit.held_order IS 'orders let in on credit hold, and their release';
COMMENT ON COLUMN pgcredit.held_order.id IS 'hold number, for release_held_order()';
COMMENT ON COLUMN pgcredit.held_order.relid IS 'the order table';
COMMENT ON COLUMN pgcredit.held_order.row_key IS 'primary key of the held row, as JSON';
COMMENT ON COLUMN pgcredit.held_order.customer IS 'customer key';
COMMENT ON COLUMN pgcredit.held_order.amount IS 'order amount (the part that uses credit), in the account''s currency: converted at the rate of its rate date when it was held, for an order in another currency';
COMMENT ON COLUMN pgcredit.held_order.why IS 'why the order was held';
COMMENT ON COLUMN pgcredit.held_order.held_at IS 'when it was held';
COMMENT ON COLUMN pgcredit.held_order.released_at IS 'when it was released; NULL while held';
COMMENT ON COLUMN pgcredit.held_order.released_by IS 'who released it';
COMMENT ON COLUMN pgcredit.held_order.release_reason IS 'why it was released';
COMMENT ON COLUMN pgcredit.held_order.row_amount IS 'for an order in a currency of its own (a table attached with a currency column): its amount in that currency, as held; NULL else';
COMMENT ON COLUMN pgcredit.held_order.row_currency IS 'the currency of such an order (ISO 4217 code); NULL: the account''s';
COMMENT ON COLUMN pgcredit.held_order.rate_date IS 'the rate date of such an order, whose rate converts it';
COMMENT ON COLUMN pgcredit.held_order.rejected IS 'true when reject_held_order() closed the hold: the order is refused, its row stays marked held';
REVOKE ALL ON pgcredit.held_order FROM PUBLIC;
GRANT SELECT ON pgcredit.held_order TO pgcredit_reader;
SELECT pg_catalog.pg_extension_config_dump('pgcredit.held_order', '');
SELECT pg_catalog.pg_extension_config_dump('pgcredit.held_order_id_seq', '');
COMMENT ON SEQUENCE pgcredit.held_order_id_seq IS 'numbers of held orders (held_order.id)';

CREATE TABLE pgcredit.override (
  xid         xid8 NOT NULL,
  customer    text NOT NULL,
  reason      text NOT NULL,
  granted_by  name NOT NULL,
  granted_at  timestamptz NOT NULL DEFAULT pg_catalog.now(),
  PRIMARY KEY (xid, customer)
);
COMMENT ON TABLE pgcredit.override IS 'overrides of the credit check, each valid for one customer in one transaction';
COMMENT ON COLUMN pgcredit.override.xid IS 'the transaction the override is valid in';
COMMENT ON COLUMN pgcredit.override.customer IS 'customer key';
COMMENT ON COLUMN pgcredit.override.reason IS 'why';
COMMENT ON COLUMN pgcredit.override.granted_by IS 'who granted it';
COMMENT ON COLUMN pgcredit.override.granted_at IS 'when';
REVOKE ALL ON pgcredit.override FROM PUBLIC;
GRANT SELECT ON pgcredit.override TO pgcredit_reader;


CREATE FUNCTION pgcredit._clear_hold_mark(tbl regclass, row_key jsonb, customer text, amount numeric,
                                          currency text, rate_date date)
RETURNS text
AS 'MODULE_PATHNAME', 'pgc_clear_hold_mark'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION pgcredit._clear_hold_mark(regclass, jsonb, text, numeric, text, date) IS
  'clear the hold mark of a held row as the table''s owner if it still holds the customer, amount, currency (NULL: the account''s; amount is in it) and rate date that were held: released, gone or changed; NULL when tbl, row_key, customer or amount is NULL';
REVOKE EXECUTE ON FUNCTION pgcredit._clear_hold_mark(regclass, jsonb, text, numeric, text, date) FROM PUBLIC;


CREATE FUNCTION pgcredit._grant_override(customer text, reason text)
RETURNS void LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
BEGIN
  -- overrides of finished transactions are spent
  DELETE FROM pgcredit.override o WHERE o.xid < pg_snapshot_xmin(pg_current_snapshot());
  INSERT INTO pgcredit.override AS o (xid, customer, reason, granted_by)
  VALUES (pg_current_xact_id(), _grant_override.customer, _grant_override.reason, pgcredit._actor())
  ON CONFLICT ON CONSTRAINT override_pkey DO UPDATE SET reason = EXCLUDED.reason;
  PERFORM pgcredit._audit('override_block', customer, NULL,
                          jsonb_build_object('xid', pg_current_xact_id()::text), reason);
END
$$;
COMMENT ON FUNCTION pgcredit._grant_override(text, text) IS
  'record an override of a customer''s credit check for this transaction, audited as override_block';
REVOKE EXECUTE ON FUNCTION pgcredit._grant_override(text, text) FROM PUBLIC;

CREATE FUNCTION pgcredit.override_block(customer text, reason text)
RETURNS void LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
BEGIN
  PERFORM pgcredit._check_reason(reason);
  IF customer IS NULL THEN
    RAISE EXCEPTION 'customer must not be null' USING ERRCODE = 'null_value_not_allowed';
  END IF;
  -- above the policy's threshold, only with an approved request
  PERFORM pgcredit._check_approval('override', customer,
    (SELECT coalesce(sum(e.receivables + e.open_orders), 0) FROM pgcredit.exposure e
     WHERE e.customer = override_block.customer));
  PERFORM pgcredit._grant_override(customer, reason);
END
$$;
COMMENT ON FUNCTION pgcredit.override_block(text, text) IS
  'let this transaction''s orders for a customer pass the credit check, with a reason, audited';
REVOKE EXECUTE ON FUNCTION pgcredit.override_block(text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgcredit.override_block(text, text) TO pgcredit_controller;

CREATE FUNCTION pgcredit.release_held_order(held_id bigint, reason text)
RETURNS pgcredit.held_order LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
DECLARE
  h pgcredit.held_order;
  att pgcredit.attachment;
  outcome text;
  had_override boolean;
  exposure_before numeric;
  released numeric;
BEGIN
  PERFORM pgcredit._check_reason(reason);
  SELECT * INTO h FROM pgcredit.held_order o WHERE o.id = held_id FOR UPDATE;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'held order % does not exist', held_id USING ERRCODE = 'undefined_object';
  END IF;
  IF h.rejected THEN
    RAISE EXCEPTION 'held order % was rejected', held_id
      USING ERRCODE = 'object_not_in_prerequisite_state',
      DETAIL = format('%s rejected it: %s.', h.released_by, h.release_reason);
  END IF;
  IF h.released_at IS NOT NULL THEN
    RAISE EXCEPTION 'held order % was already released', held_id
      USING ERRCODE = 'object_not_in_prerequisite_state',
      DETAIL = format('%s released it at %s.', h.released_by, h.released_at);
  END IF;
  -- the attachment of the table, or of the partitioned table it belongs to
  SELECT * INTO att FROM pgcredit.attachment a
  WHERE a.relid = h.relid OR a.relid IN (SELECT pg_partition_ancestors(h.relid))
  ORDER BY a.relid = h.relid DESC LIMIT 1;
  IF NOT FOUND OR att.mode <> 'hold' THEN
    RAISE EXCEPTION 'table "%" of held order % is no longer attached in hold mode', h.relid, held_id
      USING ERRCODE = 'object_not_in_prerequisite_state';
  END IF;
  -- above the policy's threshold, only through an approved request
  PERFORM pgcredit._check_approval('release', h.customer, h.amount, held_id);
  had_override := EXISTS (SELECT FROM pgcredit.override o
                         WHERE o.xid = pg_current_xact_id() AND o.customer = h.customer);
  -- mark the hold released first, so that the guard, seeing the hold mark
  -- cleared, finds no open hold of the row left to close
  UPDATE pgcredit.held_order o SET released_at = now(), released_by = pgcredit._actor(),
                                   release_reason = reason
  WHERE o.id = held_id RETURNING * INTO h;
  -- any other open hold of the same row is released with it
  UPDATE pgcredit.held_order o SET released_at = h.released_at, released_by = h.released_by,
                                   release_reason = reason
  WHERE o.relid = h.relid AND o.row_key = h.row_key AND o.released_at IS NULL;
  exposure_before := (SELECT coalesce(sum(e.receivables + e.open_orders), 0) FROM pgcredit.exposure e
                      WHERE e.customer = h.customer);
  -- what the release counts: an order in a currency of its own is
  -- converted again, at the rate of its rate date as it is now
  released := h.amount;
  IF h.row_currency IS NOT NULL THEN
    SELECT CASE WHEN h.row_currency = pgcredit._effective_currency(e.currency) THEN h.row_amount
                ELSE pgcredit.fx_convert(h.row_amount, h.row_currency, pgcredit._effective_currency(e.currency),
                                         h.rate_date) END
    INTO released FROM pgcredit.exposure e WHERE e.customer = h.customer;
  END IF;
  PERFORM pgcredit._grant_override(h.customer, reason);
  -- the row, changed as the table's owner, only if it still is what was held
  outcome := pgcredit._clear_hold_mark(h.relid, h.row_key, h.customer, coalesce(h.row_amount, h.amount),
                                       h.row_currency, h.rate_date);
  -- the override served this release only: later orders of the
  -- transaction are checked again
  IF NOT had_override THEN
    DELETE FROM pgcredit.override o WHERE o.xid = pg_current_xact_id() AND o.customer = h.customer;
    -- and so were orders the table's triggers wrote meanwhile: more
    -- exposure than the order released went past the check with it
    IF outcome = 'released'
       AND (SELECT coalesce(sum(e.receivables + e.open_orders), 0) FROM pgcredit.exposure e
            WHERE e.customer = h.customer) > exposure_before + released THEN
      RAISE EXCEPTION 'other orders of customer "%" were written while held order % was released', h.customer, held_id
        USING ERRCODE = 'object_not_in_prerequisite_state',
        DETAIL = 'The release lets that order past the credit check, and no other: a trigger of the table wrote more for the customer.',
        HINT = 'Release it when the table''s triggers write no orders, or have those orders checked in a transaction of their own.';
    END IF;
  END IF;
  IF outcome = 'gone' THEN
    RAISE EXCEPTION 'the row of held order % is gone', held_id USING ERRCODE = 'no_data_found',
      DETAIL = format('No row of %s has the key %s.', h.relid, h.row_key);
  ELSIF outcome = 'changed' THEN
    RAISE EXCEPTION 'the row of held order % changed since it was held', held_id
      USING ERRCODE = 'object_not_in_prerequisite_state',
      DETAIL = format('The hold was for %s%s of customer %s, and the row of %s with the key %s no longer holds that order marked held.',
                      coalesce(h.row_amount, h.amount), coalesce(' ' || h.row_currency, ''), h.customer, h.relid, h.row_key),
      HINT = 'Look at the order again in pgcredit.held_orders, and release the hold it has now.';
  END IF;
  PERFORM pgcredit._audit('release_held_order', h.customer, jsonb_build_object('held_order', held_id),
                          jsonb_build_object('amount', h.amount), reason);
  RETURN h;
END
$$;
COMMENT ON FUNCTION pgcredit.release_held_order(bigint, text) IS
  'release a held order: clear its hold mark, count it in exposure past the check, audited';
REVOKE EXECUTE ON FUNCTION pgcredit.release_held_order(bigint, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgcredit.release_held_order(bigint, text) TO pgcredit_controller;

CREATE FUNCTION pgcredit._close_held_order(tbl oid, row_key jsonb, reason text)
RETURNS void LANGUAGE sql VOLATILE
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
  WITH closed AS (
    UPDATE pgcredit.held_order o SET released_at = now(), released_by = pgcredit._actor(),
                                     release_reason = $3
    WHERE o.relid = $1 AND o.row_key = $2 AND o.released_at IS NULL
    RETURNING o.id, o.customer, o.amount)
  SELECT pgcredit._audit('close_held_order', c.customer, jsonb_build_object('held_order', c.id),
                         jsonb_build_object('amount', c.amount), $3)
  FROM closed c
$$;
COMMENT ON FUNCTION pgcredit._close_held_order(oid, jsonb, text) IS
  'close the open hold records of a row whose hold mark the application cleared (the order fit) or that was deleted, audited';
REVOKE EXECUTE ON FUNCTION pgcredit._close_held_order(oid, jsonb, text) FROM PUBLIC;

CREATE FUNCTION pgcredit._move_held_order(from_tbl oid, from_key jsonb, to_tbl oid, to_key jsonb)
RETURNS void LANGUAGE sql VOLATILE
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
  UPDATE pgcredit.held_order o SET relid = $3, row_key = $4
  WHERE o.relid = $1 AND o.row_key = $2 AND o.released_at IS NULL
$$;
COMMENT ON FUNCTION pgcredit._move_held_order(oid, jsonb, oid, jsonb) IS
  'follow a held row that an update moved to another partition';
REVOKE EXECUTE ON FUNCTION pgcredit._move_held_order(oid, jsonb, oid, jsonb) FROM PUBLIC;

-- What an application learns of the hold its write caused
CREATE FUNCTION pgcredit.last_held_order_id()
RETURNS bigint
AS 'MODULE_PATHNAME', 'pgc_last_held_order_id'
LANGUAGE C VOLATILE PARALLEL RESTRICTED;
COMMENT ON FUNCTION pgcredit.last_held_order_id() IS
  'the id (held_order.id) of the held order this session''s writes recorded last, as lastval() for sequences; NULL when none did';
-- EXECUTE: PUBLIC (the default): a session learns only of its own holds

-- What an order screen needs of one customer, for a role that may read
-- no account: pgcredit_sales, which may already ask check_order()
CREATE FUNCTION pgcredit.credit_status(for_customer text)
RETURNS TABLE (customer text, status text, credit_limit numeric, available_credit numeric,
               limited_by text, exposure numeric, receivables numeric, open_orders numeric,
               held_orders bigint, held_amount numeric, currency text, as_of date)
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
DECLARE
  key text := for_customer;
  a pgcredit.account;
  e pgcredit.exposure;
  c record;
  gh record;
BEGIN
  IF key IS NULL THEN
    RAISE EXCEPTION 'customer must not be null' USING ERRCODE = 'null_value_not_allowed';
  END IF;
  -- the guard's own answer for an order of 0: what the customer's limit
  -- leaves before an order (with tolerance and cover), and its refusal of
  -- a key too long (54000)
  SELECT * INTO c FROM pgcredit.check_order(key, 0);
  SELECT * INTO a FROM pgcredit.account x WHERE x.customer = key;
  SELECT * INTO e FROM pgcredit.exposure x WHERE x.customer = key;
  -- on the coordinator of a Citus cluster, the worker's (doc/citus.md)
  IF cardinality(pgcredit._citus_shells()) > 0 THEN
    SELECT w.receivables, w.open_orders INTO e.receivables, e.open_orders
    FROM pgcredit._citus_exposure_at(current_date, key) w;
  END IF;
  credit_status.customer := key;
  status := coalesce(a.status, 'no account');
  credit_limit := round(pgcredit._effective_limit(a.credit_limit, a.temporary_limit, a.temporary_from,
                                                  a.temporary_until, current_date), 2);
  available_credit := round(c.credit_available, 2);
  limited_by := CASE WHEN c.credit_available IS NOT NULL THEN 'customer' END;
  -- a member of a credit group: the least headroom over its own limit and
  -- every group limit of its chain, as the guard checks them all
  SELECT g.limit_headroom, g.limited_by INTO gh FROM pgcredit.group_member_risk g WHERE g.customer = key;
  IF FOUND THEN
    available_credit := round(gh.limit_headroom, 2);
    limited_by := gh.limited_by;
  END IF;
  -- money to the cent, whatever the tables' scales
  receivables := round(coalesce(e.receivables, 0), 2);
  open_orders := round(coalesce(e.open_orders, 0), 2);
  exposure := receivables + open_orders;
  SELECT count(*), round(coalesce(sum(h.amount), 0), 2) INTO held_orders, held_amount
  FROM pgcredit.held_order h WHERE h.customer = key AND h.released_at IS NULL;
  currency := coalesce(a.currency, (SELECT s.base_currency FROM pgcredit.settings s));
  as_of := current_date;
  RETURN NEXT;
END
$$;
COMMENT ON FUNCTION pgcredit.credit_status(text) IS
  'one customer''s credit now, for application code that may read no account: status (no account without one), the limit in force today, the credit available before an order as the guard judges it (the least headroom over the customer''s limit and its credit groups'', with tolerance and cover; NULL without a limit) and which limit binds (customer or group), exposure, receivables and open orders, the orders on hold and their amount, the account''s currency (NULL in a single-currency book), the day';
REVOKE EXECUTE ON FUNCTION pgcredit.credit_status(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgcredit.credit_status(text) TO pgcredit_reader, pgcredit_sales;

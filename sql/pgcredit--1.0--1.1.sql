-- pgcredit 1.0 to 1.1: every catalog change since release 1.0.  A fresh
-- 1.1 (built from sql/install/) and 1.0 updated with this script must hold
-- the same catalog: test/t/upgrade.pl compares them.  Released: never edit.

\echo Use "ALTER EXTENSION pgcredit UPDATE" to load this file. \quit

----------------------------------------------------------------------
-- tier_policy and external_score_scale refuse NaN and infinity
--
-- numeric NaN passed their ">= 0" checks (NaN sorts above every number),
-- and the scale bounds had no check at all.  A database that holds such
-- a value already is not changed behind its owner's back: the update
-- stops and names the rows to correct.
----------------------------------------------------------------------

DO $check$
DECLARE
  bad text;
BEGIN
  SELECT string_agg(what, ', ' ORDER BY what) INTO bad FROM (
    SELECT format('tier_policy tier %s (tolerance_pct %s, limit_months %s)', p.tier, p.tolerance_pct, p.limit_months) AS what
    FROM pgcredit.tier_policy p
    WHERE p.tolerance_pct IN ('NaN', 'Infinity', '-Infinity') OR p.limit_months IN ('NaN', 'Infinity', '-Infinity')
    UNION ALL
    SELECT format('external_score_scale source %s (worst %s, best %s)', s.source, s.worst, s.best)
    FROM pgcredit.external_score_scale s
    WHERE s.worst IN ('NaN', 'Infinity', '-Infinity') OR s.best IN ('NaN', 'Infinity', '-Infinity')) AS rows;
  IF bad IS NOT NULL THEN
    RAISE EXCEPTION 'cannot update pgcredit while tier_policy or external_score_scale holds NaN or infinity'
      USING ERRCODE = 'check_violation',
      DETAIL = format('These rows hold such values: %s.', bad),
      HINT = 'Set those values to finite numbers, then run ALTER EXTENSION pgcredit UPDATE again.';
  END IF;
END
$check$;

ALTER TABLE pgcredit.tier_policy
  DROP CONSTRAINT tier_policy_tolerance_pct_check,
  ADD CONSTRAINT tier_policy_tolerance_pct_check CHECK (tolerance_pct >= 0 AND tolerance_pct < 'Infinity'),
  DROP CONSTRAINT tier_policy_limit_months_check,
  ADD CONSTRAINT tier_policy_limit_months_check CHECK (limit_months >= 0 AND limit_months < 'Infinity');
ALTER TABLE pgcredit.external_score_scale ADD CONSTRAINT external_score_scale_worst_check CHECK (worst > '-Infinity' AND worst < 'Infinity');
ALTER TABLE pgcredit.external_score_scale ADD CONSTRAINT external_score_scale_best_check CHECK (best > '-Infinity' AND best < 'Infinity');

----------------------------------------------------------------------
-- Messages of one sentence, with their detail in full sentences
----------------------------------------------------------------------

CREATE OR REPLACE FUNCTION pgcredit._attach(tbl regclass, kind text, customer_column name, amount_column name,
                                 due_column name, open_column name, open_values text[],
                                 mode text, hold_column name,
                                 invoice_amount_column name DEFAULT NULL, invoiced_column name DEFAULT NULL,
                                 paid_column name DEFAULT NULL)
RETURNS pgcredit.attachment LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
DECLARE
  full_type text;
  canonical text[];
  v text;
  att pgcredit.attachment;
  c record;
  n bigint;
BEGIN
  IF tbl IS NULL THEN
    RAISE EXCEPTION 'table must not be null' USING ERRCODE = 'null_value_not_allowed';
  END IF;
  IF (SELECT relkind FROM pg_catalog.pg_class WHERE oid = tbl) NOT IN ('r', 'p') THEN
    RAISE EXCEPTION '"%" is not a table', tbl USING ERRCODE = 'wrong_object_type',
      HINT = 'pgcredit attaches to tables and partitioned tables.';
  END IF;
  -- attaching installs triggers on the table and lets pgcredit read it:
  -- only its owner may ask for that, as for CREATE TRIGGER by the owner
  IF NOT pg_catalog.pg_has_role(pgcredit._actor(),
                                (SELECT relowner FROM pg_catalog.pg_class WHERE oid = tbl), 'USAGE') THEN
    RAISE EXCEPTION 'must be owner of table %', tbl USING ERRCODE = 'insufficient_privilege',
      DETAIL = format('Role %s is not a member of %s, the owner of the table.', pgcredit._actor(),
                      (SELECT relowner::regrole FROM pg_catalog.pg_class WHERE oid = tbl)),
      HINT = 'Attach the table as its owner (a member of pgcredit_admin too).';
  END IF;
  IF (SELECT relnamespace FROM pg_catalog.pg_class WHERE oid = tbl) = 'pgcredit'::regnamespace THEN
    RAISE EXCEPTION 'cannot attach pgcredit''s own table "%"', tbl USING ERRCODE = 'wrong_object_type';
  END IF;
  IF (SELECT relpersistence FROM pg_catalog.pg_class WHERE oid = tbl) = 't' THEN
    RAISE EXCEPTION 'cannot attach temporary table "%"', tbl USING ERRCODE = 'wrong_object_type';
  END IF;
  IF (SELECT relispartition FROM pg_catalog.pg_class WHERE oid = tbl) THEN
    RAISE EXCEPTION 'table "%" is a partition', tbl USING ERRCODE = 'wrong_object_type',
      HINT = 'Attach the partitioned table it belongs to.';
  END IF;
  -- rows of inheritance children would escape the guard, which fires on
  -- the table the row is written to
  IF pgcredit._in_inheritance(tbl) THEN
    RAISE EXCEPTION 'table "%" takes part in table inheritance', tbl USING ERRCODE = 'feature_not_supported',
      DETAIL = 'Rows written to an inheritance child or parent would not be guarded.',
      HINT = 'Attach each table on its own, or use declarative partitioning.';
  END IF;
  IF EXISTS (SELECT FROM pgcredit.attachment a WHERE a.relid = tbl) THEN
    RAISE EXCEPTION 'table "%" is already attached', tbl USING ERRCODE = 'duplicate_object',
      HINT = 'Detach it first with pgcredit.detach().';
  END IF;

  PERFORM pgcredit._column_type(tbl, customer_column, 'customer');
  PERFORM pgcredit._check_attach_column(tbl, customer_column, 'customer');
  PERFORM pgcredit._column_type(tbl, amount_column, 'amount');
  PERFORM pgcredit._check_attach_column(tbl, amount_column, 'amount');
  IF due_column IS NOT NULL THEN
    PERFORM pgcredit._column_type(tbl, due_column, 'due date');
    PERFORM pgcredit._check_attach_column(tbl, due_column, 'date');
  END IF;

  IF open_column IS NOT NULL THEN
    PERFORM pgcredit._column_type(tbl, open_column, 'open-state');
    PERFORM pgcredit._check_attach_column(tbl, open_column, 'open-state');
    IF open_values IS NULL OR cardinality(open_values) = 0 THEN
      RAISE EXCEPTION 'open_values must list the values of "%" that count as open', open_column
        USING ERRCODE = 'invalid_parameter_value', HINT = 'For example ARRAY[''open'', ''confirmed''].';
    END IF;
    -- keep the values as the column's type, with its modifier, prints
    -- them (character(6) pads, numeric(5,2) shows two decimals), refusing
    -- invalid ones; the types allowed have built-in input functions only
    SELECT pg_catalog.format_type(a.atttypid, a.atttypmod) INTO full_type FROM pg_catalog.pg_attribute a
    WHERE a.attrelid = tbl AND a.attname = open_column;
    FOREACH v IN ARRAY open_values LOOP
      -- numbers without their trailing fractional zeros, as the guard compares them
      EXECUTE format(CASE WHEN full_type LIKE 'numeric%%'
                          THEN 'SELECT pg_catalog.trim_scale($1::%s)::text'
                          ELSE 'SELECT pg_catalog.format(''%%s'', $1::%s)' END, full_type) INTO v USING v;
      canonical := canonical || v;
    END LOOP;
    open_values := canonical;
  ELSIF open_values IS NOT NULL THEN
    RAISE EXCEPTION 'open_values need an open_column' USING ERRCODE = 'invalid_parameter_value';
  END IF;

  IF hold_column IS NOT NULL THEN
    PERFORM pgcredit._column_type(tbl, hold_column, 'hold');
    PERFORM pgcredit._check_attach_column(tbl, hold_column, 'hold');
  END IF;
  IF mode = 'hold' THEN
    IF hold_column IS NULL THEN
      RAISE EXCEPTION 'hold mode needs a hold column' USING ERRCODE = 'invalid_parameter_value',
        HINT = 'Name a boolean column that pgcredit sets to true on held orders.';
    END IF;
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_index i WHERE i.indrelid = tbl AND i.indisprimary) THEN
      RAISE EXCEPTION 'table "%" has no primary key', tbl USING ERRCODE = 'object_not_in_prerequisite_state',
        HINT = 'Held orders are found again by primary key for release.';
    END IF;
  END IF;

  INSERT INTO pgcredit.attachment (relid, kind, customer_column, amount_column, due_column,
                                   open_column, open_values, mode, hold_column,
                                   invoice_amount_column, invoiced_column, paid_column)
  VALUES (tbl, kind, customer_column, amount_column, due_column, open_column, open_values, mode, hold_column,
          invoice_amount_column, invoiced_column, paid_column)
  RETURNING * INTO att;
  -- the triggers, created as the table's owner (which locks the table
  -- against writers until the end of the transaction)
  PERFORM pgcredit._table_triggers(tbl, true);

  -- what the table holds already, read as its owner
  SELECT count(*) INTO n FROM pgcredit._attached_items(NULL, NULL, tbl, true) i
  WHERE i.amount = 'NaN' OR i.amount IN ('Infinity', '-Infinity');
  IF n > 0 THEN
    RAISE EXCEPTION 'table "%" has amounts that are NaN or infinite', tbl
      USING ERRCODE = 'invalid_parameter_value',
      DETAIL = CASE WHEN n = 1 THEN format('One row has such a value in column %I.', amount_column)
                    ELSE format('%s rows have such a value in column %I.', n, amount_column) END,
      HINT = format('Correct them first: SELECT * FROM %s WHERE %I IN (''NaN'', ''Infinity'', ''-Infinity'').', tbl, amount_column);
  END IF;
  FOR c IN SELECT i.customer, sum(i.amount) AS amount FROM pgcredit._attached_items(NULL, NULL, tbl) i
           WHERE i.counts GROUP BY i.customer LOOP
    INSERT INTO pgcredit.exposure AS e (customer, receivables, open_orders)
    VALUES (c.customer, CASE WHEN kind = 'receivables' THEN c.amount ELSE 0 END,
            CASE WHEN kind = 'orders' THEN c.amount ELSE 0 END)
    ON CONFLICT (customer) DO UPDATE SET receivables = e.receivables + EXCLUDED.receivables,
                                         open_orders = e.open_orders + EXCLUDED.open_orders;
  END LOOP;

  PERFORM pgcredit._audit('attach_' || kind, NULL, NULL, to_jsonb(att), NULL);
  RETURN att;
END
$$;

CREATE OR REPLACE FUNCTION pgcredit._ddl_guard()
RETURNS event_trigger LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
DECLARE
  a pgcredit.attachment;
  dropped text;
BEGIN
  IF NOT EXISTS (SELECT FROM pgcredit.attachment) THEN
    RETURN;
  END IF;
  IF TG_EVENT = 'sql_drop' THEN
    SELECT d.object_identity INTO dropped
    FROM pg_catalog.pg_event_trigger_dropped_objects() d JOIN pgcredit.attachment x ON x.relid = d.objid
    WHERE d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass AND d.objsubid = 0 LIMIT 1;
    IF FOUND THEN
      RAISE EXCEPTION 'cannot drop table %, which is attached to pgcredit', dropped
        USING ERRCODE = 'dependent_objects_still_exist',
        HINT = 'Detach it first with pgcredit.detach(), which takes its rows out of exposure.';
    END IF;
    RETURN;
  END IF;
  FOR a IN
    SELECT x.* FROM pgcredit.attachment x
    WHERE x.relid IN (SELECT c.objid FROM pg_catalog.pg_event_trigger_ddl_commands() c
                      WHERE c.classid = 'pg_catalog.pg_class'::pg_catalog.regclass)
       OR x.relid IN (SELECT inh.inhparent FROM pg_catalog.pg_inherits inh
                      WHERE inh.inhrelid IN (SELECT c.objid FROM pg_catalog.pg_event_trigger_ddl_commands() c
                                             WHERE c.classid = 'pg_catalog.pg_class'::pg_catalog.regclass))
  LOOP
    IF pgcredit._in_inheritance(a.relid) THEN
      RAISE EXCEPTION 'table % is attached to pgcredit and cannot take part in table inheritance', a.relid
        USING ERRCODE = 'feature_not_supported',
        DETAIL = 'Rows written to an inheritance child or parent would not be guarded.',
        HINT = 'Use declarative partitioning, or detach the table first.';
    END IF;
    BEGIN
      PERFORM pgcredit._check_attach_column(a.relid, a.customer_column, 'customer');
      PERFORM pgcredit._check_attach_column(a.relid, a.amount_column, 'amount');
      PERFORM pgcredit._check_attach_column(a.relid, c, 'date')
      FROM unnest(ARRAY[a.due_column, a.invoiced_column, a.paid_column]) c WHERE c IS NOT NULL;
      IF a.open_column IS NOT NULL THEN
        PERFORM pgcredit._check_attach_column(a.relid, a.open_column, 'open-state');
      END IF;
      IF a.hold_column IS NOT NULL THEN
        PERFORM pgcredit._check_attach_column(a.relid, a.hold_column, 'hold');
      END IF;
      IF a.invoice_amount_column IS NOT NULL THEN
        PERFORM pgcredit._check_attach_column(a.relid, a.invoice_amount_column, 'amount');
      END IF;
    EXCEPTION WHEN undefined_column OR datatype_mismatch OR feature_not_supported THEN
      RAISE EXCEPTION 'cannot change table % this way while it is attached to pgcredit', a.relid
        USING ERRCODE = 'object_in_use',
        DETAIL = format('After this change the guard could not read the table: %s.', SQLERRM),
        HINT = 'Detach the table with pgcredit.detach(), change it, and attach it again.';
    END;
  END LOOP;
END
$$;

CREATE OR REPLACE FUNCTION pgcredit.release_held_order(held_id bigint, reason text)
RETURNS pgcredit.held_order LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
DECLARE
  h pgcredit.held_order;
  att pgcredit.attachment;
  outcome text;
  had_override boolean;
BEGIN
  PERFORM pgcredit._check_reason(reason);
  SELECT * INTO h FROM pgcredit.held_order o WHERE o.id = held_id FOR UPDATE;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'held order % does not exist', held_id USING ERRCODE = 'undefined_object';
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
  PERFORM pgcredit.override_block(h.customer, reason);
  -- the row, changed as the table's owner, only if it still is what was held
  outcome := pgcredit._clear_hold_mark(h.relid, h.row_key, h.customer, h.amount);
  -- the override served this release only: later orders of the
  -- transaction are checked again
  IF NOT had_override THEN
    DELETE FROM pgcredit.override o WHERE o.xid = pg_current_xact_id() AND o.customer = h.customer;
  END IF;
  IF outcome = 'gone' THEN
    RAISE EXCEPTION 'the row of held order % is gone', held_id USING ERRCODE = 'no_data_found',
      DETAIL = format('No row of %s has the key %s.', h.relid, h.row_key);
  ELSIF outcome = 'changed' THEN
    RAISE EXCEPTION 'the row of held order % changed since it was held', held_id
      USING ERRCODE = 'object_not_in_prerequisite_state',
      DETAIL = format('The hold was for %s of customer %s, and the row of %s with the key %s no longer holds that order marked held.',
                      h.amount, h.customer, h.relid, h.row_key),
      HINT = 'Look at the order again in pgcredit.held_orders, and release the hold it has now.';
  END IF;
  PERFORM pgcredit._audit('release_held_order', h.customer, jsonb_build_object('held_order', held_id),
                          jsonb_build_object('amount', h.amount), reason);
  RETURN h;
END
$$;

----------------------------------------------------------------------
-- Temporary limits (#12): account columns, the account functions
----------------------------------------------------------------------

ALTER TABLE pgcredit.account
  ADD COLUMN temporary_limit numeric CHECK (temporary_limit >= 0 AND temporary_limit < 'Infinity'),
  ADD COLUMN temporary_from date,
  ADD COLUMN temporary_until date,
  ADD CONSTRAINT temporary_limit_window CHECK (
    (temporary_limit IS NULL) = (temporary_until IS NULL)
    AND (temporary_limit IS NOT NULL OR temporary_from IS NULL)
    AND temporary_from > '-infinity' AND temporary_until < 'infinity'
    AND temporary_from <= temporary_until);
COMMENT ON COLUMN pgcredit.account.temporary_limit IS 'a limit that replaces credit_limit from temporary_from to temporary_until, both days included, and lapses by itself (seasonal headroom); NULL = none';
COMMENT ON COLUMN pgcredit.account.temporary_from IS 'first day of the temporary limit; NULL = from when it was set';
COMMENT ON COLUMN pgcredit.account.temporary_until IS 'last day of the temporary limit';

CREATE OR REPLACE FUNCTION pgcredit._change_account(customer text, changes jsonb, action text, reason text)
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

----------------------------------------------------------------------
-- Credit rules (#12): the credit policy as data, shadow rules,
-- check_order() and its role pgcredit_sales; the account fields the
-- rules read copied onto the exposure row
----------------------------------------------------------------------

DO $roles$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'pgcredit_sales') THEN
    CREATE ROLE pgcredit_sales NOLOGIN;
  END IF;
END
$roles$;

ALTER TABLE pgcredit.exposure
  ADD COLUMN risk_tier      text,
  ADD COLUMN next_review    date,
  ADD COLUMN temporary_limit numeric,
  ADD COLUMN temporary_from date,
  ADD COLUMN temporary_until date,
  ADD COLUMN order_count    bigint NOT NULL DEFAULT 0,
  ADD COLUMN order_sum      numeric NOT NULL DEFAULT 0;
COMMENT ON COLUMN pgcredit.exposure.risk_tier IS 'the account''s risk tier, copied like credit_limit (rules scoped to a tier read it)';
COMMENT ON COLUMN pgcredit.exposure.next_review IS 'the account''s next review date, copied like credit_limit (limit_expired rules read it)';
COMMENT ON COLUMN pgcredit.exposure.temporary_limit IS 'the account''s temporary limit, copied like credit_limit; the guard uses it within its window';
COMMENT ON COLUMN pgcredit.exposure.temporary_from IS 'first day of the temporary limit, copied like credit_limit';
COMMENT ON COLUMN pgcredit.exposure.temporary_until IS 'last day of the temporary limit, copied like credit_limit';
COMMENT ON COLUMN pgcredit.exposure.order_count IS 'orders the guard let in for the customer (largest_order rules compare an order with the average)';
COMMENT ON COLUMN pgcredit.exposure.order_sum IS 'sum of the amounts of those orders';
-- the copies of the accounts on the exposure rows
UPDATE pgcredit.exposure e SET risk_tier = a.risk_tier, next_review = a.next_review,
  temporary_limit = a.temporary_limit, temporary_from = a.temporary_from, temporary_until = a.temporary_until
FROM pgcredit.account a WHERE a.customer = e.customer;

CREATE OR REPLACE FUNCTION pgcredit._lock_exposure(customer text)
RETURNS void LANGUAGE sql VOLATILE
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
  INSERT INTO pgcredit.exposure AS e (customer, has_account, credit_limit, tolerance_pct, status,
                                      risk_tier, next_review, temporary_limit, temporary_from, temporary_until)
  SELECT $1, a.customer IS NOT NULL, a.credit_limit, coalesce(a.tolerance_pct, 0), coalesce(a.status, 'ok'),
         a.risk_tier, a.next_review, a.temporary_limit, a.temporary_from, a.temporary_until
  FROM (SELECT) AS one LEFT JOIN pgcredit.account a ON a.customer = $1
  ON CONFLICT (customer) DO UPDATE SET has_account = EXCLUDED.has_account,
    credit_limit = EXCLUDED.credit_limit, tolerance_pct = EXCLUDED.tolerance_pct, status = EXCLUDED.status,
    risk_tier = EXCLUDED.risk_tier, next_review = EXCLUDED.next_review,
    temporary_limit = EXCLUDED.temporary_limit, temporary_from = EXCLUDED.temporary_from,
    temporary_until = EXCLUDED.temporary_until
$$;
COMMENT ON FUNCTION pgcredit._lock_exposure(text) IS
  'lock a customer''s exposure row and copy the account''s limit, tolerance, status, risk tier, review date and temporary limit into it, so that the change serialises with the customer''s orders and the guard reads it under the row lock';

CREATE OR REPLACE FUNCTION pgcredit.rebuild_exposure()
RETURNS bigint LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
DECLARE
  fixed bigint;
BEGIN
  -- the attached tables are read under a SHARE lock, holding their
  -- writers while exposure is recomputed
  WITH actual AS (SELECT * FROM pgcredit._actual_exposure(true)),
  fix AS (
    INSERT INTO pgcredit.exposure AS e (customer, receivables, open_orders)
    SELECT coalesce(x.customer, e0.customer), coalesce(x.receivables, 0), coalesce(x.open_orders, 0)
    FROM actual x FULL JOIN pgcredit.exposure e0 ON e0.customer = x.customer
    WHERE coalesce(e0.receivables, 0) <> coalesce(x.receivables, 0)
       OR coalesce(e0.open_orders, 0) <> coalesce(x.open_orders, 0)
       OR e0.customer IS NULL
    ON CONFLICT (customer) DO UPDATE SET receivables = EXCLUDED.receivables,
                                         open_orders = EXCLUDED.open_orders
    RETURNING 1)
  SELECT count(*) INTO fixed FROM fix;
  -- and the copies of the accounts on the exposure rows
  UPDATE pgcredit.exposure e SET has_account = x.has_account, credit_limit = x.credit_limit,
                                 tolerance_pct = x.tolerance_pct, status = x.status,
                                 risk_tier = x.risk_tier, next_review = x.next_review,
                                 temporary_limit = x.temporary_limit, temporary_from = x.temporary_from,
                                 temporary_until = x.temporary_until
  FROM (SELECT e2.customer, acc.customer IS NOT NULL AS has_account, acc.credit_limit,
               coalesce(acc.tolerance_pct, 0) AS tolerance_pct, coalesce(acc.status, 'ok') AS status,
               acc.risk_tier, acc.next_review, acc.temporary_limit, acc.temporary_from, acc.temporary_until
        FROM pgcredit.exposure e2 LEFT JOIN pgcredit.account acc ON acc.customer = e2.customer) x
  WHERE x.customer = e.customer
    AND (e.has_account, e.credit_limit, e.tolerance_pct, e.status, e.risk_tier, e.next_review,
         e.temporary_limit, e.temporary_from, e.temporary_until)
        IS DISTINCT FROM (x.has_account, x.credit_limit, x.tolerance_pct, x.status, x.risk_tier, x.next_review,
                          x.temporary_limit, x.temporary_from, x.temporary_until);
  IF fixed > 0 THEN
    PERFORM pgcredit._audit('rebuild_exposure', NULL, NULL, jsonb_build_object('customers_fixed', fixed), NULL);
  END IF;
  RETURN fixed;
END
$$;

COMMENT ON COLUMN pgcredit.settings.max_days_past_due IS 'the days of the rule named ''max days past due'' that set_max_days_past_due() keeps (the guard reads the rule); NULL = no such rule';

CREATE OR REPLACE FUNCTION pgcredit.set_max_days_past_due(days int, reason text)
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

CREATE OR REPLACE FUNCTION pgcredit._record_hold(tbl oid, row_key jsonb, customer text, amount numeric, why text)
RETURNS void LANGUAGE sql VOLATILE
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
  WITH h AS (
    INSERT INTO pgcredit.held_order (relid, row_key, customer, amount, why)
    SELECT $1, $2, $3, $4, $5
    WHERE NOT EXISTS (SELECT FROM pgcredit.held_order o
                      WHERE o.relid = $1 AND o.row_key = $2 AND o.released_at IS NULL)
    RETURNING *)
  INSERT INTO pgcredit.alert (kind, customer, details)
  SELECT CASE WHEN h.why LIKE 'customer over its credit limit%' THEN 'limit_breached' ELSE 'order_held' END,
         h.customer,
         jsonb_build_object('held_order', h.id, 'table', h.relid::text, 'amount', h.amount, 'why', h.why)
  FROM h
$$;

CREATE TABLE pgcredit.credit_rule (
  id             bigint GENERATED BY DEFAULT AS IDENTITY (START WITH 100) PRIMARY KEY,
  name           text UNIQUE,
  kind           text NOT NULL
                 CHECK (kind IN ('credit_limit', 'account_status', 'days_past_due', 'overdue_amount',
                                 'largest_order', 'utilisation', 'limit_expired')),
  scope          text NOT NULL DEFAULT 'everyone'
                 CHECK (scope IN ('everyone', 'tier', 'group', 'customer')),
  scope_value    text,
  action         text NOT NULL CHECK (action IN ('refuse', 'hold', 'shadow')),
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
  builtin        boolean NOT NULL DEFAULT false,
  created_at     timestamptz NOT NULL DEFAULT pg_catalog.now(),
  created_by     name NOT NULL DEFAULT SESSION_USER,
  CONSTRAINT scope_value_given CHECK ((scope = 'everyone') = (scope_value IS NULL)),
  CONSTRAINT valid_window CHECK (valid_from <= valid_until)
);
COMMENT ON TABLE pgcredit.credit_rule IS 'the credit policy: the rules the guard applies to orders; changed only through pgcredit''s functions, every change audited';
COMMENT ON COLUMN pgcredit.credit_rule.id IS 'rule number, named in every refusal and hold it decides';
COMMENT ON COLUMN pgcredit.credit_rule.name IS 'an optional unique name';
COMMENT ON COLUMN pgcredit.credit_rule.kind IS 'credit_limit, account_status, days_past_due, overdue_amount, largest_order, utilisation or limit_expired';
COMMENT ON COLUMN pgcredit.credit_rule.scope IS 'everyone, tier (scope_value: a risk tier), customer (scope_value: a customer key); group is reserved for credit groups';
COMMENT ON COLUMN pgcredit.credit_rule.scope_value IS 'the tier or customer the rule applies to; NULL for everyone';
COMMENT ON COLUMN pgcredit.credit_rule.action IS 'refuse (an error, also in tables attached in hold mode), hold (held where the table holds orders, refused elsewhere) or shadow (only recorded in rule_trial)';
COMMENT ON COLUMN pgcredit.credit_rule.days IS 'days_past_due: the most days an open item may be past due; overdue_amount: days of grace after the due date; limit_expired: days of grace after next_review';
COMMENT ON COLUMN pgcredit.credit_rule.amount IS 'overdue_amount: the most that may be overdue; largest_order: the largest order';
COMMENT ON COLUMN pgcredit.credit_rule.share IS 'overdue_amount: the most that may be overdue as a share of the limit; utilisation: the share of the limit above which the rule fires';
COMMENT ON COLUMN pgcredit.credit_rule.multiple IS 'largest_order: the largest order as a multiple of the customer''s average order';
COMMENT ON COLUMN pgcredit.credit_rule.min_orders IS 'largest_order with multiple: the orders a customer must have placed before its average is used (default 5)';
COMMENT ON COLUMN pgcredit.credit_rule.statuses IS 'account_status: the statuses that stop an order';
COMMENT ON COLUMN pgcredit.credit_rule.valid_from IS 'first day the rule is in force; NULL = from its creation';
COMMENT ON COLUMN pgcredit.credit_rule.valid_until IS 'last day the rule is in force; NULL = no end';
COMMENT ON COLUMN pgcredit.credit_rule.exclusions IS 'customer keys the rule does not apply to';
COMMENT ON COLUMN pgcredit.credit_rule.note IS 'why the rule exists, for the people who read the policy';
COMMENT ON COLUMN pgcredit.credit_rule.builtin IS 'one of the rules installed with pgcredit (today''s checks); they cannot be changed or dropped, and more specific rules override them';
COMMENT ON COLUMN pgcredit.credit_rule.created_at IS 'when the rule was added';
COMMENT ON COLUMN pgcredit.credit_rule.created_by IS 'the session user who added it';
REVOKE ALL ON pgcredit.credit_rule FROM PUBLIC;
GRANT SELECT ON pgcredit.credit_rule TO pgcredit_reader;
-- the built-in rules come with CREATE EXTENSION; only the others are dumped
SELECT pg_catalog.pg_extension_config_dump('pgcredit.credit_rule', 'WHERE NOT builtin');
SELECT pg_catalog.pg_extension_config_dump('pgcredit.credit_rule_id_seq', '');
COMMENT ON SEQUENCE pgcredit.credit_rule_id_seq IS 'numbers of credit rules; the built-in rules have numbers below 100';

INSERT INTO pgcredit.credit_rule (id, name, kind, action, statuses, note, builtin) VALUES
  (1, 'account status', 'account_status', 'hold', '{hold,blocked}',
   'accounts on hold or blocked take no order that raises exposure', true),
  (2, 'credit limit', 'credit_limit', 'hold', NULL,
   'exposure with the order may not pass the limit in force plus its tolerance', true);

-- Every change of the rules tells every backend to read them again.
CREATE FUNCTION pgcredit._rules_changed()
RETURNS trigger
AS 'MODULE_PATHNAME', 'pgc_rules_changed'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION pgcredit._rules_changed() IS
  'statement trigger on credit_rule: invalidates the rules every backend keeps, so that the next order in every session sees the change';
REVOKE EXECUTE ON FUNCTION pgcredit._rules_changed() FROM PUBLIC;
CREATE TRIGGER rules_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON pgcredit.credit_rule
  FOR EACH STATEMENT EXECUTE FUNCTION pgcredit._rules_changed();

-- Checks of a rule as it would be stored: one message per fault.
CREATE FUNCTION pgcredit._check_rule(r pgcredit.credit_rule)
RETURNS void LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
DECLARE
  needs text[];
  given text[] := ARRAY[]::text[];
BEGIN
  IF r.kind IS NULL OR r.kind NOT IN ('credit_limit', 'account_status', 'days_past_due', 'overdue_amount',
                                      'largest_order', 'utilisation', 'limit_expired') THEN
    RAISE EXCEPTION 'invalid rule kind "%"', r.kind USING ERRCODE = 'invalid_parameter_value',
      HINT = 'The kind is one of credit_limit, account_status, days_past_due, overdue_amount, largest_order, utilisation and limit_expired.';
  END IF;
  IF r.action IS NULL OR r.action NOT IN ('refuse', 'hold', 'shadow') THEN
    RAISE EXCEPTION 'invalid rule action "%"', r.action USING ERRCODE = 'invalid_parameter_value',
      HINT = 'The action is refuse, hold or shadow.';
  END IF;
  IF r.scope IS NULL OR r.scope NOT IN ('everyone', 'tier', 'group', 'customer') THEN
    RAISE EXCEPTION 'invalid rule scope "%"', r.scope USING ERRCODE = 'invalid_parameter_value',
      HINT = 'The scope is everyone, tier or customer.';
  END IF;
  IF r.scope = 'group' THEN
    RAISE EXCEPTION 'rules for credit groups are not supported yet' USING ERRCODE = 'feature_not_supported',
      DETAIL = 'The scope "group" is reserved for credit groups, which a later version brings.',
      HINT = 'Scope the rule to everyone, a risk tier or one customer.';
  END IF;
  IF r.scope = 'everyone' AND r.scope_value IS NOT NULL THEN
    RAISE EXCEPTION 'a rule for everyone takes no scope value' USING ERRCODE = 'invalid_parameter_value';
  END IF;
  IF r.scope <> 'everyone' AND (r.scope_value IS NULL OR btrim(r.scope_value) = '') THEN
    RAISE EXCEPTION 'a rule for a % needs a scope value', r.scope USING ERRCODE = 'invalid_parameter_value',
      HINT = CASE r.scope WHEN 'tier' THEN 'Give the risk tier, A to E.' ELSE 'Give the customer key.' END;
  END IF;
  IF r.scope = 'tier' AND r.scope_value NOT IN ('A', 'B', 'C', 'D', 'E') THEN
    RAISE EXCEPTION 'invalid risk tier "%"', r.scope_value USING ERRCODE = 'invalid_parameter_value',
      HINT = 'A risk tier is one of A, B, C, D and E.';
  END IF;
  IF r.scope = 'customer' AND cardinality(r.exclusions) > 0 THEN
    RAISE EXCEPTION 'a rule for one customer takes no exclusions' USING ERRCODE = 'invalid_parameter_value';
  END IF;
  IF array_position(r.exclusions, NULL) IS NOT NULL THEN
    RAISE EXCEPTION 'exclusions must not contain null' USING ERRCODE = 'null_value_not_allowed';
  END IF;
  IF r.valid_from IS NOT NULL AND NOT isfinite(r.valid_from) OR r.valid_until IS NOT NULL AND NOT isfinite(r.valid_until) THEN
    RAISE EXCEPTION 'rule validity dates must be finite' USING ERRCODE = 'invalid_parameter_value',
      HINT = 'NULL leaves that end of the window open.';
  END IF;
  IF r.valid_from > r.valid_until THEN
    RAISE EXCEPTION 'rule would end before it starts' USING ERRCODE = 'invalid_parameter_value',
      DETAIL = format('It would run from %s to %s.', r.valid_from, r.valid_until);
  END IF;
  PERFORM pgcredit._check_amount('amount', r.amount);
  IF r.share = 'NaN' OR r.share IN ('Infinity', '-Infinity') OR r.share <= 0 THEN
    RAISE EXCEPTION 'share must be a positive finite number' USING ERRCODE = 'invalid_parameter_value',
      DETAIL = format('share is %s.', r.share);
  END IF;
  IF r.multiple = 'NaN' OR r.multiple IN ('Infinity', '-Infinity') OR r.multiple <= 0 THEN
    RAISE EXCEPTION 'multiple must be a positive finite number' USING ERRCODE = 'invalid_parameter_value',
      DETAIL = format('multiple is %s.', r.multiple);
  END IF;
  IF r.days < 0 THEN
    RAISE EXCEPTION 'days must not be negative' USING ERRCODE = 'invalid_parameter_value';
  END IF;
  IF r.min_orders < 1 THEN
    RAISE EXCEPTION 'min_orders must be at least 1' USING ERRCODE = 'invalid_parameter_value';
  END IF;
  IF array_position(r.statuses, NULL) IS NOT NULL
     OR NOT r.statuses <@ ARRAY['ok', 'watch', 'hold', 'blocked'] THEN
    RAISE EXCEPTION 'invalid account statuses %', r.statuses USING ERRCODE = 'invalid_parameter_value',
      HINT = 'A status is one of ok, watch, hold and blocked.';
  END IF;

  -- the parameters each kind takes, and the ones it needs
  IF r.days IS NOT NULL THEN given := array_append(given, 'days'); END IF;
  IF r.amount IS NOT NULL THEN given := array_append(given, 'amount'); END IF;
  IF r.share IS NOT NULL THEN given := array_append(given, 'share'); END IF;
  IF r.multiple IS NOT NULL THEN given := array_append(given, 'multiple'); END IF;
  IF r.min_orders IS NOT NULL THEN given := array_append(given, 'min_orders'); END IF;
  IF r.statuses IS NOT NULL THEN given := array_append(given, 'statuses'); END IF;
  needs := CASE r.kind
    WHEN 'credit_limit' THEN ARRAY[]::text[]
    WHEN 'account_status' THEN ARRAY['statuses']
    WHEN 'days_past_due' THEN ARRAY['days']
    WHEN 'overdue_amount' THEN ARRAY['days', 'amount', 'share']
    WHEN 'largest_order' THEN ARRAY['amount', 'multiple', 'min_orders']
    WHEN 'utilisation' THEN ARRAY['share']
    WHEN 'limit_expired' THEN ARRAY['days'] END;
  IF NOT given <@ needs THEN
    RAISE EXCEPTION 'rule of kind % takes no parameter %', r.kind,
      (SELECT string_agg(g, ', ') FROM unnest(given) g WHERE g <> ALL (needs))
      USING ERRCODE = 'invalid_parameter_value',
      DETAIL = CASE WHEN needs = '{}' THEN format('A rule of kind %s takes no parameters.', r.kind)
                    ELSE format('A rule of kind %s takes %s.', r.kind, array_to_string(needs, ', ')) END;
  END IF;
  IF r.kind = 'days_past_due' AND r.days IS NULL
     OR r.kind = 'account_status' AND (r.statuses IS NULL OR r.statuses = '{}')
     OR r.kind = 'utilisation' AND r.share IS NULL THEN
    RAISE EXCEPTION 'rule of kind % needs %', r.kind,
      CASE r.kind WHEN 'days_past_due' THEN 'days' WHEN 'account_status' THEN 'statuses' ELSE 'share' END
      USING ERRCODE = 'null_value_not_allowed';
  END IF;
  IF r.kind = 'overdue_amount' AND r.amount IS NULL AND r.share IS NULL THEN
    RAISE EXCEPTION 'rule of kind overdue_amount needs amount or share' USING ERRCODE = 'null_value_not_allowed';
  END IF;
  IF r.kind = 'largest_order' AND r.amount IS NULL AND r.multiple IS NULL THEN
    RAISE EXCEPTION 'rule of kind largest_order needs amount or multiple' USING ERRCODE = 'null_value_not_allowed';
  END IF;
  IF r.kind = 'largest_order' AND r.min_orders IS NOT NULL AND r.multiple IS NULL THEN
    RAISE EXCEPTION 'min_orders needs multiple' USING ERRCODE = 'invalid_parameter_value',
      DETAIL = 'min_orders says how many orders a customer must have placed before its average order is used.';
  END IF;
END
$$;
COMMENT ON FUNCTION pgcredit._check_rule(pgcredit.credit_rule) IS 'refuse a malformed rule with one clear error';
REVOKE EXECUTE ON FUNCTION pgcredit._check_rule(pgcredit.credit_rule) FROM PUBLIC;

CREATE FUNCTION pgcredit.add_rule(kind text, action text, reason text,
                                  scope text DEFAULT 'everyone', scope_value text DEFAULT NULL,
                                  days int DEFAULT NULL, amount numeric DEFAULT NULL,
                                  share numeric DEFAULT NULL, multiple numeric DEFAULT NULL,
                                  min_orders int DEFAULT NULL, statuses text[] DEFAULT NULL,
                                  valid_from date DEFAULT NULL, valid_until date DEFAULT NULL,
                                  exclusions text[] DEFAULT '{}', note text DEFAULT NULL,
                                  name text DEFAULT NULL)
RETURNS pgcredit.credit_rule LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
DECLARE
  r pgcredit.credit_rule;
BEGIN
  PERFORM pgcredit._check_reason(reason);
  r.kind := kind; r.action := action; r.scope := coalesce(scope, 'everyone'); r.scope_value := scope_value;
  r.days := days; r.amount := amount; r.share := share; r.multiple := multiple; r.min_orders := min_orders;
  r.statuses := statuses; r.valid_from := valid_from; r.valid_until := valid_until;
  r.exclusions := coalesce(exclusions, '{}'); r.note := note; r.name := name;
  PERFORM pgcredit._check_rule(r);
  IF EXISTS (SELECT FROM pgcredit.credit_rule c WHERE c.name = add_rule.name) THEN
    RAISE EXCEPTION 'a rule named "%" already exists', name USING ERRCODE = 'unique_violation';
  END IF;
  INSERT INTO pgcredit.credit_rule AS c (name, kind, scope, scope_value, action, days, amount, share, multiple,
                                         min_orders, statuses, valid_from, valid_until, exclusions, note)
  VALUES (r.name, r.kind, r.scope, r.scope_value, r.action, r.days, r.amount, r.share, r.multiple,
          r.min_orders, r.statuses, r.valid_from, r.valid_until, r.exclusions, r.note)
  RETURNING * INTO r;
  PERFORM pgcredit._audit('add_rule', CASE WHEN r.scope = 'customer' THEN r.scope_value END,
                          NULL, to_jsonb(r), reason);
  RETURN r;
END
$$;
COMMENT ON FUNCTION pgcredit.add_rule(text, text, text, text, text, int, numeric, numeric, numeric, int, text[], date, date, text[], text, text) IS
  'add a credit rule (kind, action, scope, parameters, validity, exclusions), checked and audited; the next order in every session applies it';
REVOKE EXECUTE ON FUNCTION pgcredit.add_rule(text, text, text, text, text, int, numeric, numeric, numeric, int, text[], date, date, text[], text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgcredit.add_rule(text, text, text, text, text, int, numeric, numeric, numeric, int, text[], date, date, text[], text, text) TO pgcredit_admin;

-- Change one rule: the columns named in changes, checked as a whole.
CREATE FUNCTION pgcredit._change_rule(id bigint, changes jsonb, action text, reason text)
RETURNS pgcredit.credit_rule LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
DECLARE
  before pgcredit.credit_rule;
  after pgcredit.credit_rule;
BEGIN
  PERFORM pgcredit._check_reason(reason);
  SELECT * INTO before FROM pgcredit.credit_rule c WHERE c.id = _change_rule.id FOR UPDATE;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'credit rule % does not exist', coalesce(id::text, 'NULL') USING ERRCODE = 'no_data_found';
  END IF;
  IF before.builtin THEN
    RAISE EXCEPTION 'credit rule % is built in and cannot be changed', id USING ERRCODE = 'object_not_in_prerequisite_state',
      DETAIL = format('Rule %s (%s) is today''s check that comes with pgcredit.', id, before.kind),
      HINT = 'Add a rule of the same kind for a tier or a customer: the most specific scope decides.';
  END IF;
  after := jsonb_populate_record(before, changes);
  PERFORM pgcredit._check_rule(after);
  IF changes ? 'delete' THEN
    DELETE FROM pgcredit.credit_rule c WHERE c.id = _change_rule.id;
    after := NULL;
  ELSE
    UPDATE pgcredit.credit_rule c SET action = after.action, valid_from = after.valid_from,
      valid_until = after.valid_until, exclusions = after.exclusions, note = after.note
    WHERE c.id = _change_rule.id;
  END IF;
  PERFORM pgcredit._audit(_change_rule.action, CASE WHEN before.scope = 'customer' THEN before.scope_value END,
                          to_jsonb(before), to_jsonb(after), reason);
  RETURN coalesce(after, before);
END
$$;
COMMENT ON FUNCTION pgcredit._change_rule(bigint, jsonb, text, text) IS 'change or drop a rule that is not built in, checked and audited';
REVOKE EXECUTE ON FUNCTION pgcredit._change_rule(bigint, jsonb, text, text) FROM PUBLIC;

CREATE FUNCTION pgcredit.set_rule_action(id bigint, action text, reason text)
RETURNS pgcredit.credit_rule LANGUAGE sql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$ SELECT pgcredit._change_rule($1, jsonb_build_object('action', $2), 'set_rule_action', $3) $$;
COMMENT ON FUNCTION pgcredit.set_rule_action(bigint, text, text) IS
  'switch a rule between refuse, hold and shadow (a shadow rule tried on live orders goes live this way), audited';
REVOKE EXECUTE ON FUNCTION pgcredit.set_rule_action(bigint, text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgcredit.set_rule_action(bigint, text, text) TO pgcredit_admin;

CREATE FUNCTION pgcredit.set_rule_validity(id bigint, valid_from date, valid_until date, reason text)
RETURNS pgcredit.credit_rule LANGUAGE sql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$ SELECT pgcredit._change_rule($1, jsonb_build_object('valid_from', $2, 'valid_until', $3), 'set_rule_validity', $4) $$;
COMMENT ON FUNCTION pgcredit.set_rule_validity(bigint, date, date, text) IS
  'set the days a rule is in force (NULL leaves an end open), audited';
REVOKE EXECUTE ON FUNCTION pgcredit.set_rule_validity(bigint, date, date, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgcredit.set_rule_validity(bigint, date, date, text) TO pgcredit_admin;

CREATE FUNCTION pgcredit.set_rule_exclusions(id bigint, exclusions text[], reason text)
RETURNS pgcredit.credit_rule LANGUAGE sql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$ SELECT pgcredit._change_rule($1, jsonb_build_object('exclusions', coalesce($2, '{}')), 'set_rule_exclusions', $3) $$;
COMMENT ON FUNCTION pgcredit.set_rule_exclusions(bigint, text[], text) IS
  'set the customers a rule does not apply to, audited';
REVOKE EXECUTE ON FUNCTION pgcredit.set_rule_exclusions(bigint, text[], text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgcredit.set_rule_exclusions(bigint, text[], text) TO pgcredit_admin;

CREATE FUNCTION pgcredit.drop_rule(id bigint, reason text)
RETURNS pgcredit.credit_rule LANGUAGE sql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$ SELECT pgcredit._change_rule($1, '{"delete": true}', 'drop_rule', $2) $$;
COMMENT ON FUNCTION pgcredit.drop_rule(bigint, text) IS 'drop a rule that is not built in; returns it as it was; audited';
REVOKE EXECUTE ON FUNCTION pgcredit.drop_rule(bigint, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgcredit.drop_rule(bigint, text) TO pgcredit_admin;

-- Sums the rules of kinds overdue_amount and days_past_due read; the
-- guard runs them only for customers such a rule applies to.
CREATE FUNCTION pgcredit._overdue_amount(customer text, days int)
RETURNS numeric LANGUAGE sql VOLATILE
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
  SELECT coalesce(sum(i.amount), 0) FROM pgcredit._attached_items('receivables', $1) i
  WHERE i.counts AND i.amount > 0 AND i.due < current_date - $2
$$;
COMMENT ON FUNCTION pgcredit._overdue_amount(text, int) IS
  'a customer''s open receivables more than "days" past due, summed over every attached receivables table';
REVOKE EXECUTE ON FUNCTION pgcredit._overdue_amount(text, int) FROM PUBLIC;

-- Shadow rules: what they would have done to the orders that went in.
CREATE TABLE pgcredit.rule_trial (
  id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  at          timestamptz NOT NULL DEFAULT pg_catalog.now(),
  rule_id     bigint NOT NULL,
  kind        text NOT NULL,
  customer    text NOT NULL,
  relid       oid NOT NULL,
  amount      numeric NOT NULL,
  sqlstate    text NOT NULL,
  figures     jsonb NOT NULL
);
CREATE INDEX ON pgcredit.rule_trial (rule_id, at);
COMMENT ON SEQUENCE pgcredit.rule_trial_id_seq IS 'numbers of shadow rule trials';
COMMENT ON TABLE pgcredit.rule_trial IS 'what each shadow rule would have done: one row for every order it would have stopped (orders refused by a live rule leave no row)';
COMMENT ON COLUMN pgcredit.rule_trial.id IS 'trial number';
COMMENT ON COLUMN pgcredit.rule_trial.at IS 'when the order was checked (its transaction''s start)';
COMMENT ON COLUMN pgcredit.rule_trial.rule_id IS 'the shadow rule (kept after the rule is dropped)';
COMMENT ON COLUMN pgcredit.rule_trial.kind IS 'the rule''s kind';
COMMENT ON COLUMN pgcredit.rule_trial.customer IS 'the customer of the order';
COMMENT ON COLUMN pgcredit.rule_trial.relid IS 'the order table the order went into';
COMMENT ON COLUMN pgcredit.rule_trial.amount IS 'the order''s amount';
COMMENT ON COLUMN pgcredit.rule_trial.sqlstate IS 'the SQLSTATE the rule would have refused the order with';
COMMENT ON COLUMN pgcredit.rule_trial.figures IS 'the figures the rule judged: exposure with the order, the limit in force or the days, the figure judged (amount, overdue, share, days_overdue) and its threshold';
REVOKE ALL ON pgcredit.rule_trial FROM PUBLIC;
GRANT SELECT ON pgcredit.rule_trial TO pgcredit_reader;
GRANT DELETE ON pgcredit.rule_trial TO pgcredit_admin;
SELECT pg_catalog.pg_extension_config_dump('pgcredit.rule_trial', '');
SELECT pg_catalog.pg_extension_config_dump('pgcredit.rule_trial_id_seq', '');

CREATE FUNCTION pgcredit._record_trial(rule_id bigint, kind text, customer text, relid oid, amount numeric,
                                       sqlstate text, exposure text, lim text, figure text, threshold text)
RETURNS void LANGUAGE sql VOLATILE
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
  INSERT INTO pgcredit.rule_trial (rule_id, kind, customer, relid, amount, sqlstate, figures)
  VALUES ($1, $2, $3, $4, $5, $6,
          jsonb_strip_nulls(jsonb_build_object('exposure', $7::numeric,
                                               CASE WHEN $2 IN ('days_past_due', 'overdue_amount', 'limit_expired')
                                                    THEN 'days' ELSE 'limit' END, $8::numeric,
                                               CASE $2 WHEN 'limit_expired' THEN 'days_overdue'
                                                       WHEN 'utilisation' THEN 'share'
                                                       WHEN 'overdue_amount' THEN 'overdue'
                                                       ELSE 'amount' END,
                                               $9::numeric,
                                               'threshold', $10::numeric)))
$$;
COMMENT ON FUNCTION pgcredit._record_trial(bigint, text, text, oid, numeric, text, text, text, text, text) IS
  'the guard''s record of an order a shadow rule would have stopped';
REVOKE EXECUTE ON FUNCTION pgcredit._record_trial(bigint, text, text, oid, numeric, text, text, text, text, text) FROM PUBLIC;

-- A verdict without writing, for quote screens and sales tools.
CREATE FUNCTION pgcredit.check_order(customer text, amount numeric, order_table regclass DEFAULT NULL,
                                     OUT verdict text, OUT rule_id bigint, OUT kind text,
                                     OUT sqlstate text, OUT reason text, OUT exposure numeric,
                                     OUT credit_available numeric)
RETURNS record
AS 'MODULE_PATHNAME', 'pgc_check_order'
LANGUAGE C VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pgcredit, pg_temp;
COMMENT ON FUNCTION pgcredit.check_order(text, numeric, regclass) IS
  'would an order of this amount for this customer pass, be held or be refused, by which rule, and how much credit is available before it; judged by the guard''s own rules, writing nothing (order_table: the table the order would go into, whose mode decides between hold and refuse)';
REVOKE EXECUTE ON FUNCTION pgcredit.check_order(text, numeric, regclass) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgcredit.check_order(text, numeric, regclass) TO pgcredit_reader, pgcredit_sales;

-- a database that used the setting gets the rule the guard now reads
INSERT INTO pgcredit.credit_rule (name, kind, action, days, note)
SELECT 'max days past due', 'days_past_due', 'hold', s.max_days_past_due,
       'kept by pgcredit.set_max_days_past_due()'
FROM pgcredit.settings s WHERE s.max_days_past_due IS NOT NULL;

----------------------------------------------------------------------
-- Prepaid and secured parts of orders (#12): attach_orders(...,
-- prepaid_column); the part never uses credit
----------------------------------------------------------------------

ALTER TABLE pgcredit.attachment ADD COLUMN prepaid_column name;
COMMENT ON COLUMN pgcredit.attachment.prepaid_column IS 'orders: the prepaid or secured part of an order, which uses no credit (the order counts amount - prepaid, never below 0); NULL = none';

-- the signatures change: the old functions go, the new ones come
DROP FUNCTION pgcredit.attach_orders(regclass, name, name, name, text[], text, name);
DROP FUNCTION pgcredit._attach(regclass, text, name, name, name, name, text[], text, name, name, name, name);
CREATE FUNCTION pgcredit._attach(tbl regclass, kind text, customer_column name, amount_column name,
                                 due_column name, open_column name, open_values text[],
                                 mode text, hold_column name,
                                 invoice_amount_column name DEFAULT NULL, invoiced_column name DEFAULT NULL,
                                 paid_column name DEFAULT NULL, prepaid_column name DEFAULT NULL)
RETURNS pgcredit.attachment LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
DECLARE
  full_type text;
  canonical text[];
  v text;
  att pgcredit.attachment;
  c record;
  n bigint;
BEGIN
  IF tbl IS NULL THEN
    RAISE EXCEPTION 'table must not be null' USING ERRCODE = 'null_value_not_allowed';
  END IF;
  IF (SELECT relkind FROM pg_catalog.pg_class WHERE oid = tbl) NOT IN ('r', 'p') THEN
    RAISE EXCEPTION '"%" is not a table', tbl USING ERRCODE = 'wrong_object_type',
      HINT = 'pgcredit attaches to tables and partitioned tables.';
  END IF;
  -- attaching installs triggers on the table and lets pgcredit read it:
  -- only its owner may ask for that, as for CREATE TRIGGER by the owner
  IF NOT pg_catalog.pg_has_role(pgcredit._actor(),
                                (SELECT relowner FROM pg_catalog.pg_class WHERE oid = tbl), 'USAGE') THEN
    RAISE EXCEPTION 'must be owner of table %', tbl USING ERRCODE = 'insufficient_privilege',
      DETAIL = format('Role %s is not a member of %s, the owner of the table.', pgcredit._actor(),
                      (SELECT relowner::regrole FROM pg_catalog.pg_class WHERE oid = tbl)),
      HINT = 'Attach the table as its owner (a member of pgcredit_admin too).';
  END IF;
  IF (SELECT relnamespace FROM pg_catalog.pg_class WHERE oid = tbl) = 'pgcredit'::regnamespace THEN
    RAISE EXCEPTION 'cannot attach pgcredit''s own table "%"', tbl USING ERRCODE = 'wrong_object_type';
  END IF;
  IF (SELECT relpersistence FROM pg_catalog.pg_class WHERE oid = tbl) = 't' THEN
    RAISE EXCEPTION 'cannot attach temporary table "%"', tbl USING ERRCODE = 'wrong_object_type';
  END IF;
  IF (SELECT relispartition FROM pg_catalog.pg_class WHERE oid = tbl) THEN
    RAISE EXCEPTION 'table "%" is a partition', tbl USING ERRCODE = 'wrong_object_type',
      HINT = 'Attach the partitioned table it belongs to.';
  END IF;
  -- rows of inheritance children would escape the guard, which fires on
  -- the table the row is written to
  IF pgcredit._in_inheritance(tbl) THEN
    RAISE EXCEPTION 'table "%" takes part in table inheritance', tbl USING ERRCODE = 'feature_not_supported',
      DETAIL = 'Rows written to an inheritance child or parent would not be guarded.',
      HINT = 'Attach each table on its own, or use declarative partitioning.';
  END IF;
  IF EXISTS (SELECT FROM pgcredit.attachment a WHERE a.relid = tbl) THEN
    RAISE EXCEPTION 'table "%" is already attached', tbl USING ERRCODE = 'duplicate_object',
      HINT = 'Detach it first with pgcredit.detach().';
  END IF;

  PERFORM pgcredit._column_type(tbl, customer_column, 'customer');
  PERFORM pgcredit._check_attach_column(tbl, customer_column, 'customer');
  PERFORM pgcredit._column_type(tbl, amount_column, 'amount');
  PERFORM pgcredit._check_attach_column(tbl, amount_column, 'amount');
  IF due_column IS NOT NULL THEN
    PERFORM pgcredit._column_type(tbl, due_column, 'due date');
    PERFORM pgcredit._check_attach_column(tbl, due_column, 'date');
  END IF;

  IF open_column IS NOT NULL THEN
    PERFORM pgcredit._column_type(tbl, open_column, 'open-state');
    PERFORM pgcredit._check_attach_column(tbl, open_column, 'open-state');
    IF open_values IS NULL OR cardinality(open_values) = 0 THEN
      RAISE EXCEPTION 'open_values must list the values of "%" that count as open', open_column
        USING ERRCODE = 'invalid_parameter_value', HINT = 'For example ARRAY[''open'', ''confirmed''].';
    END IF;
    -- keep the values as the column's type, with its modifier, prints
    -- them (character(6) pads, numeric(5,2) shows two decimals), refusing
    -- invalid ones; the types allowed have built-in input functions only
    SELECT pg_catalog.format_type(a.atttypid, a.atttypmod) INTO full_type FROM pg_catalog.pg_attribute a
    WHERE a.attrelid = tbl AND a.attname = open_column;
    FOREACH v IN ARRAY open_values LOOP
      -- numbers without their trailing fractional zeros, as the guard compares them
      EXECUTE format(CASE WHEN full_type LIKE 'numeric%%'
                          THEN 'SELECT pg_catalog.trim_scale($1::%s)::text'
                          ELSE 'SELECT pg_catalog.format(''%%s'', $1::%s)' END, full_type) INTO v USING v;
      canonical := canonical || v;
    END LOOP;
    open_values := canonical;
  ELSIF open_values IS NOT NULL THEN
    RAISE EXCEPTION 'open_values need an open_column' USING ERRCODE = 'invalid_parameter_value';
  END IF;

  IF hold_column IS NOT NULL THEN
    PERFORM pgcredit._column_type(tbl, hold_column, 'hold');
    PERFORM pgcredit._check_attach_column(tbl, hold_column, 'hold');
  END IF;
  IF prepaid_column IS NOT NULL THEN
    IF prepaid_column = amount_column THEN
      RAISE EXCEPTION 'the prepaid column must not be the amount column' USING ERRCODE = 'invalid_parameter_value',
        DETAIL = 'An order paid in full in advance has its amount in both; name the column that holds the prepaid part.';
    END IF;
    PERFORM pgcredit._column_type(tbl, prepaid_column, 'amount');
    PERFORM pgcredit._check_attach_column(tbl, prepaid_column, 'amount');
  END IF;
  IF mode = 'hold' THEN
    IF hold_column IS NULL THEN
      RAISE EXCEPTION 'hold mode needs a hold column' USING ERRCODE = 'invalid_parameter_value',
        HINT = 'Name a boolean column that pgcredit sets to true on held orders.';
    END IF;
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_index i WHERE i.indrelid = tbl AND i.indisprimary) THEN
      RAISE EXCEPTION 'table "%" has no primary key', tbl USING ERRCODE = 'object_not_in_prerequisite_state',
        HINT = 'Held orders are found again by primary key for release.';
    END IF;
  END IF;

  INSERT INTO pgcredit.attachment (relid, kind, customer_column, amount_column, due_column,
                                   open_column, open_values, mode, hold_column,
                                   invoice_amount_column, invoiced_column, paid_column, prepaid_column)
  VALUES (tbl, kind, customer_column, amount_column, due_column, open_column, open_values, mode, hold_column,
          invoice_amount_column, invoiced_column, paid_column, prepaid_column)
  RETURNING * INTO att;
  -- the triggers, created as the table's owner (which locks the table
  -- against writers until the end of the transaction)
  PERFORM pgcredit._table_triggers(tbl, true);

  -- what the table holds already, read as its owner
  SELECT count(*) INTO n FROM pgcredit._attached_items(NULL, NULL, tbl, true) i
  WHERE i.amount = 'NaN' OR i.amount IN ('Infinity', '-Infinity');
  IF n > 0 THEN
    RAISE EXCEPTION 'table "%" has amounts that are NaN or infinite', tbl
      USING ERRCODE = 'invalid_parameter_value',
      DETAIL = CASE WHEN n = 1 THEN format('One row has such a value in column %I.', amount_column)
                    ELSE format('%s rows have such a value in column %I.', n, amount_column) END,
      HINT = format('Correct them first: SELECT * FROM %s WHERE %I IN (''NaN'', ''Infinity'', ''-Infinity'').', tbl, amount_column);
  END IF;
  FOR c IN SELECT i.customer, sum(i.amount) AS amount FROM pgcredit._attached_items(NULL, NULL, tbl) i
           WHERE i.counts GROUP BY i.customer LOOP
    INSERT INTO pgcredit.exposure AS e (customer, receivables, open_orders)
    VALUES (c.customer, CASE WHEN kind = 'receivables' THEN c.amount ELSE 0 END,
            CASE WHEN kind = 'orders' THEN c.amount ELSE 0 END)
    ON CONFLICT (customer) DO UPDATE SET receivables = e.receivables + EXCLUDED.receivables,
                                         open_orders = e.open_orders + EXCLUDED.open_orders;
  END LOOP;

  PERFORM pgcredit._audit('attach_' || kind, NULL, NULL, to_jsonb(att), NULL);
  RETURN att;
END
$$;
COMMENT ON FUNCTION pgcredit._attach(regclass, text, name, name, name, name, text[], text, name, name, name, name, name) IS
  'validate a table and its columns, install pgcredit''s triggers and add what the table holds to exposure';
REVOKE EXECUTE ON FUNCTION pgcredit._attach(regclass, text, name, name, name, name, text[], text, name, name, name, name, name) FROM PUBLIC;

CREATE FUNCTION pgcredit.attach_orders(tbl regclass, customer_column name, amount_column name,
                                       open_column name DEFAULT NULL, open_values text[] DEFAULT NULL,
                                       mode text DEFAULT 'block', hold_column name DEFAULT NULL,
                                       prepaid_column name DEFAULT NULL)
RETURNS pgcredit.attachment LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
BEGIN
  IF mode IS NULL OR mode NOT IN ('block', 'hold') THEN
    RAISE EXCEPTION 'invalid mode "%"', mode USING ERRCODE = 'invalid_parameter_value',
      HINT = 'block refuses an order over the limit with an error; hold lets it in marked held.';
  END IF;
  RETURN pgcredit._attach(tbl, 'orders', customer_column, amount_column, NULL,
                          open_column, open_values, mode, hold_column,
                          prepaid_column => prepaid_column);
END
$$;
COMMENT ON FUNCTION pgcredit.attach_orders(regclass, name, name, name, text[], text, name, name) IS
  'attach an order table: its open orders count in exposure (less a prepaid or secured part, when prepaid_column names it), and an order the customer''s credit cannot carry is refused (block) or held (hold)';
REVOKE EXECUTE ON FUNCTION pgcredit.attach_orders(regclass, name, name, name, text[], text, name, name) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgcredit.attach_orders(regclass, name, name, name, text[], text, name, name) TO pgcredit_admin;

CREATE OR REPLACE FUNCTION pgcredit._ddl_guard()
RETURNS event_trigger LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
DECLARE
  a pgcredit.attachment;
  dropped text;
BEGIN
  IF NOT EXISTS (SELECT FROM pgcredit.attachment) THEN
    RETURN;
  END IF;
  IF TG_EVENT = 'sql_drop' THEN
    SELECT d.object_identity INTO dropped
    FROM pg_catalog.pg_event_trigger_dropped_objects() d JOIN pgcredit.attachment x ON x.relid = d.objid
    WHERE d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass AND d.objsubid = 0 LIMIT 1;
    IF FOUND THEN
      RAISE EXCEPTION 'cannot drop table %, which is attached to pgcredit', dropped
        USING ERRCODE = 'dependent_objects_still_exist',
        HINT = 'Detach it first with pgcredit.detach(), which takes its rows out of exposure.';
    END IF;
    RETURN;
  END IF;
  FOR a IN
    SELECT x.* FROM pgcredit.attachment x
    WHERE x.relid IN (SELECT c.objid FROM pg_catalog.pg_event_trigger_ddl_commands() c
                      WHERE c.classid = 'pg_catalog.pg_class'::pg_catalog.regclass)
       OR x.relid IN (SELECT inh.inhparent FROM pg_catalog.pg_inherits inh
                      WHERE inh.inhrelid IN (SELECT c.objid FROM pg_catalog.pg_event_trigger_ddl_commands() c
                                             WHERE c.classid = 'pg_catalog.pg_class'::pg_catalog.regclass))
  LOOP
    IF pgcredit._in_inheritance(a.relid) THEN
      RAISE EXCEPTION 'table % is attached to pgcredit and cannot take part in table inheritance', a.relid
        USING ERRCODE = 'feature_not_supported',
        DETAIL = 'Rows written to an inheritance child or parent would not be guarded.',
        HINT = 'Use declarative partitioning, or detach the table first.';
    END IF;
    BEGIN
      PERFORM pgcredit._check_attach_column(a.relid, a.customer_column, 'customer');
      PERFORM pgcredit._check_attach_column(a.relid, a.amount_column, 'amount');
      PERFORM pgcredit._check_attach_column(a.relid, c, 'date')
      FROM unnest(ARRAY[a.due_column, a.invoiced_column, a.paid_column]) c WHERE c IS NOT NULL;
      IF a.open_column IS NOT NULL THEN
        PERFORM pgcredit._check_attach_column(a.relid, a.open_column, 'open-state');
      END IF;
      IF a.hold_column IS NOT NULL THEN
        PERFORM pgcredit._check_attach_column(a.relid, a.hold_column, 'hold');
      END IF;
      IF a.invoice_amount_column IS NOT NULL THEN
        PERFORM pgcredit._check_attach_column(a.relid, a.invoice_amount_column, 'amount');
      END IF;
      IF a.prepaid_column IS NOT NULL THEN
        PERFORM pgcredit._check_attach_column(a.relid, a.prepaid_column, 'amount');
      END IF;
    EXCEPTION WHEN undefined_column OR datatype_mismatch OR feature_not_supported THEN
      RAISE EXCEPTION 'cannot change table % this way while it is attached to pgcredit', a.relid
        USING ERRCODE = 'object_in_use',
        DETAIL = format('After this change the guard could not read the table: %s.', SQLERRM),
        HINT = 'Detach the table with pgcredit.detach(), change it, and attach it again.';
    END;
  END LOOP;
END
$$;

----------------------------------------------------------------------
-- Ownership: whatever this script created passes to pgcredit_owner, as
-- in a fresh install (CREATE OR REPLACE keeps an owner; new objects
-- would belong to the role running the update)
----------------------------------------------------------------------

GRANT USAGE ON SCHEMA pgcredit TO pgcredit_owner;
DO $owner$
DECLARE
  o record;
BEGIN
  -- relations first: their ALTERs fire pgcredit's DDL event trigger,
  -- whose function can read them while both still have one owner
  FOR o IN
    SELECT 1 AS step, format('ALTER %s %s OWNER TO pgcredit_owner',
                  CASE c.relkind WHEN 'v' THEN 'VIEW' ELSE 'TABLE' END, c.oid::pg_catalog.regclass) AS cmd
    FROM pg_catalog.pg_class c
    WHERE c.relnamespace = 'pgcredit'::pg_catalog.regnamespace AND c.relkind IN ('r', 'p', 'v')
    UNION ALL
    SELECT 2, format('ALTER TYPE %s OWNER TO pgcredit_owner', t.oid::pg_catalog.regtype)
    FROM pg_catalog.pg_type t JOIN pg_catalog.pg_class c ON c.oid = t.typrelid
    WHERE t.typnamespace = 'pgcredit'::pg_catalog.regnamespace AND c.relkind = 'c'
    UNION ALL
    SELECT 3, format('ALTER ROUTINE %s OWNER TO pgcredit_owner', p.oid::pg_catalog.regprocedure)
    FROM pg_catalog.pg_proc p WHERE p.pronamespace = 'pgcredit'::pg_catalog.regnamespace
    ORDER BY 1
  LOOP
    EXECUTE o.cmd;
  END LOOP;
END
$owner$;

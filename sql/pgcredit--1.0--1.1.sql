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

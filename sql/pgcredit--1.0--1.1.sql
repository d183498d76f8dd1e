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
-- Stable tiers, a watchlist that lets shipping be, the automatic watch
--
-- Tiers move only when the combined score leaves the previous tier's
-- band by more than risk_settings.tier_margin; tier_churn shows the
-- moves.  receivables_up_orders_down no longer fires when orders ship
-- and are invoiced: it needs receivables to rise beyond the fall of open
-- orders, with more of them overdue (score_history keeps the overdue
-- part now).  With risk_settings.auto_watch on, refresh_scores puts
-- accounts on watch and back, audited.  Rows scored before the update
-- keep NULL in the new columns of score_history.
----------------------------------------------------------------------

ALTER TABLE pgcredit.risk_settings
  ADD COLUMN tier_margin numeric NOT NULL DEFAULT 5 CHECK (tier_margin >= 0 AND tier_margin < 'Infinity'),
  ADD COLUMN auto_watch boolean NOT NULL DEFAULT false,
  ADD COLUMN auto_watch_utilisation_pct numeric NOT NULL DEFAULT 90 CHECK (auto_watch_utilisation_pct >= 0 AND auto_watch_utilisation_pct < 'Infinity'),
  ADD COLUMN auto_watch_release_margin numeric NOT NULL DEFAULT 10 CHECK (auto_watch_release_margin >= 0 AND auto_watch_release_margin < 'Infinity'),
  ADD COLUMN auto_watch_signals text[] NOT NULL DEFAULT '{new_overdue_item,score_drop,receivables_up_orders_down}' CHECK (auto_watch_signals <@ '{new_overdue_item,score_drop,receivables_up_orders_down,review_overdue}'),
  ADD COLUMN auto_watch_calm_days int NOT NULL DEFAULT 14 CHECK (auto_watch_calm_days >= 0);
COMMENT ON TABLE pgcredit.risk_settings IS 'weights of the combined score, tier thresholds and their margin, watchlist thresholds and the automatic watch: one row at most; no row means every default';
COMMENT ON COLUMN pgcredit.risk_settings.tier_margin IS 'hysteresis of the tiers: a customer keeps the tier of its previous scoring until its combined score leaves that tier''s band by more than this many points';
COMMENT ON COLUMN pgcredit.risk_settings.auto_watch IS 'refresh_scores() puts accounts on status watch when a reason holds, and back to ok when none is left (false: it never changes a status)';
COMMENT ON COLUMN pgcredit.risk_settings.auto_watch_utilisation_pct IS 'automatic watch: utilisation above this percentage of the limit is a reason';
COMMENT ON COLUMN pgcredit.risk_settings.auto_watch_release_margin IS 'automatic watch: the utilisation reason is gone only once utilisation is at or below auto_watch_utilisation_pct minus this many points';
COMMENT ON COLUMN pgcredit.risk_settings.auto_watch_signals IS 'automatic watch: the watchlist rules that are a reason (new_overdue_item, score_drop, receivables_up_orders_down, review_overdue)';
COMMENT ON COLUMN pgcredit.risk_settings.auto_watch_calm_days IS 'automatic watch: a signal reason is gone only once no listed signal fired at a scoring of the last this many days';

ALTER TABLE pgcredit.score_history
  ADD COLUMN score_tier text CHECK (score_tier IN ('A', 'B', 'C', 'D', 'E')),
  ADD COLUMN overdue numeric,
  ADD COLUMN watch_reasons text[];
COMMENT ON COLUMN pgcredit.score_history.tier IS 'risk tier, A best to E worst: the tier of the customer''s previous scoring while the combined score stays within risk_settings.tier_margin points of its band, else the tier of the score (risk_tier(combined_score, previous tier))';
COMMENT ON COLUMN pgcredit.score_history.score_tier IS 'the tier of the combined score alone, by the thresholds of risk_settings, without the margin (NULL in rows scored before version 1.1)';
COMMENT ON COLUMN pgcredit.score_history.overdue IS 'open receivables past due when scored (NULL in rows scored before version 1.1)';
COMMENT ON COLUMN pgcredit.score_history.watch_reasons IS 'the reasons for an automatic watch found at this scoring (empty: none); NULL when the automatic watch is off or the customer has no account';

CREATE OR REPLACE FUNCTION pgcredit._settings_or_default()
RETURNS pgcredit.risk_settings LANGUAGE sql STABLE
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
  SELECT coalesce((SELECT r FROM pgcredit.risk_settings r), ROW(true, 0.5, 0.3, 0.2, 80, 65, 50, 35, 90, 30, 7, 10, 5, false, 90, 10,
                                                          '{new_overdue_item,score_drop,receivables_up_orders_down}', 14)::pgcredit.risk_settings)
$$;

CREATE FUNCTION pgcredit.risk_tier(combined numeric, previous_tier text)
RETURNS text LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
DECLARE
  r pgcredit.risk_settings := pgcredit._settings_or_default();
  low numeric;
  high numeric;
BEGIN
  IF previous_tier IS NOT NULL AND previous_tier NOT IN ('A', 'B', 'C', 'D', 'E') THEN
    RAISE EXCEPTION 'invalid risk tier "%"', previous_tier USING ERRCODE = 'invalid_parameter_value',
      HINT = 'A tier is one of A, B, C, D and E.';
  END IF;
  IF combined IS NULL OR combined = 'NaN' OR previous_tier IS NULL THEN
    RETURN pgcredit.risk_tier(combined);
  END IF;
  -- the band of the previous tier (A and E are open on one side), widened
  -- by the margin: inside it the customer keeps its tier
  low := CASE previous_tier WHEN 'A' THEN r.tier_a_min WHEN 'B' THEN r.tier_b_min
                            WHEN 'C' THEN r.tier_c_min WHEN 'D' THEN r.tier_d_min END;
  high := CASE previous_tier WHEN 'B' THEN r.tier_a_min WHEN 'C' THEN r.tier_b_min
                             WHEN 'D' THEN r.tier_c_min WHEN 'E' THEN r.tier_d_min END;
  IF (low IS NULL OR combined >= low - r.tier_margin) AND (high IS NULL OR combined < high + r.tier_margin) THEN
    RETURN previous_tier;
  END IF;
  RETURN pgcredit.risk_tier(combined);
END
$$;
COMMENT ON FUNCTION pgcredit.risk_tier(numeric, text) IS
  'the risk tier of a combined score for a customer whose previous tier was previous_tier: that tier while the score stays within risk_settings.tier_margin points of its band, else the tier of the score; the tier of the score when previous_tier is NULL; NULL for a NULL or NaN score';
-- EXECUTE: PUBLIC (the default), as risk_tier(numeric).

CREATE OR REPLACE FUNCTION pgcredit.refresh_scores(as_of date DEFAULT pgcredit.as_of())
RETURNS TABLE (customers bigint, alerts bigint)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
-- joins over the scores of every customer, estimated large: compiling
-- them would take longer than running them (as in customer_risk_at)
SET jit = off
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
DECLARE
  cfg pgcredit.risk_settings := pgcredit._settings_or_default();
  n bigint;
  raised bigint;
BEGIN
  PERFORM pgcredit._check_day(as_of);
  -- one run at a time: two at once would both replace the same day
  PERFORM pg_advisory_xact_lock(hashtext('pgcredit.refresh_scores'));
  -- one day, one set of scores: a second run of the day replaces the first
  DELETE FROM pgcredit.score_history h WHERE h.as_of = refresh_scores.as_of;
  WITH s AS (SELECT * FROM pgcredit.receivable_stats(refresh_scores.as_of)),
       x AS (SELECT * FROM pgcredit.external_score_now(refresh_scores.as_of)),
       c AS (SELECT customer FROM pgcredit.account UNION SELECT customer FROM pgcredit.exposure
             UNION SELECT customer FROM s),
       f AS (SELECT c.customer, s.behavioural_score, x.scaled_score,
                    round((coalesce(e.receivables, 0) + coalesce(e.open_orders, 0)) * 100
                          / nullif(a.credit_limit, 0), 2) AS utilisation,
                    coalesce(e.receivables, 0) AS receivables, coalesce(e.open_orders, 0) AS open_orders,
                    s.oldest_days_past_due, coalesce(s.receivables, 0) - coalesce(s.current, 0) AS overdue
             FROM c LEFT JOIN pgcredit.account a USING (customer) LEFT JOIN pgcredit.exposure e USING (customer)
             LEFT JOIN s USING (customer) LEFT JOIN x USING (customer)),
       g AS (SELECT f.*, pgcredit.combined_score(f.behavioural_score, f.scaled_score, f.utilisation) AS combined
             FROM f)
  INSERT INTO pgcredit.score_history (customer, as_of, behavioural_score, external_score, utilisation_pct,
                                      combined_score, tier, receivables, open_orders, oldest_days_past_due,
                                      score_tier, overdue)
  SELECT g.customer, refresh_scores.as_of, g.behavioural_score, g.scaled_score, g.utilisation,
         g.combined, pgcredit.risk_tier(g.combined, prev.tier),
         g.receivables, g.open_orders, g.oldest_days_past_due, pgcredit.risk_tier(g.combined), g.overdue
  FROM g
  -- the tier of the customer's latest scoring before the day: kept while
  -- the score stays within the margin of its band
  LEFT JOIN LATERAL (SELECT h.tier FROM pgcredit.score_history h
                     WHERE h.customer = g.customer AND h.as_of < refresh_scores.as_of
                     ORDER BY h.as_of DESC LIMIT 1) prev ON true;
  GET DIAGNOSTICS n = ROW_COUNT;
  -- fresh statistics, so that the comparison below is planned for its size
  ANALYZE pgcredit.score_history;

  -- alerts: what changed since the customer's previous scoring
  WITH now_ AS (SELECT * FROM pgcredit.score_history h WHERE h.as_of = refresh_scores.as_of),
       prev AS (SELECT h.* FROM pgcredit.score_history h
                WHERE h.as_of = (SELECT max(x.as_of) FROM pgcredit.score_history x
                                 WHERE x.as_of < refresh_scores.as_of)),
       ev AS (
         SELECT 'score_downgrade' AS kind, n.customer,
                jsonb_build_object('from', p.combined_score, 'to', n.combined_score, 'since', p.as_of) AS details
         FROM now_ n JOIN prev p USING (customer)
         WHERE p.combined_score - n.combined_score > cfg.watch_score_drop
         UNION ALL
         SELECT 'tier_change', n.customer, jsonb_build_object('from', p.tier, 'to', n.tier, 'since', p.as_of)
         FROM now_ n JOIN prev p USING (customer)
         WHERE p.tier IS DISTINCT FROM n.tier AND n.tier IS NOT NULL AND p.tier IS NOT NULL
         UNION ALL
         SELECT 'overdue_' || max(d), n.customer,
                jsonb_build_object('days_past_due', n.oldest_days_past_due, 'before', p.oldest_days_past_due)
         FROM now_ n LEFT JOIN prev p USING (customer), unnest(ARRAY[30, 60, 90]) AS d
         WHERE n.oldest_days_past_due > d AND coalesce(p.oldest_days_past_due, 0) <= d
         GROUP BY n.customer, n.oldest_days_past_due, p.oldest_days_past_due
         UNION ALL
         SELECT 'review_overdue', a.customer, jsonb_build_object('next_review', a.next_review)
         FROM pgcredit.account a LEFT JOIN prev p USING (customer)
         WHERE a.next_review < refresh_scores.as_of AND (p.as_of IS NULL OR p.as_of <= a.next_review))
  INSERT INTO pgcredit.alert (kind, customer, details)
  SELECT ev.kind, ev.customer, ev.details || jsonb_build_object('as_of', refresh_scores.as_of)
  FROM ev
  -- a second run of the day raises nothing the first one raised
  WHERE NOT EXISTS (SELECT FROM pgcredit.alert x
                    WHERE x.kind = ev.kind AND x.customer = ev.customer
                      AND (x.details ->> 'as_of')::date = refresh_scores.as_of)
  ORDER BY ev.customer, ev.kind;
  GET DIAGNOSTICS raised = ROW_COUNT;

  -- accounts on watch and back, when the settings ask for it
  IF cfg.auto_watch THEN
    PERFORM pgcredit._auto_watch(refresh_scores.as_of);
  END IF;

  RETURN QUERY SELECT n, raised;
END
$$;
COMMENT ON FUNCTION pgcredit.refresh_scores(date) IS
  'score every customer for a day: behavioural, external, combined score and tier (with the margin of risk_settings.tier_margin) into score_history (replacing that day''s rows), alerts for downgrades, tier changes, items passing 30/60/90 days past due and overdue reviews, and, when risk_settings.auto_watch is on, accounts put on watch and back';

CREATE FUNCTION pgcredit.watchlist_at(as_of date)
RETURNS TABLE (customer text, rule text, detail text, value numeric, threshold numeric)
LANGUAGE sql STABLE ROWS 100
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
WITH r AS (SELECT * FROM pgcredit.customer_risk_at($1)),
     cfg AS (SELECT * FROM pgcredit._settings_or_default()),
     -- the last two scorings on or before the day, side by side
     d AS (SELECT max(h.as_of) AS d1,
                  (SELECT max(h2.as_of) FROM pgcredit.score_history h2
                   WHERE h2.as_of < (SELECT max(h3.as_of) FROM pgcredit.score_history h3 WHERE h3.as_of <= $1)) AS d2
           FROM pgcredit.score_history h WHERE h.as_of <= $1),
     last2 AS (SELECT n.customer, n.as_of, n.combined_score, n.receivables, n.open_orders, n.overdue,
                      b.as_of AS prev_as_of, b.combined_score AS prev_score,
                      b.receivables AS prev_receivables, b.open_orders AS prev_orders, b.overdue AS prev_overdue
               FROM d JOIN pgcredit.score_history n ON n.as_of = d.d1
               JOIN pgcredit.score_history b ON b.as_of = d.d2 AND b.customer = n.customer),
     items AS (SELECT * FROM cfg, pgcredit._newly_overdue($1, cfg.watch_overdue_days,
                                                            cfg.watch_new_overdue_window))
SELECT r.customer, 'utilisation' AS rule,
       format('utilisation %s%% of the limit', r.utilisation_pct) AS detail,
       r.utilisation_pct AS value, cfg.watch_utilisation_pct AS threshold
FROM r, cfg WHERE r.utilisation_pct > cfg.watch_utilisation_pct
UNION ALL
SELECT i.customer, 'new_overdue_item',
       format('%s open item(s) passed %s days past due in the last %s days',
              i.n, cfg.watch_overdue_days, cfg.watch_new_overdue_window),
       $1 - i.due, cfg.watch_overdue_days
FROM items i, cfg
UNION ALL
SELECT l.customer, 'score_drop',
       format('combined score fell from %s to %s between %s and %s', l.prev_score, l.combined_score,
              to_char(l.prev_as_of, 'YYYY-MM-DD'), to_char(l.as_of, 'YYYY-MM-DD')),
       l.prev_score - l.combined_score, cfg.watch_score_drop
FROM last2 l, cfg
WHERE l.prev_score - l.combined_score > cfg.watch_score_drop
UNION ALL
-- an order that ships becomes a receivable: exposure moves from open
-- orders to receivables and nothing is worse.  The sign is a rise of
-- receivables beyond the fall of open orders (exposure grew while the
-- customer orders less) with more of it past due.
SELECT l.customer, 'receivables_up_orders_down',
       format('receivables rose from %s to %s, more than open orders fell (from %s to %s), and overdue from %s to %s between %s and %s',
              l.prev_receivables, l.receivables, l.prev_orders, l.open_orders, l.prev_overdue, l.overdue,
              to_char(l.prev_as_of, 'YYYY-MM-DD'), to_char(l.as_of, 'YYYY-MM-DD')),
       (l.receivables - l.prev_receivables) - (l.prev_orders - l.open_orders), 0
FROM last2 l
WHERE l.open_orders < l.prev_orders
  AND l.receivables - l.prev_receivables > l.prev_orders - l.open_orders
  AND l.overdue > l.prev_overdue
UNION ALL
SELECT a.customer, 'review_overdue', format('review was due on %s', to_char(a.next_review, 'YYYY-MM-DD')),
       $1 - a.next_review, 0
FROM pgcredit.account a WHERE a.next_review < $1;
$$;
COMMENT ON FUNCTION pgcredit.watchlist_at(date) IS 'the rows of watchlist as of any day';
REVOKE EXECUTE ON FUNCTION pgcredit.watchlist_at(date) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgcredit.watchlist_at(date) TO pgcredit_reader;

CREATE OR REPLACE VIEW pgcredit.watchlist AS
SELECT * FROM pgcredit.watchlist_at(pgcredit.as_of());
COMMENT ON COLUMN pgcredit.watchlist.value IS 'the figure that fired the rule (utilisation %, days past due, points dropped, rise of receivables beyond the fall of open orders, days since the review date)';

CREATE VIEW pgcredit.tier_churn AS
SELECT m.as_of, m.from_tier, m.to_tier, coalesce(m.from_tier <> m.to_tier, false) AS moved, count(*) AS customers
FROM (SELECT h.as_of, h.tier AS to_tier,
             lag(h.tier) OVER w AS from_tier, lag(h.as_of) OVER w AS previous_as_of
      FROM pgcredit.score_history h
      WINDOW w AS (PARTITION BY h.customer ORDER BY h.as_of)) m
WHERE m.previous_as_of IS NOT NULL
GROUP BY m.as_of, m.from_tier, m.to_tier;
COMMENT ON VIEW pgcredit.tier_churn IS 'per day scored, how many customers went from which tier (at their previous scoring) to which: the churn of the tiers, for BI';
COMMENT ON COLUMN pgcredit.tier_churn.as_of IS 'the day scored';
COMMENT ON COLUMN pgcredit.tier_churn.from_tier IS 'the tier at the customer''s previous scoring (NULL: no score then)';
COMMENT ON COLUMN pgcredit.tier_churn.to_tier IS 'the tier at this scoring (NULL: no score)';
COMMENT ON COLUMN pgcredit.tier_churn.moved IS 'whether the tier changed (false when either day has no score)';
COMMENT ON COLUMN pgcredit.tier_churn.customers IS 'customers that went from from_tier to to_tier (a customer''s first scoring is not counted)';
REVOKE ALL ON pgcredit.tier_churn FROM PUBLIC;
GRANT SELECT ON pgcredit.tier_churn TO pgcredit_reader;

-- Automatic watch: refresh_scores() calls it when risk_settings.auto_watch is on
CREATE FUNCTION pgcredit._auto_watch(as_of date)
RETURNS void LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
DECLARE
  cfg pgcredit.risk_settings := pgcredit._settings_or_default();
  c record;
  st text;
  set_by text;
BEGIN
  -- each account's reasons at this scoring: utilisation above the
  -- threshold, and the watchlist signals the settings name
  FOR c IN
    WITH w AS (SELECT l.customer, array_agg(l.rule ORDER BY l.rule) AS rules,
                      string_agg(format('%s: %s', l.rule, l.detail), '; ' ORDER BY l.rule) AS words
               FROM pgcredit.watchlist_at(_auto_watch.as_of) l
               WHERE l.rule = ANY (cfg.auto_watch_signals)
               GROUP BY l.customer)
    SELECT a.customer, a.status, h.utilisation_pct,
           CASE WHEN h.utilisation_pct > cfg.auto_watch_utilisation_pct THEN '{utilisation}'::text[]
                ELSE '{}' END || coalesce(w.rules, '{}') AS reasons,
           concat_ws('; ', CASE WHEN h.utilisation_pct > cfg.auto_watch_utilisation_pct
                                THEN format('utilisation: %s%% of the limit, above %s%%', h.utilisation_pct,
                                            cfg.auto_watch_utilisation_pct) END, w.words) AS words
    FROM pgcredit.account a
    JOIN pgcredit.score_history h ON h.customer = a.customer AND h.as_of = _auto_watch.as_of
    LEFT JOIN w ON w.customer = a.customer
    ORDER BY a.customer
  LOOP
    UPDATE pgcredit.score_history h SET watch_reasons = c.reasons
    WHERE h.customer = c.customer AND h.as_of = _auto_watch.as_of;
    IF c.status NOT IN ('ok', 'watch') THEN
      CONTINUE;       -- hold and blocked are a person's decision
    END IF;
    -- the status again, under the account's lock: a person may have
    -- changed it since
    SELECT a.status INTO st FROM pgcredit.account a WHERE a.customer = c.customer FOR UPDATE;
    IF st = 'ok' AND cardinality(c.reasons) > 0 THEN
      PERFORM pgcredit._change_account(c.customer, '{"status": "watch"}', 'auto_watch',
                                       'automatic watch: ' || c.words);
    ELSIF st = 'watch' AND cardinality(c.reasons) = 0
          AND coalesce(c.utilisation_pct <= cfg.auto_watch_utilisation_pct - cfg.auto_watch_release_margin, true)
          AND NOT EXISTS (SELECT FROM pgcredit.score_history h
                          WHERE h.customer = c.customer AND h.as_of <= _auto_watch.as_of
                            AND h.as_of > _auto_watch.as_of - cfg.auto_watch_calm_days
                            AND h.watch_reasons && cfg.auto_watch_signals) THEN
      -- lifted only when the rules set it: the latest change of the
      -- status in the audit log was an automatic watch
      SELECT l.action INTO set_by FROM pgcredit.audit_log l
      WHERE l.customer = c.customer AND l.new_value ? 'status'
      ORDER BY l.id DESC LIMIT 1;
      IF set_by = 'auto_watch' THEN
        PERFORM pgcredit._change_account(c.customer, '{"status": "ok"}', 'auto_unwatch',
          format('automatic watch lifted: utilisation %s, at or below %s%%; no signal in the last %s days',
                 coalesce(c.utilisation_pct || '%', 'without a limit'),
                 cfg.auto_watch_utilisation_pct - cfg.auto_watch_release_margin, cfg.auto_watch_calm_days));
      END IF;
    END IF;
  END LOOP;
END
$$;
COMMENT ON FUNCTION pgcredit._auto_watch(date) IS
  'for refresh_scores(): record each account''s reasons for a watch at the day''s scoring, put accounts that are ok and have one on watch, and put back to ok the accounts the rules put on watch once no reason is left (audited as auto_watch and auto_unwatch)';
REVOKE EXECUTE ON FUNCTION pgcredit._auto_watch(date) FROM PUBLIC;

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

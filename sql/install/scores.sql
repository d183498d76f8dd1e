-- Risk: external scores, score history, combined scores and tiers

CREATE TABLE pgcredit.external_score (
  customer    text NOT NULL,
  source      text NOT NULL,
  score       numeric NOT NULL CHECK (score > '-Infinity' AND score < 'Infinity'),
  rating      text,
  as_of       date NOT NULL,
  import_run  bigint DEFAULT NULLIF(pg_catalog.current_setting('pgcredit.import_run', true), '')::bigint,
  loaded_at   timestamptz NOT NULL DEFAULT pg_catalog.now(),
  PRIMARY KEY (customer, source, as_of)
);
COMMENT ON TABLE pgcredit.external_score IS 'scores and ratings of customers from credit bureaus and other outside sources, one row per customer, source and date';
COMMENT ON COLUMN pgcredit.external_score.customer IS 'customer key as text, as in pgcredit.account';
COMMENT ON COLUMN pgcredit.external_score.source IS 'where the score comes from, for example experian, dnb, creditsafe';
COMMENT ON COLUMN pgcredit.external_score.score IS 'the score as the source gives it (its own scale)';
COMMENT ON COLUMN pgcredit.external_score.rating IS 'the source''s rating or band, for example A, 2A3 or 71-80';
COMMENT ON COLUMN pgcredit.external_score.as_of IS 'the date the source gave the score';
COMMENT ON COLUMN pgcredit.external_score.import_run IS 'the CSV load that brought the row, if any';
COMMENT ON COLUMN pgcredit.external_score.loaded_at IS 'when the row was stored';
REVOKE ALL ON pgcredit.external_score FROM PUBLIC;
GRANT SELECT ON pgcredit.external_score TO pgcredit_reader;
GRANT INSERT, UPDATE, DELETE ON pgcredit.external_score TO pgcredit_controller;
SELECT pg_catalog.pg_extension_config_dump('pgcredit.external_score', '');


CREATE TABLE pgcredit.score_history (
  customer          text NOT NULL,
  as_of             date NOT NULL,
  behavioural_score numeric,
  external_score    numeric,
  utilisation_pct   numeric,
  combined_score    numeric,
  tier              text CHECK (tier IN ('A', 'B', 'C', 'D', 'E')),
  receivables       numeric,
  open_orders       numeric,
  oldest_days_past_due int,
  computed_at       timestamptz NOT NULL DEFAULT pg_catalog.clock_timestamp(),
  score_tier        text CHECK (score_tier IN ('A', 'B', 'C', 'D', 'E')),
  overdue           numeric,
  watch_reasons     text[],
  PRIMARY KEY (customer, as_of)
);
CREATE INDEX score_history_as_of ON pgcredit.score_history (as_of);
COMMENT ON INDEX pgcredit.score_history_as_of IS 'the scorings of a day, for the views and the next run';
COMMENT ON TABLE pgcredit.score_history IS 'scores and tiers by customer and day, appended by refresh_scores(); a second run for the same day replaces that day''s rows';
COMMENT ON COLUMN pgcredit.score_history.customer IS 'customer key';
COMMENT ON COLUMN pgcredit.score_history.as_of IS 'the day scored';
COMMENT ON COLUMN pgcredit.score_history.behavioural_score IS 'credit_score() over the customer''s attached receivables, 0-100; NULL without payment evidence';
COMMENT ON COLUMN pgcredit.score_history.external_score IS 'the latest external score on or before as_of, brought to 0-100 by external_score_scale';
COMMENT ON COLUMN pgcredit.score_history.utilisation_pct IS 'exposure as a percentage of the credit limit; NULL without a limit';
COMMENT ON COLUMN pgcredit.score_history.combined_score IS 'weighted mean of the behavioural score, the external score and 100 minus utilisation (capped to 0-100), over the parts known, with risk_settings weights; less risk_settings.broken_promise_penalty for each promise to pay broken in the 365 days before (not below 0)';
COMMENT ON COLUMN pgcredit.score_history.tier IS 'risk tier, A best to E worst: the tier of the customer''s previous scoring while the combined score stays within risk_settings.tier_margin points of its band, else the tier of the score (risk_tier(combined_score, previous tier))';
COMMENT ON COLUMN pgcredit.score_history.receivables IS 'open receivables when scored';
COMMENT ON COLUMN pgcredit.score_history.open_orders IS 'open orders when scored';
COMMENT ON COLUMN pgcredit.score_history.oldest_days_past_due IS 'days past due of the oldest open item when scored';
COMMENT ON COLUMN pgcredit.score_history.computed_at IS 'when the row was computed';
COMMENT ON COLUMN pgcredit.score_history.score_tier IS 'the tier of the combined score alone, by the thresholds of risk_settings, without the margin (NULL in rows scored before version 1.1)';
COMMENT ON COLUMN pgcredit.score_history.overdue IS 'open receivables past due when scored (NULL in rows scored before version 1.1)';
COMMENT ON COLUMN pgcredit.score_history.watch_reasons IS 'the reasons for an automatic watch found at this scoring (empty: none); NULL when the automatic watch is off or the customer has no account';
REVOKE ALL ON pgcredit.score_history FROM PUBLIC;
GRANT SELECT ON pgcredit.score_history TO pgcredit_reader;
SELECT pg_catalog.pg_extension_config_dump('pgcredit.score_history', '');


-- The attached receivables, as one query over all of them
CREATE FUNCTION pgcredit._receivable_items_sql(one_customer boolean DEFAULT false)
RETURNS text LANGUAGE sql IMMUTABLE
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
  SELECT 'SELECT i.customer, '
         -- paid by the day: not open; paid after it: the whole invoice was
         -- open on it; otherwise the open amount as it stands, when open
         'CASE WHEN i.paid_on <= $1 THEN NULL WHEN i.paid_on > $1 THEN i.invoice_amount '
         '     WHEN i.counts THEN i.amount END AS open_amount, '
         'i.due, i.invoice_amount, i.invoiced_on, i.paid_on '
         -- one customer's items, the customer $2, are read through the
         -- tables' customer indexes; every customer's with a plain scan
         'FROM pgcredit._attached_items(''receivables''' || CASE WHEN $1 THEN ', $2' ELSE '' END || ') i '
         -- invoices of later days are left out
         'WHERE i.invoiced_on IS NULL OR i.invoiced_on <= $1'
$$;
COMMENT ON FUNCTION pgcredit._receivable_items_sql(boolean) IS
  'the query listing every item of the attached receivables tables (with one_customer, of the customer $2 only) as of the day $1: customer, open amount on that day (NULL when not open; with a payment date column, an item paid after the day counts whole), due, invoice amount, invoice date, payment date; items invoiced after the day are left out';
REVOKE EXECUTE ON FUNCTION pgcredit._receivable_items_sql(boolean) FROM PUBLIC;

-- Every customer's figures of receivable_stats() in one pass over the
-- attached receivables, aggregated as the rows are read (receivable_book.c)
CREATE FUNCTION pgcredit._receivable_book(as_of date)
RETURNS TABLE (customer text, receivables numeric, current numeric, days_1_30 numeric,
               days_31_60 numeric, days_61_90 numeric, days_over_90 numeric,
               oldest_days_past_due int, dso_90 numeric, last_payment date,
               behavioural_score numeric, invoiced_12m numeric)
AS 'MODULE_PATHNAME', 'pgc_receivable_book'
LANGUAGE C STABLE ROWS 10000;
COMMENT ON FUNCTION pgcredit._receivable_book(date) IS
  'the rows of receivable_stats(as_of) for every customer, counting disputed items as any other, computed as the attached tables are scanned instead of through _attached_items()';
REVOKE EXECUTE ON FUNCTION pgcredit._receivable_book(date) FROM PUBLIC;

-- The same pass for the kept book (book_cache.sql), with each customer's
-- share of portfolio_stats() and its row of _newly_overdue()
CREATE FUNCTION pgcredit._receivable_book_kept(as_of date, overdue_days int, overdue_window int)
RETURNS TABLE (customer text, receivables numeric, current numeric, days_1_30 numeric,
               days_31_60 numeric, days_61_90 numeric, days_over_90 numeric,
               oldest_days_past_due int, dso_90 numeric, last_payment date,
               behavioural_score numeric, invoiced_12m numeric,
               dso_receivables numeric, dso_not_due numeric, dso_sales numeric,
               late_first_due date, late_items bigint)
AS 'MODULE_PATHNAME', 'pgc_receivable_book_kept'
LANGUAGE C STABLE ROWS 10000;
COMMENT ON FUNCTION pgcredit._receivable_book_kept(date, integer, integer) IS
  'the rows of _receivable_book(as_of) with each customer''s sums of dso_report(invoice_amount, invoiced_on, due, paid_on, as_of, 90) and its row of _newly_overdue(as_of, overdue_days, overdue_window), for the kept book';
REVOKE EXECUTE ON FUNCTION pgcredit._receivable_book_kept(date, integer, integer) FROM PUBLIC;

CREATE FUNCTION pgcredit._receivable_stats_computed(as_of date, for_customer text)
RETURNS TABLE (customer text, receivables numeric, current numeric, days_1_30 numeric,
               days_31_60 numeric, days_61_90 numeric, days_over_90 numeric,
               oldest_days_past_due int, dso_90 numeric, last_payment date,
               behavioural_score numeric, invoiced_12m numeric)
LANGUAGE plpgsql STABLE ROWS 10000
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
DECLARE
  items text;
  score text := 'pgcredit.credit_score(invoice_amount, due, paid_on, $1)';
  disputed_out boolean := false;
BEGIN
  -- an item whose dispute is open on the day leaves the behavioural score
  -- when the settings say so (collections_disputes.sql); every other
  -- figure counts it, for it is owed.  Without such a dispute nothing
  -- more is read.
  IF EXISTS (SELECT FROM pgcredit.collection_dispute d
             WHERE d.opened_on <= as_of AND (d.closed_on IS NULL OR d.closed_on > as_of)) THEN
    IF NOT (SELECT r.disputed_in_score FROM pgcredit._settings_or_default() r) THEN
      items := pgcredit._receivable_items_disputed_sql(for_customer IS NOT NULL);
      score := score || ' FILTER (WHERE NOT disputed)';
      disputed_out := true;
    END IF;
  END IF;
  -- every customer, no dispute out of the score: the figures are
  -- aggregated as the tables are read, with nothing copied
  IF for_customer IS NULL AND NOT disputed_out THEN
    BEGIN
      RETURN QUERY SELECT * FROM pgcredit._receivable_book(as_of);
      RETURN;
    EXCEPTION WHEN program_limit_exceeded THEN
      -- more customers than a hash aggregate's memory holds (the book
      -- stops before it returns a row): the SQL below, which spills
      NULL;
    END;
  END IF;
  items := coalesce(items, pgcredit._receivable_items_sql(for_customer IS NOT NULL));
  -- one pass over every attached receivables table, every figure at once;
  -- the day goes in as a constant (the aggregates run several times faster
  -- than with a parameter), and customers are grouped bytewise
  RETURN QUERY EXECUTE replace(format(
    'SELECT customer, (g).total, (g).current, (g).days_1_30, (g).days_31_60, (g).days_61_90,
            (g).days_over_90, oldest, dso, last_payment, score, invoiced
     FROM (SELECT customer COLLATE "C" AS customer,
                  pgcredit.aging(open_amount, due, $1) AS g,
                  max(CASE WHEN open_amount > 0 AND due < $1 THEN $1 - due END) AS oldest,
                  pgcredit.dso(invoice_amount, invoiced_on, paid_on, $1, 90) AS dso,
                  max(paid_on) FILTER (WHERE paid_on <= $1) AS last_payment,
                  %s AS score,
                  sum(invoice_amount) FILTER (WHERE invoiced_on > $1 - 365 AND invoiced_on <= $1) AS invoiced
           FROM (%s) items
           GROUP BY 1) s',
    score, items), '$1', quote_literal(as_of::text) || '::date')
  -- the customer goes in as the parameter $2, never into the text
  USING as_of, for_customer;
END
$$;
COMMENT ON FUNCTION pgcredit._receivable_stats_computed(date, text) IS
  'the rows of receivable_stats(as_of, for_customer) computed from the attached tables, without the kept book';
REVOKE EXECUTE ON FUNCTION pgcredit._receivable_stats_computed(date, text) FROM PUBLIC;

CREATE FUNCTION pgcredit.receivable_stats(as_of date, for_customer text)
RETURNS TABLE (customer text, receivables numeric, current numeric, days_1_30 numeric,
               days_31_60 numeric, days_61_90 numeric, days_over_90 numeric,
               oldest_days_past_due int, dso_90 numeric, last_payment date,
               behavioural_score numeric, invoiced_12m numeric)
LANGUAGE plpgsql STABLE SECURITY DEFINER ROWS 10000
SUPPORT pgcredit._customer_support
-- joins of the kept book estimated large: compiling them would take
-- longer than running them (as in customer_risk_at)
SET jit = off
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
BEGIN
  PERFORM pgcredit._check_day(as_of);
  -- one customer, or a day whose disputed items leave the score: computed
  IF for_customer IS NOT NULL OR pgcredit._disputes_out_of_score(as_of) THEN
    RETURN QUERY SELECT * FROM pgcredit._receivable_stats_computed(as_of, for_customer);
    RETURN;
  END IF;
  -- every customer: the kept book of the day (book_cache.sql), when it
  -- holds, with the customers whose rows changed since computed again
  -- one by one; else the whole book computed.  One statement, so that
  -- the kept rows, the versions and the ledger are read as of one
  -- snapshot; the branch not taken is not run.
  RETURN QUERY
  WITH k AS MATERIALIZED (SELECT * FROM pgcredit._book_changes(as_of))
  SELECT c.customer, c.receivables, c.current, c.days_1_30, c.days_31_60, c.days_61_90, c.days_over_90,
         c.oldest_days_past_due, c.dso_90, c.last_payment, c.behavioural_score, c.invoiced_12m
  FROM pgcredit.book_cache c
  -- (a hashed NOT IN: a few changed customers among many kept)
  WHERE (SELECT kept FROM k) AND c.in_book
    AND c.customer NOT IN (SELECT unnest(k2.changed) FROM k k2)
  UNION ALL
  SELECT r.customer, r.receivables, r.current, r.days_1_30, r.days_31_60, r.days_61_90, r.days_over_90,
         r.oldest_days_past_due, r.dso_90, r.last_payment, r.behavioural_score, r.invoiced_12m
  FROM pgcredit._book_rows(as_of, (SELECT changed FROM k), NULL, NULL) r
  WHERE (SELECT kept FROM k)
  UNION ALL
  SELECT r.* FROM pgcredit._receivable_stats_computed(as_of, NULL) r
  WHERE NOT (SELECT kept FROM k);
END
$$;
COMMENT ON FUNCTION pgcredit.receivable_stats(date, text) IS
  'per customer (one customer, read through the tables'' customer indexes; every customer when NULL, from the kept book when it holds: refresh_book()) over every attached receivables table, at as_of: open receivables by aging band, days past due of the oldest open item, DSO over 90 days, last payment, behavioural score (without the items disputed on the day when risk_settings.disputed_in_score is false), invoicing of the last 12 months';
REVOKE EXECUTE ON FUNCTION pgcredit.receivable_stats(date, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgcredit.receivable_stats(date, text) TO pgcredit_reader;

CREATE FUNCTION pgcredit.receivable_stats(as_of date DEFAULT current_date)
RETURNS TABLE (customer text, receivables numeric, current numeric, days_1_30 numeric,
               days_31_60 numeric, days_61_90 numeric, days_over_90 numeric,
               oldest_days_past_due int, dso_90 numeric, last_payment date,
               behavioural_score numeric, invoiced_12m numeric)
LANGUAGE sql STABLE ROWS 10000
SUPPORT pgcredit._customer_support
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$ SELECT * FROM pgcredit.receivable_stats($1, NULL) $$;
COMMENT ON FUNCTION pgcredit.receivable_stats(date) IS
  'per customer over every attached receivables table, at as_of: receivable_stats(as_of, NULL); a filter on one customer reads that customer only';
REVOKE EXECUTE ON FUNCTION pgcredit.receivable_stats(date) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgcredit.receivable_stats(date) TO pgcredit_reader;

CREATE FUNCTION pgcredit.external_score_now(as_of date, for_customer text)
RETURNS TABLE (customer text, source text, score numeric, scaled_score numeric, rating text, scored_on date)
LANGUAGE plpgsql STABLE ROWS 10000
SUPPORT pgcredit._customer_support
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
BEGIN
  -- planned at each call with its values: one customer's scores are
  -- found through the primary key, every customer's with a scan
  RETURN QUERY EXECUTE
    'SELECT DISTINCT ON (e.customer) e.customer, e.source, e.score,
            round(greatest(0, least(100, CASE WHEN x.source IS NULL THEN e.score
                                               ELSE (e.score - x.worst) / (x.best - x.worst) * 100 END)), 2),
            e.rating, e.as_of
     FROM pgcredit.external_score e
     LEFT JOIN pgcredit.external_score_scale x ON x.source = e.source
     WHERE e.as_of <= $1 AND ($2 IS NULL OR e.customer = $2)
     ORDER BY e.customer, e.as_of DESC, e.loaded_at DESC, e.source'
  USING as_of, for_customer;
END
$$;
COMMENT ON FUNCTION pgcredit.external_score_now(date, text) IS
  'each customer''s (one customer''s; every customer''s when NULL) latest external score on or before as_of, also brought to 0-100 by external_score_scale';
REVOKE EXECUTE ON FUNCTION pgcredit.external_score_now(date, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgcredit.external_score_now(date, text) TO pgcredit_reader;

CREATE FUNCTION pgcredit.external_score_now(as_of date DEFAULT current_date)
RETURNS TABLE (customer text, source text, score numeric, scaled_score numeric, rating text, scored_on date)
LANGUAGE sql STABLE ROWS 10000
SUPPORT pgcredit._customer_support
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$ SELECT * FROM pgcredit.external_score_now($1, NULL) $$;
COMMENT ON FUNCTION pgcredit.external_score_now(date) IS
  'each customer''s latest external score on or before as_of, also brought to 0-100 by external_score_scale: external_score_now(as_of, NULL)';
REVOKE EXECUTE ON FUNCTION pgcredit.external_score_now(date) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgcredit.external_score_now(date) TO pgcredit_reader;

CREATE FUNCTION pgcredit._settings_or_default()
RETURNS pgcredit.risk_settings LANGUAGE sql STABLE
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
  SELECT coalesce((SELECT r FROM pgcredit.risk_settings r), ROW(true, 0.5, 0.3, 0.2, 80, 65, 50, 35, 90, 30, 7, 10, 5, false, 90, 10,
                                                          '{new_overdue_item,score_drop,receivables_up_orders_down}', 14, true, 0, 0)::pgcredit.risk_settings)
$$;
COMMENT ON FUNCTION pgcredit._settings_or_default() IS 'the risk settings row, or every default';
REVOKE EXECUTE ON FUNCTION pgcredit._settings_or_default() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgcredit._settings_or_default() TO pgcredit_reader;

CREATE FUNCTION pgcredit._combine(behavioural numeric, external numeric, utilisation_pct numeric,
                                  w_behaviour numeric, w_external numeric, w_utilisation numeric)
RETURNS numeric LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
  -- one expression, without FROM, so that the planner inlines it: the
  -- weighted parts over the weights of the parts that are known
  SELECT CASE WHEN (CASE WHEN $1 IS NULL THEN 0 ELSE $4 END + CASE WHEN $2 IS NULL THEN 0 ELSE $5 END
                    + CASE WHEN $3 IS NULL THEN 0 ELSE $6 END) > 0
              THEN round((CASE WHEN $1 IS NULL THEN 0 ELSE $4 * $1 END
                          + CASE WHEN $2 IS NULL THEN 0 ELSE $5 * $2 END
                          + CASE WHEN $3 IS NULL THEN 0 ELSE $6 * greatest(0, least(100, 100 - $3)) END)
                         / (CASE WHEN $1 IS NULL THEN 0 ELSE $4 END + CASE WHEN $2 IS NULL THEN 0 ELSE $5 END
                            + CASE WHEN $3 IS NULL THEN 0 ELSE $6 END), 2) END
$$;
COMMENT ON FUNCTION pgcredit._combine(numeric, numeric, numeric, numeric, numeric, numeric) IS
  'the combined score with the weights given: the formula of combined_score(), inlined where a view scores many customers';
REVOKE EXECUTE ON FUNCTION pgcredit._combine(numeric, numeric, numeric, numeric, numeric, numeric) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgcredit._combine(numeric, numeric, numeric, numeric, numeric, numeric) TO pgcredit_reader;

CREATE FUNCTION pgcredit.combined_score(behavioural numeric, external numeric, utilisation_pct numeric)
RETURNS numeric LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
  SELECT pgcredit._combine($1, $2, $3, r.weight_behaviour, r.weight_external, r.weight_utilisation)
  FROM pgcredit._settings_or_default() r
$$;
COMMENT ON FUNCTION pgcredit.combined_score(numeric, numeric, numeric) IS
  'the combined 0-100 score: weighted mean of the behavioural score, the external score (0-100) and the utilisation score (100 minus utilisation %, within 0-100), over the parts that are not NULL, with the weights of risk_settings';
-- EXECUTE: PUBLIC (the default): it reveals the weights of risk_settings,
-- never a customer's figures.

CREATE FUNCTION pgcredit.risk_tier(combined numeric)
RETURNS text LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
  -- NaN is no score (numeric sorts it above every number: it would be A)
  SELECT CASE WHEN $1 IS NULL OR $1 = 'NaN' THEN NULL
              WHEN $1 >= r.tier_a_min THEN 'A' WHEN $1 >= r.tier_b_min THEN 'B'
              WHEN $1 >= r.tier_c_min THEN 'C' WHEN $1 >= r.tier_d_min THEN 'D' ELSE 'E' END
  FROM pgcredit._settings_or_default() r
$$;
COMMENT ON FUNCTION pgcredit.risk_tier(numeric) IS 'the risk tier of a combined score, A (best) to E, by the thresholds of risk_settings; NULL for a NULL or NaN score';
-- EXECUTE: PUBLIC (the default), as combined_score().

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


-- The tier of a combined score as one expression, without FROM and
-- without settings of its own, so that the planner inlines it where
-- refresh_scores() tiers every customer: the formula of
-- risk_tier(combined, previous_tier) with the thresholds and margin given
-- (previous_tier NULL: the tier of the score alone, as risk_tier(combined)).
CREATE FUNCTION pgcredit._tier(combined numeric, previous_tier text, a_min numeric, b_min numeric,
                               c_min numeric, d_min numeric, margin numeric)
RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
  SELECT CASE WHEN $1 IS NULL OR $1 = 'NaN' THEN NULL
              -- the band of the previous tier (A and E open on one side),
              -- widened by the margin: inside it the tier is kept
              WHEN $2 = 'A' AND $1 >= $3 - $7 THEN 'A'
              WHEN $2 = 'B' AND $1 >= $4 - $7 AND $1 < $3 + $7 THEN 'B'
              WHEN $2 = 'C' AND $1 >= $5 - $7 AND $1 < $4 + $7 THEN 'C'
              WHEN $2 = 'D' AND $1 >= $6 - $7 AND $1 < $5 + $7 THEN 'D'
              WHEN $2 = 'E' AND $1 < $6 + $7 THEN 'E'
              WHEN $1 >= $3 THEN 'A' WHEN $1 >= $4 THEN 'B'
              WHEN $1 >= $5 THEN 'C' WHEN $1 >= $6 THEN 'D' ELSE 'E' END
$$;
COMMENT ON FUNCTION pgcredit._tier(numeric, text, numeric, numeric, numeric, numeric, numeric) IS
  'the tier of a combined score with the thresholds and margin given: the formula of risk_tier(combined, previous_tier), inlined where refresh_scores() tiers every customer';
REVOKE EXECUTE ON FUNCTION pgcredit._tier(numeric, text, numeric, numeric, numeric, numeric, numeric) FROM PUBLIC;

CREATE FUNCTION pgcredit.refresh_scores(as_of date DEFAULT pgcredit.as_of())
RETURNS TABLE (customers bigint, alerts bigint)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
-- joins over the scores of every customer, estimated large: compiling
-- them would take longer than running them (as in customer_risk_at)
SET jit = off
-- and joined by hashing, not by sorting every customer key (as there)
SET enable_mergejoin = off
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
  -- today's book kept (book_cache.sql): the figures below read it, and
  -- so do the risk views after this run
  IF refresh_scores.as_of = current_date THEN
    PERFORM pgcredit.refresh_book(refresh_scores.as_of);
  END IF;
  -- one day, one set of scores: a second run of the day replaces the first
  DELETE FROM pgcredit.score_history h WHERE h.as_of = refresh_scores.as_of;
  WITH s AS (SELECT * FROM pgcredit.receivable_stats(refresh_scores.as_of)),
       x AS (SELECT * FROM pgcredit.external_score_now(refresh_scores.as_of)),
       fs AS (SELECT * FROM pgcredit.financial_score_now(refresh_scores.as_of, NULL)),
       -- exposure as it stands (on the coordinator of a Citus cluster, as
       -- the workers keep it: exposure_history.sql)
       ex AS (SELECT * FROM pgcredit._exposure_state_at(current_date, NULL)),
       c AS (SELECT customer FROM pgcredit.account UNION SELECT customer FROM ex
             UNION SELECT customer FROM s),
       -- promises to pay broken in the 365 days before the day, when
       -- they cost points (collections_promises.sql)
       bp AS (SELECT b.customer, b.broken FROM pgcredit.broken_promises_at(refresh_scores.as_of) b
              WHERE cfg.broken_promise_penalty > 0 AND b.broken > 0),
       f AS (SELECT c.customer, s.behavioural_score, x.scaled_score, fs.scaled_score AS financial_score,
                    round((coalesce(e.receivables, 0) + coalesce(e.open_orders, 0)) * 100
                          / nullif(a.credit_limit, 0), 2) AS utilisation,
                    coalesce(e.receivables, 0) AS receivables, coalesce(e.open_orders, 0) AS open_orders,
                    s.oldest_days_past_due, coalesce(s.receivables, 0) - coalesce(s.current, 0) AS overdue,
                    bp.broken
             FROM c LEFT JOIN pgcredit.account a USING (customer) LEFT JOIN ex e USING (customer)
             LEFT JOIN s USING (customer) LEFT JOIN x USING (customer) LEFT JOIN fs USING (customer)
             LEFT JOIN bp USING (customer)),
       -- the settings read once, above, not once a customer: the score
       -- and the tiers are inlined expressions over columns (materialized,
       -- so that each customer's score is computed once); broken promises
       -- take their points off, down to 0
       g AS MATERIALIZED (
             SELECT f.*, CASE WHEN f.broken IS NULL OR k.combined IS NULL THEN k.combined
                              ELSE greatest(0, k.combined - cfg.broken_promise_penalty * f.broken) END AS combined
             FROM f CROSS JOIN LATERAL (
               SELECT pgcredit._combine(f.behavioural_score, f.scaled_score, f.utilisation, f.financial_score,
                                        cfg.weight_behaviour, cfg.weight_external,
                                        cfg.weight_utilisation, cfg.weight_financial) AS combined) k)
  INSERT INTO pgcredit.score_history (customer, as_of, behavioural_score, external_score, utilisation_pct,
                                      combined_score, tier, receivables, open_orders, oldest_days_past_due,
                                      score_tier, overdue)
  SELECT g.customer, refresh_scores.as_of, g.behavioural_score, g.scaled_score, g.utilisation,
         g.combined,
         pgcredit._tier(g.combined, prev.tier, cfg.tier_a_min, cfg.tier_b_min, cfg.tier_c_min,
                        cfg.tier_d_min, cfg.tier_margin),
         g.receivables, g.open_orders, g.oldest_days_past_due,
         pgcredit._tier(g.combined, NULL, cfg.tier_a_min, cfg.tier_b_min, cfg.tier_c_min,
                        cfg.tier_d_min, cfg.tier_margin),
         g.overdue
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
  -- and those of the customers' cover
  raised := raised + pgcredit._cover_alerts(refresh_scores.as_of);

  -- accounts on watch and back, when the settings ask for it
  IF cfg.auto_watch THEN
    PERFORM pgcredit._auto_watch(refresh_scores.as_of);
  END IF;

  RETURN QUERY SELECT n, raised;
END
$$;
COMMENT ON FUNCTION pgcredit.refresh_scores(date) IS
  'score every customer for a day: behavioural, external, combined score (less risk_settings.broken_promise_penalty for each promise broken in the 365 days before) and tier (with the margin of risk_settings.tier_margin) into score_history (replacing that day''s rows), alerts for downgrades, tier changes, items passing 30/60/90 days past due, overdue reviews, covers about to end and exposure above the insured limit, and, when risk_settings.auto_watch is on, accounts put on watch and back';
REVOKE EXECUTE ON FUNCTION pgcredit.refresh_scores(date) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgcredit.refresh_scores(date) TO pgcredit_controller;

-- Risk: the book of a day kept, so that the whole book is read rather
-- than recomputed (doc/risk.md, "The kept book")

----------------------------------------------------------------------
-- What receivable_stats() gives for every customer on one day, kept
-- with each customer's book version (exposure.book_version) as it was
-- when computed.  A customer whose version has changed since, through a
-- change of a row of its in an attached receivables table, is computed
-- again when read; a change of anything else the figures depend on (the
-- attachments, the rates, the base currency, an account's currency, a
-- rebuild of exposure) or a new day makes the whole book be computed
-- again, until refresh_book() keeps it anew.
----------------------------------------------------------------------

CREATE TABLE pgcredit.book_state (
  one              boolean PRIMARY KEY DEFAULT true CONSTRAINT book_state_one CHECK (one),
  generation       bigint NOT NULL DEFAULT 0,
  day              date,
  built_on         date,
  built_generation bigint,
  built_at         timestamptz,
  customers        bigint,
  overdue_days     int,
  overdue_window   int
);
COMMENT ON TABLE pgcredit.book_state IS 'one row: which day the kept book (book_cache) describes, and whether it still holds';
COMMENT ON COLUMN pgcredit.book_state.one IS 'true: the table has one row';
COMMENT ON COLUMN pgcredit.book_state.generation IS 'raised by every change the figures depend on beyond the customers'' rows: attachments, rates, settings, accounts'' currencies, rebuild_exposure()';
COMMENT ON COLUMN pgcredit.book_state.day IS 'the day the kept book describes (NULL: none is kept)';
COMMENT ON COLUMN pgcredit.book_state.built_on IS 'the day it was computed on: on another day it is computed again';
COMMENT ON COLUMN pgcredit.book_state.built_generation IS 'generation when it was computed: it holds while generation is the same';
COMMENT ON COLUMN pgcredit.book_state.built_at IS 'when it was computed last, in whole or in part';
COMMENT ON COLUMN pgcredit.book_state.customers IS 'rows of book_cache when it was computed whole';
COMMENT ON COLUMN pgcredit.book_state.overdue_days IS 'the days past due of the newly overdue items kept (risk_settings.watch_overdue_days when kept)';
COMMENT ON COLUMN pgcredit.book_state.overdue_window IS 'the window of the newly overdue items kept (risk_settings.watch_new_overdue_window when kept)';
INSERT INTO pgcredit.book_state DEFAULT VALUES;
REVOKE ALL ON pgcredit.book_state FROM PUBLIC;
GRANT SELECT ON pgcredit.book_state TO pgcredit_reader;

CREATE TABLE pgcredit.book_cache (
  customer            text PRIMARY KEY,
  version             bigint,
  in_book             boolean NOT NULL,
  receivables         numeric,
  current             numeric,
  days_1_30           numeric,
  days_31_60          numeric,
  days_61_90          numeric,
  days_over_90        numeric,
  oldest_days_past_due int,
  dso_90              numeric,
  last_payment        date,
  behavioural_score   numeric,
  invoiced_12m        numeric,
  dso_receivables     numeric,
  dso_not_due         numeric,
  dso_sales           numeric,
  late_first_due      date,
  late_items          bigint
);
COMMENT ON TABLE pgcredit.book_cache IS 'the rows of receivable_stats() for the day of book_state, kept by refresh_book(); read by receivable_stats() for the customers whose book version is the same';
COMMENT ON COLUMN pgcredit.book_cache.customer IS 'customer key';
COMMENT ON COLUMN pgcredit.book_cache.version IS 'the customer''s exposure.book_version the row was computed at (NULL: it had none, or no exposure row)';
COMMENT ON COLUMN pgcredit.book_cache.in_book IS 'whether receivable_stats() has a row for the customer (false: a customer with an exposure row and no item on the day)';
COMMENT ON COLUMN pgcredit.book_cache.receivables IS 'as receivable_stats().receivables';
COMMENT ON COLUMN pgcredit.book_cache.current IS 'as receivable_stats().current';
COMMENT ON COLUMN pgcredit.book_cache.days_1_30 IS 'as receivable_stats().days_1_30';
COMMENT ON COLUMN pgcredit.book_cache.days_31_60 IS 'as receivable_stats().days_31_60';
COMMENT ON COLUMN pgcredit.book_cache.days_61_90 IS 'as receivable_stats().days_61_90';
COMMENT ON COLUMN pgcredit.book_cache.days_over_90 IS 'as receivable_stats().days_over_90';
COMMENT ON COLUMN pgcredit.book_cache.oldest_days_past_due IS 'as receivable_stats().oldest_days_past_due';
COMMENT ON COLUMN pgcredit.book_cache.dso_90 IS 'as receivable_stats().dso_90';
COMMENT ON COLUMN pgcredit.book_cache.last_payment IS 'as receivable_stats().last_payment';
COMMENT ON COLUMN pgcredit.book_cache.behavioural_score IS 'as receivable_stats().behavioural_score';
COMMENT ON COLUMN pgcredit.book_cache.invoiced_12m IS 'as receivable_stats().invoiced_12m';
COMMENT ON COLUMN pgcredit.book_cache.dso_receivables IS 'the customer''s share of portfolio_stats(): dso_report().receivables over its items';
COMMENT ON COLUMN pgcredit.book_cache.dso_not_due IS 'dso_report().current_receivables over its items';
COMMENT ON COLUMN pgcredit.book_cache.dso_sales IS 'dso_report().sales over its items (90 days)';
COMMENT ON COLUMN pgcredit.book_cache.late_first_due IS 'its row of _newly_overdue() for the days of book_state: the first due date (NULL: none)';
COMMENT ON COLUMN pgcredit.book_cache.late_items IS 'and how many items';
REVOKE ALL ON pgcredit.book_cache FROM PUBLIC;
GRANT SELECT ON pgcredit.book_cache TO pgcredit_reader;

-- Whatever else the figures depend on changed: the kept book no longer
-- holds for anyone
CREATE FUNCTION pgcredit._book_changed()
RETURNS trigger LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
BEGIN
  UPDATE pgcredit.book_state SET generation = generation + 1;
  RETURN NULL;
END
$$;
COMMENT ON FUNCTION pgcredit._book_changed() IS
  'trigger on the tables the kept book depends on beyond the customers'' rows (attachment, fx_rate, settings, an account''s currency): the kept book no longer holds';
REVOKE EXECUTE ON FUNCTION pgcredit._book_changed() FROM PUBLIC;

CREATE TRIGGER book_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON pgcredit.attachment
  FOR EACH STATEMENT EXECUTE FUNCTION pgcredit._book_changed();
CREATE TRIGGER book_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON pgcredit.fx_rate
  FOR EACH STATEMENT EXECUTE FUNCTION pgcredit._book_changed();
CREATE TRIGGER book_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON pgcredit.settings
  FOR EACH STATEMENT EXECUTE FUNCTION pgcredit._book_changed();
-- an account's currency is what its customer's items are converted into;
-- its other columns (limits, status) are not in the kept figures
CREATE TRIGGER book_currency_added AFTER INSERT ON pgcredit.account
  FOR EACH ROW WHEN (NEW.currency IS NOT NULL) EXECUTE FUNCTION pgcredit._book_changed();
CREATE TRIGGER book_currency_changed AFTER UPDATE OF currency ON pgcredit.account
  FOR EACH ROW WHEN (OLD.currency IS DISTINCT FROM NEW.currency) EXECUTE FUNCTION pgcredit._book_changed();
CREATE TRIGGER book_currency_removed AFTER DELETE ON pgcredit.account
  FOR EACH ROW WHEN (OLD.currency IS NOT NULL) EXECUTE FUNCTION pgcredit._book_changed();
CREATE TRIGGER book_changed AFTER TRUNCATE ON pgcredit.account
  FOR EACH STATEMENT EXECUTE FUNCTION pgcredit._book_changed();

-- Whether items disputed on the day leave the behavioural score: the
-- book of such a day is computed, never kept
CREATE FUNCTION pgcredit._disputes_out_of_score(as_of date)
RETURNS boolean LANGUAGE sql STABLE
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
  SELECT EXISTS (SELECT FROM pgcredit.collection_dispute d
                 WHERE d.opened_on <= $1 AND (d.closed_on IS NULL OR d.closed_on > $1))
         AND NOT (SELECT r.disputed_in_score FROM pgcredit._settings_or_default() r)
$$;
COMMENT ON FUNCTION pgcredit._disputes_out_of_score(date) IS
  'whether an item is disputed on the day and risk_settings.disputed_in_score takes disputed items out of the behavioural score';
REVOKE EXECUTE ON FUNCTION pgcredit._disputes_out_of_score(date) FROM PUBLIC;

-- How many customers changed since the book was kept may be computed
-- again one by one, when it is read, rather than the whole book: 2 % of
-- the customers (measured in doc/performance.md, "The kept book"), at
-- least 100
CREATE FUNCTION pgcredit._book_patch_limit(customers bigint)
RETURNS bigint LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT greatest(100, coalesce($1, 0) / 50) $$;
COMMENT ON FUNCTION pgcredit._book_patch_limit(bigint) IS
  'how many customers changed since the kept book was computed are computed again one by one when it is read; beyond, the whole book is computed';
REVOKE EXECUTE ON FUNCTION pgcredit._book_patch_limit(bigint) FROM PUBLIC;

-- Whether the kept book holds for a day, and the customers changed since
-- it was kept: the readers' first step, in the statement that reads (a
-- stable function runs in its snapshot).  For the newly overdue items
-- (for_overdue), the kept ones must be of the days asked too.
CREATE FUNCTION pgcredit._book_changes(as_of date, for_overdue boolean DEFAULT false,
                                       overdue_days int DEFAULT NULL, overdue_window int DEFAULT NULL)
RETURNS TABLE (kept boolean, changed text[])
LANGUAGE sql STABLE
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
  WITH st AS (SELECT b.day = $1 AND b.built_on = current_date AND b.built_generation = b.generation
                     AND (NOT $2 OR (b.overdue_days = $3 AND b.overdue_window = $4)) AS kept,
                     b.customers
              FROM pgcredit.book_state b),
       -- a customer whose version is not the one kept (new, changed, or
       -- whose exposure row is gone)
       ch AS MATERIALIZED (
         SELECT coalesce(e.customer, c.customer) AS customer
         FROM pgcredit.book_cache c
         FULL JOIN (SELECT e0.customer, e0.book_version FROM pgcredit.exposure e0) e ON e.customer = c.customer
         WHERE (SELECT kept FROM st) AND c.version IS DISTINCT FROM e.book_version)
  SELECT coalesce(st.kept, false) AND (SELECT count(*) FROM ch) <= pgcredit._book_patch_limit(st.customers),
         ARRAY(SELECT ch.customer FROM ch)
  FROM st
$$;
COMMENT ON FUNCTION pgcredit._book_changes(date, boolean, integer, integer) IS
  'whether the kept book holds for a day (and, for_overdue, for those newly overdue days) with few enough customers changed since, and which customers changed';
REVOKE EXECUTE ON FUNCTION pgcredit._book_changes(date, boolean, integer, integer) FROM PUBLIC;

-- The rows the kept book holds, computed: receivable_stats() with each
-- customer's share of portfolio_stats() and of _newly_overdue(); for
-- every customer (customers NULL) or for those given, read through the
-- tables' customer indexes in one query
CREATE FUNCTION pgcredit._book_rows(as_of date, customers text[], overdue_days int, overdue_window int)
RETURNS TABLE (customer text, receivables numeric, current numeric, days_1_30 numeric,
               days_31_60 numeric, days_61_90 numeric, days_over_90 numeric,
               oldest_days_past_due int, dso_90 numeric, last_payment date,
               behavioural_score numeric, invoiced_12m numeric,
               dso_receivables numeric, dso_not_due numeric, dso_sales numeric,
               late_first_due date, late_items bigint)
LANGUAGE plpgsql STABLE ROWS 10000
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
DECLARE
  items text;
BEGIN
  IF customers IS NULL THEN
    BEGIN
      RETURN QUERY SELECT * FROM pgcredit._receivable_book_kept(as_of, overdue_days, overdue_window);
      RETURN;
    EXCEPTION WHEN program_limit_exceeded THEN
      -- more customers than a hash aggregate's memory holds: by SQL
      NULL;
    END;
  END IF;
  -- the items of every customer, or of each customer given (the query of
  -- one customer's items, its customer $2 taken from the list)
  items := CASE WHEN customers IS NULL THEN pgcredit._receivable_items_sql(false)
                ELSE 'SELECT i2.* FROM unnest($2::text[]) AS k(c) CROSS JOIN LATERAL ('
                     || replace(pgcredit._receivable_items_sql(true), '$2', 'k.c') || ') i2' END;
  -- the aggregation of receivable_stats() (its day a constant), with the
  -- sums of dso_report() and the items of _newly_overdue()
  RETURN QUERY EXECUTE replace(format(
    'SELECT customer, (g).total, (g).current, (g).days_1_30, (g).days_31_60, (g).days_61_90,
            (g).days_over_90, oldest, dso, last_payment, score, invoiced,
            (d).receivables, (d).current_receivables, (d).sales,
            late_first, CASE WHEN $3 IS NOT NULL AND $4 IS NOT NULL THEN late_n END
     FROM (SELECT customer COLLATE "C" AS customer,
                  pgcredit.aging(open_amount, due, $1) AS g,
                  max(CASE WHEN open_amount > 0 AND due < $1 THEN $1 - due END) AS oldest,
                  pgcredit.dso(invoice_amount, invoiced_on, paid_on, $1, 90) AS dso,
                  max(paid_on) FILTER (WHERE paid_on <= $1) AS last_payment,
                  pgcredit.credit_score(invoice_amount, due, paid_on, $1) AS score,
                  sum(invoice_amount) FILTER (WHERE invoiced_on > $1 - 365 AND invoiced_on <= $1) AS invoiced,
                  pgcredit.dso_report(invoice_amount, invoiced_on, due, paid_on, $1, 90) AS d,
                  min(due) FILTER (WHERE open_amount > 0 AND due < $1 - $3 AND due >= $1 - $3 - $4) AS late_first,
                  count(*) FILTER (WHERE open_amount > 0 AND due < $1 - $3 AND due >= $1 - $3 - $4) AS late_n
           FROM (%s) items
           GROUP BY 1) s',
    items), '$1', quote_literal(as_of::text) || '::date')
  USING as_of, customers, overdue_days, overdue_window;
END
$$;
COMMENT ON FUNCTION pgcredit._book_rows(date, text[], integer, integer) IS
  'the rows of receivable_stats(as_of) (of the customers given; every customer''s when NULL) as the kept book holds them, with each customer''s sums of dso_report() and its row of _newly_overdue(as_of, overdue_days, overdue_window)';
REVOKE EXECUTE ON FUNCTION pgcredit._book_rows(date, text[], integer, integer) FROM PUBLIC;

CREATE FUNCTION pgcredit.refresh_book(day date DEFAULT pgcredit.as_of())
RETURNS TABLE (customers bigint, computed bigint, whole boolean)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET jit = off
SET enable_mergejoin = off
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
DECLARE
  st pgcredit.book_state;
  cfg pgcredit.risk_settings := pgcredit._settings_or_default();
  changed text[];
  n bigint;
BEGIN
  PERFORM pgcredit._check_day(refresh_book.day);
  -- one at a time; readers go on reading
  LOCK TABLE pgcredit.book_cache IN EXCLUSIVE MODE;
  -- an item disputed on the day out of the score: receivable_stats()
  -- computes that day itself, and nothing is kept
  IF pgcredit._disputes_out_of_score(refresh_book.day) THEN
    DELETE FROM pgcredit.book_cache;
    UPDATE pgcredit.book_state SET day = NULL, built_on = NULL, built_generation = NULL,
                                   built_at = pg_catalog.now(), customers = 0;
    RETURN QUERY SELECT 0::bigint, 0::bigint, true;
    RETURN;
  END IF;
  -- on the coordinator of a Citus cluster the customers' rows change on
  -- the workers, whose guards raise their own book versions, not this
  -- node's: a kept book would go stale unseen, so none is kept
  -- (doc/citus.md)
  IF cardinality(pgcredit._citus_shells()) > 0 THEN
    DELETE FROM pgcredit.book_cache;
    UPDATE pgcredit.book_state SET day = NULL, built_on = NULL, built_generation = NULL,
                                   built_at = pg_catalog.now(), customers = 0;
    RETURN QUERY SELECT 0::bigint, 0::bigint, true;
    RETURN;
  END IF;
  SELECT * INTO st FROM pgcredit.book_state;
  IF st.day = refresh_book.day AND st.built_on = current_date AND st.built_generation = st.generation
     AND st.overdue_days IS NOT DISTINCT FROM cfg.watch_overdue_days
     AND st.overdue_window IS NOT DISTINCT FROM cfg.watch_new_overdue_window THEN
    -- the customers whose rows changed since: taken out, then computed
    -- again with their versions read in the same statement, so that a
    -- version kept is always that of the figures beside it
    WITH gone AS (
      DELETE FROM pgcredit.book_cache c
      WHERE c.customer IN (SELECT c2.customer FROM pgcredit.book_cache c2
                           LEFT JOIN pgcredit.exposure e ON e.customer = c2.customer
                           WHERE c2.version IS DISTINCT FROM e.book_version)
      RETURNING c.customer)
    SELECT array_agg(x.customer) INTO changed
    FROM (SELECT g.customer FROM gone g
          UNION
          SELECT e.customer FROM pgcredit.exposure e
          WHERE e.book_version IS NOT NULL
            AND NOT EXISTS (SELECT FROM pgcredit.book_cache c WHERE c.customer = e.customer)) x;
    IF coalesce(cardinality(changed), 0) <= pgcredit._book_patch_limit(st.customers) THEN
      INSERT INTO pgcredit.book_cache
      SELECT x.customer, e.book_version, r.customer IS NOT NULL, r.receivables, r.current, r.days_1_30,
             r.days_31_60, r.days_61_90, r.days_over_90, r.oldest_days_past_due, r.dso_90,
             r.last_payment, r.behavioural_score, r.invoiced_12m, r.dso_receivables, r.dso_not_due,
             r.dso_sales, r.late_first_due, r.late_items
      FROM unnest(changed) AS x(customer)
      LEFT JOIN pgcredit.exposure e ON e.customer = x.customer
      LEFT JOIN pgcredit._book_rows(refresh_book.day, changed, st.overdue_days, st.overdue_window) r
        ON r.customer = x.customer;
      UPDATE pgcredit.book_state SET built_at = pg_catalog.now();
      RETURN QUERY SELECT (SELECT count(*) FROM pgcredit.book_cache c WHERE c.in_book),
                          coalesce(cardinality(changed), 0)::bigint, false;
      RETURN;
    END IF;
  END IF;
  -- the whole book, in one statement: the figures, each customer's
  -- version and the generation all as of one snapshot
  DELETE FROM pgcredit.book_cache;
  WITH g AS (SELECT b.generation FROM pgcredit.book_state b),
       s AS (SELECT * FROM pgcredit._book_rows(refresh_book.day, NULL, cfg.watch_overdue_days,
                                               cfg.watch_new_overdue_window)),
       ins AS (
         INSERT INTO pgcredit.book_cache
         SELECT coalesce(s.customer, e.customer), e.book_version, s.customer IS NOT NULL, s.receivables,
                s.current, s.days_1_30, s.days_31_60, s.days_61_90, s.days_over_90, s.oldest_days_past_due,
                s.dso_90, s.last_payment, s.behavioural_score, s.invoiced_12m, s.dso_receivables,
                s.dso_not_due, s.dso_sales, s.late_first_due, s.late_items
         FROM s FULL JOIN (SELECT e0.customer, e0.book_version FROM pgcredit.exposure e0
                           WHERE e0.book_version IS NOT NULL) e ON e.customer = s.customer
         RETURNING book_cache.in_book)
  UPDATE pgcredit.book_state b
  SET day = refresh_book.day, built_on = current_date, built_generation = g.generation,
      built_at = pg_catalog.now(), customers = (SELECT count(*) FROM ins),
      overdue_days = cfg.watch_overdue_days, overdue_window = cfg.watch_new_overdue_window
  FROM g;
  SELECT count(*) INTO n FROM pgcredit.book_cache c WHERE c.in_book;
  RETURN QUERY SELECT n, n, true;
END
$$;
COMMENT ON FUNCTION pgcredit.refresh_book(date) IS
  'keep the book of a day (every customer''s receivable_stats(), its share of portfolio_stats() and its newly overdue items for the watchlist) in book_cache, so that customer_risk, portfolio, watchlist and refresh_scores() read it rather than compute it: the customers changed since, when the book of that day is kept and few changed, else the whole book; returns the customers kept, those computed, and whether the whole book was';
REVOKE EXECUTE ON FUNCTION pgcredit.refresh_book(date) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgcredit.refresh_book(date) TO pgcredit_controller;

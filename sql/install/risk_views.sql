-- Risk: the views BI tools read (customer_risk, portfolio, watchlist...)

CREATE FUNCTION pgcredit.customer_risk_at(as_of date, for_customer text)
RETURNS TABLE (customer text, credit_limit numeric, exposure numeric, receivables numeric,
               open_orders numeric, available_credit numeric, utilisation_pct numeric, status text,
               behavioural_score numeric, external_score numeric, combined_score numeric,
               risk_tier text, days_past_due int, aging_current numeric, aging_1_30 numeric,
               aging_31_60 numeric, aging_61_90 numeric, aging_over_90 numeric, dso_90 numeric,
               last_payment date, next_review date)
LANGUAGE plpgsql STABLE ROWS 10000
SUPPORT pgcredit._customer_support
-- a plan of a few joins over large inputs: compiling it would take longer than running it
SET jit = off
-- every customer's rows joined by hashing: merge joins would sort the
-- customer keys by the database's collation, several times (a third of
-- the time at 10^5 customers); one customer's rows are read by index
SET enable_mergejoin = off
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
DECLARE
  -- the exposure rows as they stand now: the workers' on the coordinator
  -- of a Citus cluster with distributed tables attached (doc/citus.md)
  now_rows text := CASE WHEN cardinality(pgcredit._citus_shells()) > 0
                        THEN '(SELECT * FROM pgcredit._exposure_state_at(current_date, $2))'
                        ELSE 'pgcredit.exposure' END;
BEGIN
  -- planned at each call with its values, so that one customer's row
  -- is read through the indexes and every customer's with scans
  RETURN QUERY EXECUTE '
-- money to the cent, in every row alike
SELECT q.customer, round(q.credit_limit, 2), round(q.exposure, 2), round(q.receivables, 2),
       round(q.open_orders, 2), q.available_credit, q.utilisation_pct, q.status, q.behavioural_score,
       q.external_score, q.combined_score, q.risk_tier, q.days_past_due, round(q.aging_current, 2),
       round(q.aging_1_30, 2), round(q.aging_31_60, 2), round(q.aging_61_90, 2), round(q.aging_over_90, 2),
       q.dso_90, q.last_payment, q.next_review
FROM (
WITH s AS (SELECT * FROM pgcredit.receivable_stats($1, $2)),
     x AS (SELECT * FROM pgcredit.external_score_now($1, $2)),
     -- the financial score of the latest statement (financials.sql)
     fs AS (SELECT * FROM pgcredit.financial_score_now($1, $2)),
     -- the tiers of the latest scoring on or before the day
     h AS (SELECT customer, tier FROM pgcredit.score_history
           WHERE as_of = (SELECT max(as_of) FROM pgcredit.score_history WHERE as_of <= $1)
             AND ($2 IS NULL OR customer = $2)),
     -- exposure, limits, status and cover as the guard had them at the
     -- end of the day: from the exposure history for a past day, the
     -- exposure row itself from today on.  A customer with receivables
     -- on a past day but no change recorded by its end (a day before the
     -- history began) has its receivables of the ledger on that day,
     -- which its aging adds up to, and the rest as it stands now.
     h0 AS (SELECT * FROM pgcredit._exposure_state_at($1, $2)),
     e AS (SELECT * FROM h0
           UNION ALL
           SELECT s.customer, s.receivables, coalesce(l.open_orders, 0), coalesce(l.has_account, false),
                  l.credit_limit, coalesce(l.tolerance_pct, 0), coalesce(l.status, ''ok''),
                  l.temporary_limit, l.temporary_from, l.temporary_until, l.cover_counted, l.cover_from,
                  l.cover_until
           FROM s LEFT JOIN ' || now_rows || ' l USING (customer)
           -- (one customer: its exposure row through the index)
           WHERE $1 < current_date AND ($2 IS NULL OR s.customer = $2)
             AND NOT EXISTS (SELECT FROM h0 WHERE h0.customer = s.customer)),
     c AS (SELECT customer FROM e UNION SELECT customer FROM s),
     -- the cover that counts towards each limit on the day: the copy the
     -- guard judges by, in the days it holds; else from the covers
     k AS (SELECT v.customer, sum(v.counted) AS cover FROM pgcredit.cover_at($1, $2) v GROUP BY v.customer)
SELECT c.customer,
       CASE WHEN e.has_account THEN e.credit_limit END AS credit_limit,
       coalesce(e.receivables, 0) + coalesce(e.open_orders, 0) AS exposure,
       coalesce(e.receivables, 0) AS receivables,
       coalesce(e.open_orders, 0) AS open_orders,
       -- the headroom the guard leaves: the limit in force on the day (a
       -- temporary one in its days) with tolerance, plus the cover that counts
       CASE WHEN e.has_account THEN
       round(pgcredit._effective_limit(e.credit_limit, e.temporary_limit, e.temporary_from,
                                       e.temporary_until, $1) * (1 + coalesce(e.tolerance_pct, 0) / 100)
             + CASE WHEN e.cover_counted IS NOT NULL AND (e.cover_from IS NULL OR $1 >= e.cover_from)
                         AND (e.cover_until IS NULL OR $1 <= e.cover_until)
                    THEN e.cover_counted ELSE coalesce(k.cover, 0) END
             - coalesce(e.receivables, 0) - coalesce(e.open_orders, 0), 2) END AS available_credit,
       CASE WHEN e.has_account THEN
       round((coalesce(e.receivables, 0) + coalesce(e.open_orders, 0)) * 100 / nullif(e.credit_limit, 0), 2)
       END AS utilisation_pct,
       CASE WHEN e.has_account THEN e.status ELSE ''no account'' END AS status,
       s.behavioural_score,
       x.scaled_score AS external_score,
       pgcredit._combine(s.behavioural_score, x.scaled_score, u.pct, fs.scaled_score, cfg.weight_behaviour,
                         cfg.weight_external, cfg.weight_utilisation, cfg.weight_financial) AS combined_score,
       coalesce(h.tier, a.risk_tier) AS risk_tier,
       coalesce(s.oldest_days_past_due, 0) AS days_past_due,
       s.current AS aging_current, s.days_1_30 AS aging_1_30, s.days_31_60 AS aging_31_60,
       s.days_61_90 AS aging_61_90, s.days_over_90 AS aging_over_90,
       s.dso_90, s.last_payment, a.next_review
FROM c
LEFT JOIN pgcredit.account a USING (customer)
LEFT JOIN e USING (customer)
LEFT JOIN s USING (customer)
LEFT JOIN x USING (customer)
LEFT JOIN fs USING (customer)
LEFT JOIN h USING (customer)
LEFT JOIN k USING (customer)
-- the weights read once, not in a call of combined_score() per row
CROSS JOIN pgcredit._settings_or_default() cfg
CROSS JOIN LATERAL (SELECT CASE WHEN e.has_account THEN
                           round((coalesce(e.receivables, 0) + coalesce(e.open_orders, 0)) * 100
                                 / nullif(e.credit_limit, 0), 2) END AS pct) u
-- one customer, or every one: the customer then reaches each table''s index
WHERE $2 IS NULL OR c.customer = $2) q'
  USING as_of, for_customer;
END
$$;
COMMENT ON FUNCTION pgcredit.customer_risk_at(date, text) IS 'the row of customer_risk of one customer (every customer''s when NULL) as of any day, read through the indexes';
REVOKE EXECUTE ON FUNCTION pgcredit.customer_risk_at(date, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgcredit.customer_risk_at(date, text) TO pgcredit_reader;

CREATE FUNCTION pgcredit.customer_risk_at(as_of date)
RETURNS TABLE (customer text, credit_limit numeric, exposure numeric, receivables numeric,
               open_orders numeric, available_credit numeric, utilisation_pct numeric, status text,
               behavioural_score numeric, external_score numeric, combined_score numeric,
               risk_tier text, days_past_due int, aging_current numeric, aging_1_30 numeric,
               aging_31_60 numeric, aging_61_90 numeric, aging_over_90 numeric, dso_90 numeric,
               last_payment date, next_review date)
LANGUAGE sql STABLE ROWS 10000
SUPPORT pgcredit._customer_support
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$ SELECT * FROM pgcredit.customer_risk_at($1, NULL) $$;
COMMENT ON FUNCTION pgcredit.customer_risk_at(date) IS 'the rows of customer_risk as of any day; a filter on one customer reads that customer only';
-- The views call customer_risk_at(), _newly_overdue(), _settings_or_default()
-- and _combine() as their reader (a view checks the functions it calls
-- against the caller), so readers execute these helpers too.
REVOKE EXECUTE ON FUNCTION pgcredit.customer_risk_at(date) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgcredit.customer_risk_at(date) TO pgcredit_reader;

CREATE VIEW pgcredit.customer_risk AS
SELECT r.*, pgcredit.as_of() AS day FROM pgcredit.customer_risk_at(pgcredit.as_of()) r;
COMMENT ON VIEW pgcredit.customer_risk IS 'one row per customer (with an account, an exposure or receivables): limit, exposure, available credit, scores, tier, aging and payment figures, as of pgcredit.as_of() (today unless set)';
COMMENT ON COLUMN pgcredit.customer_risk.customer IS 'customer key';
COMMENT ON COLUMN pgcredit.customer_risk.credit_limit IS 'credit limit; NULL without an account or a limit';
COMMENT ON COLUMN pgcredit.customer_risk.exposure IS 'open receivables plus open orders: as they stand for today, at the end of the day (from exposure_history) for a past day';
COMMENT ON COLUMN pgcredit.customer_risk.receivables IS 'open receivables: as they stand for today, at the end of the day for a past day';
COMMENT ON COLUMN pgcredit.customer_risk.open_orders IS 'open orders: as they stand for today, at the end of the day for a past day';
COMMENT ON COLUMN pgcredit.customer_risk.available_credit IS 'what the guard leaves: the limit in force (a temporary limit in its days) with tolerance, plus the cover that counts, minus exposure; negative when over; NULL without a limit';
COMMENT ON COLUMN pgcredit.customer_risk.utilisation_pct IS 'exposure as a percentage of the limit (without tolerance), 2 decimals';
COMMENT ON COLUMN pgcredit.customer_risk.status IS 'account status (ok, watch, hold, blocked), or no account';
COMMENT ON COLUMN pgcredit.customer_risk.behavioural_score IS 'credit_score() over the customer''s receivables today, 0-100 (100 best)';
COMMENT ON COLUMN pgcredit.customer_risk.external_score IS 'the latest external score, brought to 0-100';
COMMENT ON COLUMN pgcredit.customer_risk.combined_score IS 'combined_score() of today''s figures, 0-100';
COMMENT ON COLUMN pgcredit.customer_risk.risk_tier IS 'tier of the latest refresh_scores() run (A best to E), else the account''s own';
COMMENT ON COLUMN pgcredit.customer_risk.days_past_due IS 'days past due of the oldest open item; 0 when nothing is overdue';
COMMENT ON COLUMN pgcredit.customer_risk.aging_current IS 'open receivables not yet due';
COMMENT ON COLUMN pgcredit.customer_risk.aging_1_30 IS 'open receivables 1 to 30 days past due';
COMMENT ON COLUMN pgcredit.customer_risk.aging_31_60 IS 'open receivables 31 to 60 days past due';
COMMENT ON COLUMN pgcredit.customer_risk.aging_61_90 IS 'open receivables 61 to 90 days past due';
COMMENT ON COLUMN pgcredit.customer_risk.aging_over_90 IS 'open receivables more than 90 days past due';
COMMENT ON COLUMN pgcredit.customer_risk.dso_90 IS 'days sales outstanding over the last 90 days';
COMMENT ON COLUMN pgcredit.customer_risk.last_payment IS 'date of the latest payment';
COMMENT ON COLUMN pgcredit.customer_risk.next_review IS 'the account''s next review date';
COMMENT ON COLUMN pgcredit.customer_risk.day IS 'the day the row describes: pgcredit.as_of(), today unless set';
REVOKE ALL ON pgcredit.customer_risk FROM PUBLIC;
GRANT SELECT ON pgcredit.customer_risk TO pgcredit_reader;

-- plain SQL, so that it is planned inline and a filter on one customer
-- reaches receivable_stats()
CREATE FUNCTION pgcredit.aging_by_customer_at(as_of date)
RETURNS TABLE (customer text, current numeric, days_1_30 numeric, days_31_60 numeric, days_61_90 numeric,
               days_over_90 numeric, total numeric, oldest_days_past_due int, day date)
LANGUAGE sql STABLE ROWS 10000
AS $$
  SELECT s.customer, round(s.current, 2), round(s.days_1_30, 2), round(s.days_31_60, 2),
         round(s.days_61_90, 2), round(s.days_over_90, 2), round(s.receivables, 2),
         s.oldest_days_past_due, $1
  FROM pgcredit.receivable_stats($1) s
$$;
COMMENT ON FUNCTION pgcredit.aging_by_customer_at(date) IS 'the rows of aging_by_customer on any day';
REVOKE EXECUTE ON FUNCTION pgcredit.aging_by_customer_at(date) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgcredit.aging_by_customer_at(date) TO pgcredit_reader;

CREATE VIEW pgcredit.aging_by_customer AS
SELECT * FROM pgcredit.aging_by_customer_at(pgcredit.as_of());
COMMENT ON VIEW pgcredit.aging_by_customer IS 'open receivables of each customer by aging band, today';
COMMENT ON COLUMN pgcredit.aging_by_customer.customer IS 'customer key';
COMMENT ON COLUMN pgcredit.aging_by_customer.current IS 'not yet due';
COMMENT ON COLUMN pgcredit.aging_by_customer.days_1_30 IS '1 to 30 days past due';
COMMENT ON COLUMN pgcredit.aging_by_customer.days_31_60 IS '31 to 60 days past due';
COMMENT ON COLUMN pgcredit.aging_by_customer.days_61_90 IS '61 to 90 days past due';
COMMENT ON COLUMN pgcredit.aging_by_customer.days_over_90 IS 'more than 90 days past due';
COMMENT ON COLUMN pgcredit.aging_by_customer.total IS 'all open receivables';
COMMENT ON COLUMN pgcredit.aging_by_customer.day IS 'the day the row describes: pgcredit.as_of(), today unless set';
COMMENT ON COLUMN pgcredit.aging_by_customer.oldest_days_past_due IS 'days past due of the oldest open item; NULL when none is overdue';
REVOKE ALL ON pgcredit.aging_by_customer FROM PUBLIC;
GRANT SELECT ON pgcredit.aging_by_customer TO pgcredit_reader;

-- The whole ledger's aging and DSO in one pass over the attached
-- receivables, aggregated as the rows are read (receivable_book.c)
CREATE FUNCTION pgcredit._receivable_portfolio(as_of date)
RETURNS TABLE (receivables numeric, current numeric, days_1_30 numeric, days_31_60 numeric,
               days_61_90 numeric, days_over_90 numeric, overdue_pct numeric,
               dso numeric, best_possible_dso numeric, average_days_delinquent numeric)
AS 'MODULE_PATHNAME', 'pgc_receivable_portfolio'
LANGUAGE C STABLE ROWS 1;
COMMENT ON FUNCTION pgcredit._receivable_portfolio(date) IS
  'the row of portfolio_stats(as_of), computed as the attached tables are scanned instead of through _attached_items()';
REVOKE EXECUTE ON FUNCTION pgcredit._receivable_portfolio(date) FROM PUBLIC;

CREATE FUNCTION pgcredit.portfolio_stats(as_of date DEFAULT current_date)
RETURNS TABLE (receivables numeric, current numeric, days_1_30 numeric, days_31_60 numeric,
               days_61_90 numeric, days_over_90 numeric, overdue_pct numeric,
               dso numeric, best_possible_dso numeric, average_days_delinquent numeric)
LANGUAGE plpgsql STABLE SECURITY DEFINER ROWS 1
SET jit = off
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
BEGIN
  PERFORM pgcredit._check_day(as_of);
  -- aging(open_amount, due, as_of) and dso_report(invoice_amount,
  -- invoiced_on, due, paid_on, as_of, 90) over the items of the day
  -- (_receivable_items_sql()): from the customers' shares in the kept
  -- book (book_cache.sql) when it holds, those changed since computed
  -- again; else aggregated as the tables are read.  The shares are the
  -- aggregates' exact sums, and the figures are computed from them as
  -- the aggregates' final functions do.  One statement, one snapshot.
  RETURN QUERY
  WITH k AS MATERIALIZED (SELECT * FROM pgcredit._book_changes(as_of)),
       shares AS (
         SELECT c.receivables, c.current, c.days_1_30, c.days_31_60, c.days_61_90, c.days_over_90,
                c.dso_receivables, c.dso_not_due, c.dso_sales
         FROM pgcredit.book_cache c
         WHERE (SELECT kept FROM k) AND c.in_book AND c.customer NOT IN (SELECT unnest(k2.changed) FROM k k2)
         UNION ALL
         SELECT r.receivables, r.current, r.days_1_30, r.days_31_60, r.days_61_90, r.days_over_90,
                r.dso_receivables, r.dso_not_due, r.dso_sales
         FROM pgcredit._book_rows(as_of, (SELECT changed FROM k), NULL, NULL) r
         WHERE (SELECT kept FROM k)),
       t AS (SELECT coalesce(sum(h.receivables), 0) AS total, coalesce(sum(h.current), 0) AS cur,
                    coalesce(sum(h.days_1_30), 0) AS b1, coalesce(sum(h.days_31_60), 0) AS b2,
                    coalesce(sum(h.days_61_90), 0) AS b3, coalesce(sum(h.days_over_90), 0) AS b4,
                    coalesce(sum(h.dso_receivables), 0) AS dr, coalesce(sum(h.dso_not_due), 0) AS dn,
                    coalesce(sum(h.dso_sales), 0) AS ds
             FROM shares h)
  SELECT t.total, t.cur, t.b1, t.b2, t.b3, t.b4,
         CASE WHEN t.total > 0 THEN round((t.b1 + t.b2 + t.b3 + t.b4) * 100 / t.total, 2) END,
         CASE WHEN t.ds > 0 THEN round(t.dr * 90 / t.ds, 2) END,
         CASE WHEN t.ds > 0 THEN round(t.dn * 90 / t.ds, 2) END,
         CASE WHEN t.ds > 0 THEN round((t.dr - t.dn) * 90 / t.ds, 2) END
  FROM t WHERE (SELECT kept FROM k)
  UNION ALL
  SELECT * FROM pgcredit._receivable_portfolio(as_of) WHERE NOT (SELECT kept FROM k);
END
$$;
COMMENT ON FUNCTION pgcredit.portfolio_stats(date) IS
  'the whole ledger at as_of: receivables by aging band, overdue %, DSO, best possible DSO and average days delinquent over 90 days (from the kept book when it holds: refresh_book())';
REVOKE EXECUTE ON FUNCTION pgcredit.portfolio_stats(date) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgcredit.portfolio_stats(date) TO pgcredit_reader;

-- the portfolio on any day; plain SQL, planned inline
CREATE FUNCTION pgcredit.portfolio_at(as_of date)
RETURNS TABLE (total_exposure numeric, receivables numeric, aging_current numeric, aging_1_30 numeric,
               aging_31_60 numeric, aging_61_90 numeric, aging_over_90 numeric, overdue_pct numeric,
               dso numeric, best_possible_dso numeric, average_days_delinquent numeric, exposure_hhi numeric,
               top_10_share numeric, customers bigint, tier_a bigint, tier_b bigint, tier_c bigint,
               tier_d bigint, tier_e bigint, status_ok bigint, status_watch bigint, status_hold bigint,
               status_blocked bigint, customers_over_limit bigint, exposure_over_limit numeric, day date)
LANGUAGE sql STABLE ROWS 1
AS $$
  -- every customer's row read once, every figure of it in one pass
  WITH r AS (SELECT round(sum(exposure), 2) AS total_exposure,
                    pgcredit.concentration_hhi(exposure) AS exposure_hhi,
                    pgcredit.concentration_top_share(exposure, 10) AS top_10_share,
                    count(*) AS customers,
                    count(*) FILTER (WHERE risk_tier = 'A') AS tier_a,
                    count(*) FILTER (WHERE risk_tier = 'B') AS tier_b,
                    count(*) FILTER (WHERE risk_tier = 'C') AS tier_c,
                    count(*) FILTER (WHERE risk_tier = 'D') AS tier_d,
                    count(*) FILTER (WHERE risk_tier = 'E') AS tier_e,
                    count(*) FILTER (WHERE status = 'ok') AS status_ok,
                    count(*) FILTER (WHERE status = 'watch') AS status_watch,
                    count(*) FILTER (WHERE status = 'hold') AS status_hold,
                    count(*) FILTER (WHERE status = 'blocked') AS status_blocked,
                    count(*) FILTER (WHERE available_credit < 0) AS customers_over_limit,
                    round(coalesce(sum(-available_credit) FILTER (WHERE available_credit < 0), 0), 2)
                      AS exposure_over_limit
             FROM pgcredit.customer_risk_at($1))
  SELECT r.total_exposure,
         round(p.receivables, 2), round(p.current, 2) AS aging_current, round(p.days_1_30, 2) AS aging_1_30,
         round(p.days_31_60, 2) AS aging_31_60, round(p.days_61_90, 2) AS aging_61_90,
         round(p.days_over_90, 2) AS aging_over_90, p.overdue_pct,
         p.dso, p.best_possible_dso, p.average_days_delinquent,
         r.exposure_hhi, r.top_10_share, r.customers, r.tier_a, r.tier_b, r.tier_c, r.tier_d, r.tier_e,
         r.status_ok, r.status_watch, r.status_hold, r.status_blocked, r.customers_over_limit,
         r.exposure_over_limit,
         $1 AS day
  FROM pgcredit.portfolio_stats($1) p, r
$$;
COMMENT ON FUNCTION pgcredit.portfolio_at(date) IS 'the row of portfolio on any day';
REVOKE EXECUTE ON FUNCTION pgcredit.portfolio_at(date) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgcredit.portfolio_at(date) TO pgcredit_reader;

CREATE VIEW pgcredit.portfolio AS
SELECT * FROM pgcredit.portfolio_at(pgcredit.as_of());
COMMENT ON VIEW pgcredit.portfolio IS 'the whole portfolio in one row, today: exposure, aging, DSO, concentration, customers by tier and status, exposure over limit';
COMMENT ON COLUMN pgcredit.portfolio.total_exposure IS 'sum of every customer''s exposure (receivables plus open orders)';
COMMENT ON COLUMN pgcredit.portfolio.receivables IS 'open receivables';
COMMENT ON COLUMN pgcredit.portfolio.aging_current IS 'open receivables not yet due';
COMMENT ON COLUMN pgcredit.portfolio.aging_1_30 IS '1 to 30 days past due';
COMMENT ON COLUMN pgcredit.portfolio.aging_31_60 IS '31 to 60 days past due';
COMMENT ON COLUMN pgcredit.portfolio.aging_61_90 IS '61 to 90 days past due';
COMMENT ON COLUMN pgcredit.portfolio.aging_over_90 IS 'more than 90 days past due';
COMMENT ON COLUMN pgcredit.portfolio.overdue_pct IS 'past-due share of open receivables, %';
COMMENT ON COLUMN pgcredit.portfolio.dso IS 'days sales outstanding over the last 90 days';
COMMENT ON COLUMN pgcredit.portfolio.best_possible_dso IS 'the DSO if everyone paid on time';
COMMENT ON COLUMN pgcredit.portfolio.average_days_delinquent IS 'dso minus best_possible_dso';
COMMENT ON COLUMN pgcredit.portfolio.exposure_hhi IS 'Herfindahl-Hirschman index of exposure across customers, 0-10000';
COMMENT ON COLUMN pgcredit.portfolio.top_10_share IS 'share of exposure held by the 10 largest customers, %';
COMMENT ON COLUMN pgcredit.portfolio.customers IS 'customers in customer_risk';
COMMENT ON COLUMN pgcredit.portfolio.tier_a IS 'customers in tier A';
COMMENT ON COLUMN pgcredit.portfolio.tier_b IS 'customers in tier B';
COMMENT ON COLUMN pgcredit.portfolio.tier_c IS 'customers in tier C';
COMMENT ON COLUMN pgcredit.portfolio.tier_d IS 'customers in tier D';
COMMENT ON COLUMN pgcredit.portfolio.tier_e IS 'customers in tier E';
COMMENT ON COLUMN pgcredit.portfolio.status_ok IS 'accounts with status ok';
COMMENT ON COLUMN pgcredit.portfolio.status_watch IS 'accounts with status watch';
COMMENT ON COLUMN pgcredit.portfolio.status_hold IS 'accounts on hold';
COMMENT ON COLUMN pgcredit.portfolio.status_blocked IS 'accounts blocked';
COMMENT ON COLUMN pgcredit.portfolio.customers_over_limit IS 'customers whose exposure is above limit plus tolerance';
COMMENT ON COLUMN pgcredit.portfolio.day IS 'the day the row describes: pgcredit.as_of(), today unless set';
COMMENT ON COLUMN pgcredit.portfolio.exposure_over_limit IS 'sum of exposure above limit plus tolerance';
REVOKE ALL ON pgcredit.portfolio FROM PUBLIC;
GRANT SELECT ON pgcredit.portfolio TO pgcredit_reader;

-- held_orders on any day: the orders on hold at the end of the day (held
-- before the next day began, not released by then), how long each had
-- waited by then; today's are the view's rows
CREATE FUNCTION pgcredit.held_orders_at(day date)
RETURNS TABLE (id bigint, order_table regclass, row_key jsonb, customer text, amount numeric, why text,
               held_at timestamptz, held_for interval, order_amount numeric, order_currency text,
               rate_date date, day date, order_table_text text, row_key_text text,
               held_for_seconds bigint)
LANGUAGE sql STABLE ROWS 100
AS $$
  SELECT h.id, h.relid, h.row_key, h.customer, h.amount, h.why, h.held_at,
         date_trunc('second', least(now(), ($1 + 1)::timestamptz) - h.held_at),
         h.row_amount, h.row_currency, h.rate_date, $1, pgcredit._qualified_name(h.relid),
         h.row_key::text,
         extract(epoch FROM date_trunc('second', least(now(), ($1 + 1)::timestamptz) - h.held_at))::bigint
  FROM pgcredit.held_order h
  WHERE h.held_at < ($1 + 1)::timestamptz
    AND (h.released_at IS NULL OR h.released_at >= ($1 + 1)::timestamptz)
$$;
COMMENT ON FUNCTION pgcredit.held_orders_at(date) IS
  'the rows of held_orders on any day: the orders on hold at its end (held before the next day began and not released by then), with how long they had waited by then (by now, for today)';
REVOKE EXECUTE ON FUNCTION pgcredit.held_orders_at(date) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgcredit.held_orders_at(date) TO pgcredit_reader;

-- today's rows of held_orders_at(): the orders on hold now
CREATE VIEW pgcredit.held_orders AS
SELECT * FROM pgcredit.held_orders_at(current_date);
COMMENT ON VIEW pgcredit.held_orders IS 'orders on credit hold now, with how long they have waited';
COMMENT ON COLUMN pgcredit.held_orders.id IS 'hold number, for release_held_order()';
COMMENT ON COLUMN pgcredit.held_orders.order_table IS 'the table the order is in';
COMMENT ON COLUMN pgcredit.held_orders.row_key IS 'the order''s primary key, as JSON';
COMMENT ON COLUMN pgcredit.held_orders.customer IS 'customer key';
COMMENT ON COLUMN pgcredit.held_orders.why IS 'why it was held';
COMMENT ON COLUMN pgcredit.held_orders.held_at IS 'when it was held';
COMMENT ON COLUMN pgcredit.held_orders.held_for IS 'how long it has been held, to the second';
COMMENT ON COLUMN pgcredit.held_orders.amount IS 'order amount, in the account''s currency (converted when it was held, for an order in a currency of its own)';
COMMENT ON COLUMN pgcredit.held_orders.order_amount IS 'for an order in a currency of its own: its amount in that currency; NULL else';
COMMENT ON COLUMN pgcredit.held_orders.order_currency IS 'the currency of such an order; NULL: the account''s';
COMMENT ON COLUMN pgcredit.held_orders.day IS 'the day the view is read: the orders held now';
COMMENT ON COLUMN pgcredit.held_orders.order_table_text IS 'order_table as text, always schema.table';
COMMENT ON COLUMN pgcredit.held_orders.row_key_text IS 'row_key as text';
COMMENT ON COLUMN pgcredit.held_orders.held_for_seconds IS 'held_for in seconds';
COMMENT ON COLUMN pgcredit.held_orders.rate_date IS 'the date whose exchange rate converts such an order';
REVOKE ALL ON pgcredit.held_orders FROM PUBLIC;
GRANT SELECT ON pgcredit.held_orders TO pgcredit_reader;

CREATE VIEW pgcredit.limit_history AS
SELECT l.customer, l.at AS changed_at,
       CASE WHEN l.action = 'open_account' THEN NULL
            WHEN l.action = 'set_credit_limit' THEN (l.old_value ->> 'credit_limit')::numeric
            ELSE (l.old_value ->> 'temporary_limit')::numeric END AS old_limit,
       CASE WHEN l.action IN ('open_account', 'set_credit_limit') THEN (l.new_value ->> 'credit_limit')::numeric
            ELSE (l.new_value ->> 'temporary_limit')::numeric END AS new_limit,
       l.role_name AS changed_by, l.reason,
       CASE WHEN l.action IN ('open_account', 'set_credit_limit') THEN 'permanent' ELSE 'temporary' END AS kind,
       (l.new_value ->> 'temporary_from')::date AS valid_from,
       (l.new_value ->> 'temporary_until')::date AS valid_until,
       r.id AS request, r.requester AS requested_by,
       CASE WHEN r.auto_approved THEN '(policy)' ELSE r.approver END AS approved_by,
       l.role_name::text AS changed_by_text
FROM pgcredit.audit_log l
LEFT JOIN pgcredit.approval_request r ON r.audit_id = l.id
WHERE l.action IN ('open_account', 'set_credit_limit', 'set_temporary_limit', 'clear_temporary_limit');
COMMENT ON VIEW pgcredit.limit_history IS 'every credit limit set, permanent and temporary, from the audit log, with the request and approval behind it';
COMMENT ON COLUMN pgcredit.limit_history.customer IS 'customer key';
COMMENT ON COLUMN pgcredit.limit_history.changed_at IS 'when';
COMMENT ON COLUMN pgcredit.limit_history.old_limit IS 'limit before (NULL when the account was opened); for a temporary limit, the temporary limit before (NULL = none)';
COMMENT ON COLUMN pgcredit.limit_history.new_limit IS 'limit after; for a temporary limit, the temporary limit after (NULL = cleared)';
COMMENT ON COLUMN pgcredit.limit_history.changed_by IS 'the role that changed it (the approver''s, for an approved request)';
COMMENT ON COLUMN pgcredit.limit_history.reason IS 'the reason given';
COMMENT ON COLUMN pgcredit.limit_history.kind IS 'permanent (credit_limit) or temporary (temporary_limit, for valid_from to valid_until)';
COMMENT ON COLUMN pgcredit.limit_history.valid_from IS 'temporary: first day (NULL = from when it was set)';
COMMENT ON COLUMN pgcredit.limit_history.valid_until IS 'temporary: last day';
COMMENT ON COLUMN pgcredit.limit_history.request IS 'the approval request that made the change; NULL for a direct change';
COMMENT ON COLUMN pgcredit.limit_history.requested_by IS 'the person who requested it';
COMMENT ON COLUMN pgcredit.limit_history.changed_by_text IS 'changed_by as text';
COMMENT ON COLUMN pgcredit.limit_history.approved_by IS 'the person who approved it, or (policy) when auto-approved';
REVOKE ALL ON pgcredit.limit_history FROM PUBLIC;
GRANT SELECT ON pgcredit.limit_history TO pgcredit_reader;

-- _newly_overdue()'s items in one pass over the attached receivables
-- (receivable_book.c)
CREATE FUNCTION pgcredit._receivable_newly_overdue(as_of date, days int, window_days int)
RETURNS TABLE (customer text, due date, n bigint)
AS 'MODULE_PATHNAME', 'pgc_receivable_newly_overdue'
LANGUAGE C STABLE ROWS 100;
COMMENT ON FUNCTION pgcredit._receivable_newly_overdue(date, int, int) IS
  'the rows of _newly_overdue(as_of, days, window_days), computed as the attached tables are scanned instead of through _attached_items()';
REVOKE EXECUTE ON FUNCTION pgcredit._receivable_newly_overdue(date, int, int) FROM PUBLIC;

CREATE FUNCTION pgcredit._newly_overdue(as_of date, days int, window_days int)
RETURNS TABLE (customer text, due date, n bigint)
LANGUAGE plpgsql STABLE SECURITY DEFINER ROWS 100
SET jit = off
SET search_path = pg_catalog, pgcredit, pg_temp
AS $$
BEGIN
  -- the items of the day (_receivable_items_sql()) open above zero and
  -- due in [as_of - days - window_days, as_of - days), per customer: from
  -- the kept book (book_cache.sql) when it holds for these days, those
  -- changed since computed again; else found as the tables are read.
  -- One statement, one snapshot.
  RETURN QUERY
  WITH k AS MATERIALIZED (SELECT * FROM pgcredit._book_changes(as_of, true, days, window_days))
  SELECT c.customer, c.late_first_due, c.late_items
  FROM pgcredit.book_cache c
  WHERE (SELECT kept FROM k) AND c.late_items > 0 AND c.customer NOT IN (SELECT unnest(k2.changed) FROM k k2)
  UNION ALL
  SELECT r.customer, r.late_first_due, r.late_items
  FROM pgcredit._book_rows(as_of, (SELECT changed FROM k), days, window_days) r
  WHERE (SELECT kept FROM k) AND r.late_items > 0
  UNION ALL
  SELECT * FROM pgcredit._receivable_newly_overdue(as_of, days, window_days) WHERE NOT (SELECT kept FROM k);
END
$$;
COMMENT ON FUNCTION pgcredit._newly_overdue(date, int, int) IS
  'customers with open items that passed days past due within the last window_days days before as_of';
REVOKE EXECUTE ON FUNCTION pgcredit._newly_overdue(date, int, int) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgcredit._newly_overdue(date, int, int) TO pgcredit_reader;

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

CREATE VIEW pgcredit.watchlist AS
SELECT w.*, pgcredit.as_of() AS day FROM pgcredit.watchlist_at(pgcredit.as_of()) w;
COMMENT ON VIEW pgcredit.watchlist IS 'customers showing early warning signs, one row per sign, with the rule that fired; thresholds in risk_settings';
COMMENT ON COLUMN pgcredit.watchlist.customer IS 'customer key';
COMMENT ON COLUMN pgcredit.watchlist.rule IS 'utilisation, new_overdue_item, score_drop (between the last two days scored), receivables_up_orders_down (between the last two days scored), review_overdue';
COMMENT ON COLUMN pgcredit.watchlist.detail IS 'what was seen, in words';
COMMENT ON COLUMN pgcredit.watchlist.value IS 'the figure that fired the rule (utilisation %, days past due, points dropped, rise of receivables beyond the fall of open orders, days since the review date)';
COMMENT ON COLUMN pgcredit.watchlist.threshold IS 'the threshold it passed';
COMMENT ON COLUMN pgcredit.watchlist.day IS 'the day the row describes: pgcredit.as_of(), today unless set';
REVOKE ALL ON pgcredit.watchlist FROM PUBLIC;
GRANT SELECT ON pgcredit.watchlist TO pgcredit_reader;

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

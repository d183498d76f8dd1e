-- What a credit manager sees of the demo ledger (schema "ledger").

\set ON_ERROR_STOP on
\set QUIET on
\pset footer off
SELECT as_of, previous FROM ledger.closing \gset

\echo
\echo 'pgcredit demo: the company ledger at the close of' :as_of
\echo '================================================================'

\echo
\echo 'The ledger'
SELECT (SELECT count(*) FROM ledger.customer) AS customers,
       (SELECT count(*) FROM ledger.invoice) AS invoices,
       (SELECT count(*) FROM ledger.invoice WHERE open_amount > 0) AS open_invoices,
       (SELECT sum(open_amount) FROM ledger.invoice) AS receivables,
       (SELECT count(*) FROM ledger.payment) AS payments,
       (SELECT count(*) FROM ledger.sales_order WHERE status = 'open') AS open_orders,
       (SELECT sum(amount) FROM ledger.sales_order WHERE status = 'open') AS order_book;

\echo
\echo 'Aging profile (pgcredit.aging, one pass over the open invoices)'
SELECT (a).total AS receivables, (a).current, (a).days_1_30, (a).days_31_60,
       (a).days_61_90, (a).days_over_90, (a).overdue_pct,
       (a).avg_days_overdue
FROM (SELECT pgcredit.aging(open_amount, due_on, :'as_of') AS a
      FROM ledger.invoice WHERE open_amount > 0) AS s;

\echo
\echo 'Days sales outstanding over the last 90 days (pgcredit.dso_report)'
SELECT r.sales, r.dso, r.best_possible_dso, r.average_days_delinquent,
       r.dso_countback
FROM (SELECT (pgcredit.dso_report(amount, invoiced_on, due_on, paid_on, :'as_of')).*
      FROM ledger.invoice_history) AS r;

\echo
\echo 'Concentration of open receivables across customers'
SELECT pgcredit.concentration_hhi(exposure) AS hhi,
       pgcredit.concentration_top_share(exposure, 10) AS top_10_pct,
       count(*) FILTER (WHERE exposure > 0) AS customers_owing
FROM (SELECT customer_id, sum(open_amount) AS exposure
      FROM ledger.invoice GROUP BY customer_id) AS c;

\echo
\echo 'Aging of open receivables by band (pgcredit.aging_bucket, bands 30/60/90)'
SELECT b.label AS band, count(i.invoice_no) AS invoices,
       coalesce(sum(i.open_amount), 0) AS amount,
       round(100 * coalesce(sum(i.open_amount), 0)
             / (SELECT sum(open_amount) FROM ledger.invoice), 1) AS pct
FROM pgcredit.aging_bands() b
LEFT JOIN ledger.invoice i
       ON i.open_amount > 0
      AND pgcredit.aging_bucket(i.due_on, :'as_of') = b.label
GROUP BY b.band, b.label
ORDER BY b.band;

\echo
\echo 'The same receivables in weekly bands (bounds {7,14,21,30,45})'
SELECT b.label AS band, count(i.invoice_no) AS invoices,
       coalesce(sum(i.open_amount), 0) AS amount
FROM pgcredit.aging_bands('{7,14,21,30,45}') b
LEFT JOIN ledger.invoice i
       ON i.open_amount > 0
      AND pgcredit.aging_bucket(i.due_on, :'as_of', '{7,14,21,30,45}') = b.label
GROUP BY b.band, b.label
ORDER BY b.band;

\echo
\echo 'Worst payment behaviour (pgcredit.credit_score, 0 worst to 100 best, and why)'
SELECT customer_id AS customer, (e).score, (e).invoices, (e).weighted_days_late,
       round(100 * (e).share_late, 1) AS pct_late, (e).open_overdue
FROM (SELECT customer_id,
             pgcredit.credit_score_explain(amount, due_on, paid_on, :'as_of') AS e
      FROM ledger.invoice_history GROUP BY customer_id) AS s
ORDER BY (e).score, customer_id
LIMIT 8;

\echo
\echo 'Credit control: the largest exposures (pgcredit.exposure, kept live by triggers)'
SELECT e.customer, a.credit_limit, e.receivables, e.open_orders,
       e.receivables + e.open_orders AS exposure,
       a.credit_limit - e.receivables - e.open_orders AS available,
       round(100 * (e.receivables + e.open_orders) / a.credit_limit, 1) AS used_pct,
       a.status
FROM pgcredit.exposure e JOIN pgcredit.account a USING (customer)
ORDER BY exposure DESC, customer LIMIT 8;

-- An application placing an order, and what it gets back when the
-- database refuses it.
CREATE FUNCTION pg_temp.place_order(customer text, amount numeric,
                                    OUT result text, OUT error_code text, OUT message text,
                                    OUT detail text, OUT hint text)
LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO ledger.sales_order (customer_id, ordered_on, amount)
  VALUES (customer, (SELECT as_of FROM ledger.closing), amount);
  result := 'accepted';
EXCEPTION WHEN SQLSTATE 'PC001' OR SQLSTATE 'PC002' OR SQLSTATE 'PC003' OR SQLSTATE 'PC004' THEN
  GET STACKED DIAGNOSTICS error_code = RETURNED_SQLSTATE, message = MESSAGE_TEXT,
                          detail = PG_EXCEPTION_DETAIL, hint = PG_EXCEPTION_HINT;
  result := 'refused';
END
$$;

SELECT e.customer AS big_customer,
       a.credit_limit - e.receivables - e.open_orders AS available
FROM pgcredit.exposure e JOIN pgcredit.account a USING (customer)
WHERE a.status = 'ok' AND a.credit_limit - e.receivables - e.open_orders > 20
ORDER BY (e.receivables + e.open_orders) / a.credit_limit DESC, customer LIMIT 1 \gset

\echo
\echo 'The most used account with room left: an order of 10.00 fits, then one for'
\echo 'the credit that was available before it does not (INSERT INTO ledger.sales_order)'
\x on
SELECT :'big_customer' AS customer, 10.00 AS amount, * FROM pg_temp.place_order(:'big_customer', 10.00);
SELECT :'big_customer' AS customer, :available AS amount, * FROM pg_temp.place_order(:'big_customer', :available);
\x off

SELECT customer AS held_customer, hold_reason FROM pgcredit.account WHERE status = 'hold' \gset
\echo
\echo 'A web order from a customer on hold is let in, marked held (hold mode)'
SET client_min_messages = warning;
INSERT INTO ledger.web_order (customer_id, amount) VALUES (:'held_customer', 75.00);
SELECT w.order_id, w.customer_id, w.amount, w.on_hold, h.id AS hold_no, h.why,
       :'hold_reason' AS account_hold_reason
FROM ledger.web_order w JOIN pgcredit.held_order h ON h.row_key ->> 'order_id' = w.order_id::text;

\echo
\echo 'A credit controller releases it, with a reason; the release is audited'
SELECT id AS hold_no, released_by IS NOT NULL AS released, release_reason
FROM pgcredit.release_held_order((SELECT max(id) FROM pgcredit.held_order), 'customer paid by card');
SELECT order_id, on_hold FROM ledger.web_order;
SELECT action, customer, reason FROM pgcredit.audit_log ORDER BY id DESC LIMIT 3;

\echo
\echo 'Exposure still matches the tables (pgcredit.verify_exposure() lists mismatches)'
SELECT count(*) AS mismatches FROM pgcredit.verify_exposure();

\echo
\echo 'Customers with overdue items, most overdue amount first'
SELECT i.customer_id AS customer,
       count(*) AS overdue_invoices,
       sum(i.open_amount) AS overdue,
       max(:'as_of'::date - i.due_on) AS oldest_days,
       pgcredit.aging_bucket(min(i.due_on), :'as_of') AS oldest_band,
       (SELECT count(*) FROM ledger.sales_order o
        WHERE o.customer_id = i.customer_id AND o.status = 'open') AS open_orders
FROM ledger.invoice i
WHERE i.open_amount > 0 AND i.due_on < :'as_of'
GROUP BY i.customer_id
ORDER BY overdue DESC, customer
LIMIT 10;

-- The morning report: what the risk views say at the close, after the
-- day's scoring run.  The views describe the day pgcredit.as_of names.
SET pgcredit.as_of = :'as_of';

\echo
\echo '================================================================'
\echo 'The morning report of' :as_of
\echo '================================================================'

\echo
\echo 'Scores refreshed (pgcredit.refresh_scores); the previous run was at the close of' :previous
SELECT * FROM pgcredit.refresh_scores();

\echo
\echo 'The portfolio (pgcredit.portfolio)'
\x on
SELECT customers, total_exposure, receivables, overdue_pct, dso, best_possible_dso,
       average_days_delinquent, exposure_hhi, top_10_share,
       customers_over_limit, exposure_over_limit,
       format('A %s, B %s, C %s, D %s, E %s', tier_a, tier_b, tier_c, tier_d, tier_e) AS customers_by_tier,
       format('ok %s, watch %s, hold %s, blocked %s', status_ok, status_watch, status_hold, status_blocked)
         AS accounts_by_status
FROM pgcredit.portfolio;
\x off

\echo
\echo 'Aging of receivables (the portfolio''s bands)'
SELECT b.band, b.amount, round(100 * b.amount / p.receivables, 1) AS pct
FROM pgcredit.portfolio p,
     LATERAL (VALUES (1, 'current', p.aging_current), (2, '1-30', p.aging_1_30),
                     (3, '31-60', p.aging_31_60), (4, '61-90', p.aging_61_90),
                     (5, '90+', p.aging_over_90)) AS b(n, band, amount)
ORDER BY b.n;

\echo
\echo 'The largest balances by aging band (pgcredit.aging_by_customer)'
SELECT customer, round(current, 2) AS current, round(days_1_30, 2) AS "1-30",
       round(days_31_60, 2) AS "31-60", round(days_61_90 + days_over_90, 2) AS "61+",
       total, oldest_days_past_due AS oldest_days
FROM pgcredit.aging_by_customer
ORDER BY total DESC, customer
LIMIT 8;

\echo
\echo 'The watchlist (pgcredit.watchlist): signs by rule'
SELECT rule, count(*) AS customers, min(threshold) AS threshold
FROM pgcredit.watchlist
GROUP BY rule ORDER BY rule;

SELECT count(DISTINCT customer) AS watched FROM pgcredit.watchlist \gset
\echo
\echo 'The watchlist by customer, most signs first (12 of' :watched 'customers): utilisation %,'
\echo 'score points lost since the previous run, days past due of an item that passed 30'
\echo 'days this week, rise of receivables while open orders fell, days since the review date'
SELECT w.customer, r.risk_tier AS tier, count(*) AS signs,
       max(w.value) FILTER (WHERE w.rule = 'utilisation') AS used_pct,
       max(w.value) FILTER (WHERE w.rule = 'score_drop') AS score_drop,
       max(w.value) FILTER (WHERE w.rule = 'new_overdue_item') AS overdue,
       max(w.value) FILTER (WHERE w.rule = 'receivables_up_orders_down') AS recv_up,
       max(w.value) FILTER (WHERE w.rule = 'review_overdue') AS review
FROM pgcredit.watchlist w JOIN pgcredit.customer_risk r USING (customer)
GROUP BY w.customer, r.risk_tier, r.combined_score
ORDER BY signs DESC, r.combined_score, w.customer
LIMIT 12;

\echo
\echo 'The customers most at risk (pgcredit.customer_risk, lowest combined score first)'
SELECT customer, risk_tier AS tier, combined_score AS combined, behavioural_score AS behaviour,
       utilisation_pct AS used_pct, exposure, credit_limit AS "limit", available_credit AS available,
       days_past_due AS past_due, dso_90, status
FROM pgcredit.customer_risk
ORDER BY combined_score, customer
LIMIT 10;

\echo
\echo 'Alerts raised (pgcredit.alert; each was also sent on NOTIFY channel pgcredit_alerts)'
SELECT kind, count(*) AS alerts
FROM pgcredit.alert
GROUP BY kind ORDER BY kind;

\echo
\echo 'The alerts other than tier changes, in the order they were raised'
SELECT id, kind, customer,
       CASE kind
         WHEN 'score_downgrade' THEN format('score %s to %s since %s', details ->> 'from', details ->> 'to', details ->> 'since')
         WHEN 'account_hold' THEN format('%s: %s', details ->> 'status', details ->> 'hold_reason')
         WHEN 'order_held' THEN format('order of %s held: %s', details ->> 'amount', details ->> 'why')
         WHEN 'limit_breached' THEN format('order of %s held: %s', details ->> 'amount', details ->> 'why')
         WHEN 'review_overdue' THEN format('review due on %s', details ->> 'next_review')
         ELSE format('oldest item %s days past due (%s at the previous run)',
                     details ->> 'days_past_due', coalesce(details ->> 'before', 'none'))
       END AS what
FROM pgcredit.alert
WHERE kind <> 'tier_change'
ORDER BY id;

\echo
\echo 'Tier changes since the previous run'
SELECT details ->> 'from' AS from_tier, details ->> 'to' AS to_tier, count(*) AS customers
FROM pgcredit.alert
WHERE kind = 'tier_change'
GROUP BY 1, 2 ORDER BY 1, 2;

SELECT customer AS review_customer FROM pgcredit.customer_risk
ORDER BY available_credit, customer LIMIT 1 \gset
\echo
\echo 'A limit proposal for the customer furthest over its limit (pgcredit.recommend_limit)'
SELECT customer, current_limit, recommended_limit, tier
FROM pgcredit.recommend_limit(:'review_customer');
SELECT n AS step, reason
FROM pgcredit.recommend_limit(:'review_customer') r,
     unnest(r.reasons) WITH ORDINALITY AS u(reason, n);

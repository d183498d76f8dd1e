-- The morning report a credit manager reads, on the demo ledger (schema
-- "ledger", built by ledger.sql), then how pgcredit produced it.  It only
-- reads: run it again and it prints the same.

\set ON_ERROR_STOP on
\set QUIET on
\pset footer off
\pset linestyle unicode
\pset border 2
\pset null ''
SELECT as_of, previous, to_char(as_of, 'FMDD FMMonth YYYY') AS as_of_words
FROM ledger.closing \gset

\set score_then 'score on ' :previous

-- The risk views describe the day pgcredit.as_of names.
SET pgcredit.as_of = :'as_of';

\echo
\echo '  Credit control: the morning report of' :as_of_words
\echo '  ====================================================='
\echo
\echo 'Your book'
SELECT p.customers,
       (SELECT sum(credit_limit) FROM pgcredit.customer_risk) AS limits,
       p.total_exposure AS exposure,
       p.receivables,
       p.total_exposure - p.receivables AS "open orders",
       round(100 * p.total_exposure / (SELECT sum(credit_limit) FROM pgcredit.customer_risk), 1)
         AS "used %",
       p.customers_over_limit AS "over limit",
       p.exposure_over_limit AS "above limits",
       p.status_hold + p.status_blocked AS "on hold"
FROM pgcredit.portfolio p;

\echo 'Receivables by age, and how fast they are paid'
SELECT aging_current AS "not due", aging_1_30 AS "1-30 days", aging_31_60 AS "31-60",
       aging_61_90 AS "61-90", aging_over_90 AS "over 90",
       overdue_pct AS "overdue %", dso AS "DSO (90 days)", best_possible_dso AS "if paid on time"
FROM pgcredit.portfolio;

\echo 'Customers by risk tier (A best, E worst)'
SELECT tier_a AS "A", tier_b AS "B", tier_c AS "C", tier_d AS "D", tier_e AS "E"
FROM pgcredit.portfolio;

SELECT tier_margin FROM pgcredit._settings_or_default() \gset
\echo 'Moves between tiers since' :previous'; a tier moves when the score leaves its band by more than' :tier_margin 'points'
SELECT from_tier AS "from", to_tier AS "to", customers
FROM pgcredit.tier_churn
WHERE as_of = :'as_of' AND moved
ORDER BY from_tier, to_tier;

SELECT count(DISTINCT customer) AS watched FROM pgcredit.watchlist \gset
\echo 'The watchlist:' :watched 'customers show warning signs; the 10 that show the most signs'
SELECT w.customer, r.risk_tier AS tier, r.combined_score AS score,
       string_agg(CASE w.rule
                    WHEN 'utilisation' THEN format('uses %s%% of its limit', round(w.value))
                    WHEN 'score_drop' THEN format('score down %s points', round(w.value, 1))
                    WHEN 'new_overdue_item' THEN format('an item passed %s days overdue', w.threshold)
                    WHEN 'receivables_up_orders_down' THEN format('owes %s more than its orders explain, more overdue', w.value)
                    WHEN 'review_overdue' THEN format('review %s days late', w.value)
                    ELSE w.detail END, ', ' ORDER BY w.rule) AS "warning signs"
FROM pgcredit.watchlist w JOIN pgcredit.customer_risk r USING (customer)
GROUP BY w.customer, r.risk_tier, r.combined_score
ORDER BY count(*) DESC, r.combined_score, w.customer
LIMIT 10;

\echo 'The customers most at risk, lowest score first'
SELECT r.customer, r.risk_tier AS tier, r.combined_score AS score,
       h.combined_score AS :"score_then",
       r.exposure, r.credit_limit AS "limit", r.available_credit AS available,
       r.days_past_due AS "days overdue", r.status, l.recommended_limit AS "limit proposed"
FROM pgcredit.customer_risk r
LEFT JOIN pgcredit.score_history h ON h.customer = r.customer AND h.as_of = :'previous'
CROSS JOIN LATERAL pgcredit.recommend_limit(r.customer) l
ORDER BY r.combined_score, r.customer
LIMIT 8;

\echo 'Orders waiting for your decision'
SELECT h.id AS "hold no", h.customer, h.amount, w.ordered_on AS "ordered on",
       :'as_of'::date - w.ordered_on AS "days waiting", h.why,
       r.available_credit AS "credit available", r.risk_tier AS tier
FROM pgcredit.held_orders h
JOIN ledger.web_order w ON h.order_table = 'ledger.web_order'::regclass
                       AND w.order_id = (h.row_key ->> 'order_id')::bigint
JOIN pgcredit.customer_risk r USING (customer)
ORDER BY w.ordered_on, h.id;
\echo 'To let an order through: SELECT * FROM pgcredit.release_held_order(<hold no>, ''<your reason>'');'

SELECT count(*) AS acts, count(*) FILTER (WHERE channel = 'phone') AS calls,
       count(*) FILTER (WHERE channel = 'email') AS emails,
       count(*) FILTER (WHERE channel IN ('letter', 'agency')) AS letters
FROM pgcredit.collection_action WHERE as_of = :'as_of' \gset
\echo 'The collectors'' worklist, the 10 customers that matter most today;' :acts 'dunning actions went out today,' :calls 'calls,' :emails 'emails and' :letters 'letters'
SELECT w.customer, w.collector, w.priority, w.overdue, w.oldest_days_past_due AS "days overdue",
       w.risk_tier AS tier, w.level, coalesce(w.channel_today || ': ' || w.action_today, '') AS today,
       w.next_action_on AS "next action"
FROM pgcredit.collection_worklist w
LIMIT 10;

-- The customer the second part follows: the one most at risk.
SELECT customer AS risky FROM pgcredit.customer_risk
ORDER BY combined_score, customer LIMIT 1 \gset

\echo
\echo '  How this was produced'
\echo '  ====================='
\echo
\echo '1. The ledger.  pgcredit reads the company''s own tables in schema ledger:'
\echo '   attaching them told it which columns hold the customer, the amounts and'
\echo '   the dates.  Its triggers keep each customer''s exposure (open invoices'
\echo '   plus open orders) as rows change.  An order over the limit is refused'
\echo '   (mode block) or let in marked held (mode hold).'
SELECT relid AS "table", kind, mode,
       customer_column AS customer, amount_column AS amount,
       coalesce(due_column, hold_column) AS "due / held"
FROM pgcredit.attachment
ORDER BY kind DESC, relid::text;

\echo '2. Aging.  Each open invoice falls in a band by its days past due; the'
\echo '   bands of the book are these, summed over every open invoice.  The'
\echo '   open invoices of' :risky', the customer most at risk:'
SELECT invoice_no AS invoice, due_on AS due, open_amount AS open,
       CASE WHEN due_on < :'as_of' THEN pgcredit.days_past_due(due_on, :'as_of') END AS "days overdue",
       pgcredit.aging_bucket(due_on, :'as_of') AS band
FROM ledger.invoice
WHERE customer_id = :'risky' AND open_amount > 0
ORDER BY due_on, invoice_no;

\echo '3. Scores.  The behaviour score weighs how late each invoice was paid,'
\echo '   recent ones most:'
SELECT (e).score AS "behaviour score", (e).invoices, (e).weighted_days_late AS "days late (weighted)",
       round(100 * (e).share_late, 1) AS "% paid late", (e).open_overdue AS "open overdue"
FROM (SELECT pgcredit.credit_score_explain(amount, due_on, paid_on, :'as_of') AS e
      FROM ledger.invoice_history WHERE customer_id = :'risky') s;

\echo '   The nightly run combines it with the share of the limit in use into'
\echo '   the score and the tier, and keeps each night''s figures:'
SELECT as_of AS "scored on", behavioural_score AS behaviour, utilisation_pct AS "limit used %",
       combined_score AS score, tier, receivables, open_orders AS "open orders"
FROM pgcredit.score_history
WHERE customer = :'risky'
ORDER BY as_of;

\echo '   The limit proposed follows from the tier and the invoicing:'
SELECT u.n AS step, u.reason
FROM pgcredit.recommend_limit(:'risky') r,
     unnest(r.reasons) WITH ORDINALITY AS u(reason, n);

\echo '4. The guard.  Every order is checked as it is written.  The web shop''s'
\echo '   orders of the last two days: those of a customer on hold or over its'
\echo '   limit came in marked held, and wait for your decision; the other one'
\echo '   counts in its customer''s exposure.'
SELECT order_id AS "order", customer_id AS customer, ordered_on AS "ordered on", amount,
       CASE WHEN on_hold THEN 'held' ELSE 'passed' END AS guard
FROM ledger.web_order
ORDER BY order_id;

-- What order entry gets back when the guard refuses a sales order: the
-- attempt fails and leaves nothing behind (an order that went in would
-- stop the report).
CREATE FUNCTION pg_temp.try_order(customer text, amount numeric,
                                  OUT code text, OUT message text, OUT detail text, OUT hint text)
LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO ledger.sales_order (customer_id, ordered_on, amount)
  VALUES (customer, (SELECT as_of FROM ledger.closing), amount);
  RAISE EXCEPTION 'the order went in' USING ERRCODE = 'PC999';
EXCEPTION WHEN SQLSTATE 'PC001' OR SQLSTATE 'PC002' OR SQLSTATE 'PC003' OR SQLSTATE 'PC004' THEN
  GET STACKED DIAGNOSTICS code = RETURNED_SQLSTATE, message = MESSAGE_TEXT,
                          detail = PG_EXCEPTION_DETAIL, hint = PG_EXCEPTION_HINT;
END
$$;
SELECT customer AS tight, available_credit AS tight_available FROM pgcredit.customer_risk
WHERE status = 'ok' AND available_credit > 0 AND available_credit < 100
ORDER BY utilisation_pct DESC, customer LIMIT 1 \gset
\echo '   A sales order of 100.00 for' :tight', which has' :tight_available 'of credit'
\echo '   left, is refused; order entry receives the error:'
\x on
\pset format wrapped
\pset columns 78
SELECT * FROM pg_temp.try_order(:'tight', 100.00);

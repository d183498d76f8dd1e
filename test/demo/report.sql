-- What a credit manager sees of the demo ledger (schema "ledger").

\set ON_ERROR_STOP on
\set QUIET on
\pset footer off
SELECT as_of FROM ledger.closing \gset

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


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


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
\echo 'Aging of open receivables (pgcredit.aging_bucket, bands 30/60/90)'
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


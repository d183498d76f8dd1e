-- The payment prediction measured on the real sample (../shared/data/
-- ibm-ar, 2,466 paid invoices of 100 customers, 2012-2013): every invoice
-- of the second half of the timeline (invoiced from 2013-01-01) is
-- predicted on its invoice date from what was paid before it, and its
-- actual payment compared: the mean absolute error of the payment date
-- against two baselines (the due date; the due date plus the customer's
-- average days late), and the Brier score and AUC of the probability of
-- more than 30 days late against the base rate of the first half.  The
-- figures are printed (README.md quotes them) and pinned here, so that a
-- change of the model shows; and whether the model beats each baseline.
-- The model's settings were chosen on the first half alone (2012-07 to
-- 2012-12 predicted from what was paid before).
-- Without the sample this file stops (expected/prediction_ibm_1.out).
\set have_sample `if [ -r "${SHARED_DATA:-/nonexistent}/accounts-receivable.csv" ]; then echo true; else echo false; fi`
\if :have_sample
\else
\echo 'skipped: no sample ledger in SHARED_DATA'
\quit
\endif
\set SHOW_CONTEXT never
\set regress_db :DBNAME
SET client_min_messages = warning;
DROP DATABASE IF EXISTS regress_prediction_ibm;
CREATE DATABASE regress_prediction_ibm;
\c regress_prediction_ibm
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE EXTENSION pgcredit;

CREATE TEMP TABLE ar_export (
  country_code int, customer_id text, paperless_date text, invoice_number bigint,
  invoice_date text, due_date text, invoice_amount numeric, disputed text,
  settled_date text, paperless_bill text, days_to_settle int, days_late int);
\copy ar_export FROM PROGRAM 'cat "$SHARED_DATA/accounts-receivable.csv"' WITH (FORMAT csv, HEADER true)
CREATE TABLE ar_invoice (invoice_number bigint PRIMARY KEY, customer text NOT NULL, amount numeric(12,2) NOT NULL,
  open_amount numeric(12,2) NOT NULL, invoiced_on date NOT NULL, due date NOT NULL, paid_on date);
CREATE INDEX ON ar_invoice (customer);
INSERT INTO ar_invoice
SELECT invoice_number, customer_id, invoice_amount, 0, to_date(invoice_date, 'MM/DD/YYYY'),
       to_date(due_date, 'MM/DD/YYYY'), to_date(settled_date, 'MM/DD/YYYY')
FROM ar_export;
SELECT (a).kind FROM (SELECT pgcredit.attach_receivables('ar_invoice', 'customer', 'open_amount', 'due',
  invoice_amount_column => 'amount', invoiced_column => 'invoiced_on', paid_column => 'paid_on') a) x;
SELECT count(*) AS invoices, count(*) FILTER (WHERE invoiced_on >= '2013-01-01') AS tested
FROM ar_invoice;

CREATE TEMP TABLE ev AS SELECT * FROM pgcredit.evaluate_payment_predictions('2013-01-01');
SELECT * FROM ev;
-- better than each baseline
SELECT measure, baseline, CASE WHEN measure LIKE '%AUC' THEN model > baseline_value
                               ELSE model < baseline_value END AS model_better
FROM ev WHERE measure NOT LIKE 'invoices%';

\c :regress_db
DROP DATABASE regress_prediction_ibm;

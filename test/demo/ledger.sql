-- The demo company's own ledger, as it stood at the close of 31 January
-- 2013: customers, invoices, payments and open sales orders in schema
-- "ledger", built from the IBM accounts-receivable sample read on
-- standard input (psql -f ledger.sql < accounts-receivable.csv).
--
-- Every invoice of the sample is settled; the ledger shows them as they
-- were on the closing date: invoiced by then, paid if settled by then,
-- else open.  Invoices of the ten days after it appear as the sales
-- orders they came from, ordered ten days before invoicing.

\set ON_ERROR_STOP on
\set QUIET on
SET client_min_messages = warning;

DROP SCHEMA IF EXISTS ledger CASCADE;
CREATE SCHEMA ledger;
SET search_path = ledger;

CREATE TABLE closing (as_of date NOT NULL);
INSERT INTO closing VALUES ('2013-01-31');

-- The ERP export, as it comes.
CREATE TEMP TABLE ar_export (
	country_code int, customer_id text, paperless_date text,
	invoice_number bigint, invoice_date text, due_date text,
	invoice_amount numeric, disputed text, settled_date text,
	paperless_bill text, days_to_settle int, days_late int);
\copy ar_export FROM pstdin WITH (FORMAT csv, HEADER true)

CREATE TEMP TABLE ar AS
SELECT country_code, customer_id, invoice_number, invoice_amount,
       to_date(invoice_date, 'MM/DD/YYYY') AS invoiced_on,
       to_date(due_date, 'MM/DD/YYYY') AS due_on,
       to_date(settled_date, 'MM/DD/YYYY') AS settled_on,
       disputed = 'Yes' AS disputed
FROM ar_export;

CREATE TABLE customer (
	customer_id  text PRIMARY KEY,
	country_code int NOT NULL
);

CREATE TABLE invoice (
	invoice_no   bigint PRIMARY KEY,
	customer_id  text NOT NULL REFERENCES customer,
	invoiced_on  date NOT NULL,
	due_on       date NOT NULL,
	amount       numeric(12,2) NOT NULL,
	disputed     boolean NOT NULL DEFAULT false,
	open_amount  numeric(12,2) NOT NULL
);

CREATE TABLE payment (
	payment_id   bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	invoice_no   bigint NOT NULL REFERENCES invoice,
	customer_id  text NOT NULL REFERENCES customer,
	paid_on      date NOT NULL,
	amount       numeric(12,2) NOT NULL
);

CREATE TABLE sales_order (
	order_id     bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	customer_id  text NOT NULL REFERENCES customer,
	ordered_on   date NOT NULL,
	amount       numeric(12,2) NOT NULL,
	status       text NOT NULL DEFAULT 'open'
);

INSERT INTO customer
SELECT DISTINCT customer_id, country_code FROM ar;

INSERT INTO invoice
SELECT invoice_number, customer_id, invoiced_on, due_on, invoice_amount,
       disputed,
       CASE WHEN settled_on > (SELECT as_of FROM closing)
            THEN invoice_amount ELSE 0 END
FROM ar
WHERE invoiced_on <= (SELECT as_of FROM closing);

INSERT INTO payment (invoice_no, customer_id, paid_on, amount)
SELECT invoice_number, customer_id, settled_on, invoice_amount
FROM ar
WHERE settled_on <= (SELECT as_of FROM closing)
ORDER BY settled_on, invoice_number;

INSERT INTO sales_order (customer_id, ordered_on, amount)
SELECT customer_id, invoiced_on - 10, invoice_amount
FROM ar
WHERE invoiced_on > (SELECT as_of FROM closing)
  AND invoiced_on <= (SELECT as_of FROM closing) + 10
ORDER BY invoiced_on, invoice_number;

-- Each invoice with the date it was paid, NULL while open.
CREATE VIEW invoice_history AS
SELECT i.invoice_no, i.customer_id, i.invoiced_on, i.due_on, i.amount,
       i.open_amount, p.paid_on
FROM invoice i LEFT JOIN payment p USING (invoice_no);

-- Orders from the web shop: over-limit orders wait for a credit controller.
CREATE TABLE web_order (
	order_id     bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	customer_id  text NOT NULL REFERENCES customer,
	amount       numeric(12,2) NOT NULL,
	on_hold      boolean NOT NULL DEFAULT false
);

CREATE EXTENSION IF NOT EXISTS pgcredit;

-- Credit control on the company's own tables: open invoices and open
-- sales orders make up each customer's exposure; orders over the limit
-- are refused (sales orders) or held (web orders).
SELECT count(*) AS attached FROM (
  SELECT pgcredit.attach_receivables('ledger.invoice', 'customer_id', 'open_amount', 'due_on')
  UNION ALL
  SELECT pgcredit.attach_orders('ledger.sales_order', 'customer_id', 'amount', 'status', '{open}')
  UNION ALL
  SELECT pgcredit.attach_orders('ledger.web_order', 'customer_id', 'amount',
                                mode => 'hold', hold_column => 'on_hold')) a \gset

-- An account per customer: a limit of three months of the customer's
-- average monthly sales (13 months of history), rounded up to 50, 30-day
-- terms.
SELECT count(*) AS accounts FROM (
  SELECT pgcredit.open_account(customer_id,
           credit_limit => ceil(3 * sum(amount) / 13 / 50) * 50,
           payment_terms_days => 30, reason => 'opening balance from the ERP')
  FROM invoice GROUP BY customer_id) a \gset

-- The customer with the oldest overdue invoice goes on hold.
SELECT pgcredit.place_hold(customer_id, 'invoice ' || invoice_no || ' is ' ||
                           ((SELECT as_of FROM closing) - due_on) || ' days overdue') IS NOT NULL AS held
FROM invoice WHERE open_amount > 0 ORDER BY due_on, invoice_no LIMIT 1 \gset

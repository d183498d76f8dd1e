-- The demo company's own ledger, as it stood at the close of 31 January
-- 2013: customers, invoices, payments and open sales orders in schema
-- "ledger", built from the IBM accounts-receivable sample read on
-- standard input (psql -f ledger.sql < accounts-receivable.csv).
--
-- Every invoice of the sample is settled; the ledger shows them as they
-- were on the closing date: invoiced by then, paid if settled by then,
-- else open.  Invoices of the ten days after it appear as the sales
-- orders they came from, ordered ten days before invoicing.
--
-- The ledger is built in two steps, as a company running pgcredit would
-- have lived them.  First the ledger as it stood at the previous close,
-- 31 December 2012: pgcredit is attached, accounts are opened, and the
-- month-end scores are computed.  Then January is posted through
-- pgcredit's triggers: the orders of early January ship and are
-- invoiced with the rest of the month's sales, payments come in, and
-- the order book of early February is taken in, the web shop takes its
-- orders of the last two days, and the nightly run scores the January
-- close against December's scores.  The report reads what it left.

\set ON_ERROR_STOP on
\set QUIET on
SET client_min_messages = warning;

-- A ledger this script loaded before is detached and dropped (pgcredit
-- refuses to drop attached tables).  A schema "ledger" it did not create,
-- known by the comment it leaves on its own, is never touched: the script
-- stops instead.
DO $$
BEGIN
  IF to_regnamespace('ledger') IS NULL THEN
    RETURN;
  END IF;
  IF pg_catalog.obj_description('ledger'::regnamespace, 'pg_namespace')
     IS DISTINCT FROM 'pgcredit demo: the sample ledger, rebuilt by test/demo/ledger.sql' THEN
    RAISE EXCEPTION 'schema "ledger" already exists and was not created by the pgcredit demo'
      USING DETAIL = 'This script drops and rebuilds schema "ledger"; it never touches one it did not create.',
            HINT = 'Load the sample ledger into another database, or rename that schema.';
  END IF;
  IF to_regclass('pgcredit.attachment') IS NOT NULL THEN
    PERFORM pgcredit.detach(a.relid)
    FROM pgcredit.attachment a JOIN pg_catalog.pg_class c ON c.oid = a.relid
    WHERE c.relnamespace = 'ledger'::regnamespace;
  END IF;
  DROP SCHEMA ledger CASCADE;
END
$$;
CREATE SCHEMA ledger;
COMMENT ON SCHEMA ledger IS 'pgcredit demo: the sample ledger, rebuilt by test/demo/ledger.sql';
SET search_path = ledger, pg_temp;

CREATE TABLE closing (
	as_of     date NOT NULL,   -- the close the ledger shows
	previous  date NOT NULL    -- the close before it, scored at month end
);
INSERT INTO closing VALUES ('2013-01-31', '2012-12-31');
SELECT as_of, previous FROM closing \gset

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
	open_amount  numeric(12,2) NOT NULL,
	paid_on      date              -- when it was paid; NULL while open
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

-- The ledger at the previous close (31 December 2012).
INSERT INTO customer
SELECT DISTINCT customer_id, country_code FROM ar;

INSERT INTO invoice (invoice_no, customer_id, invoiced_on, due_on, amount, disputed, open_amount)
SELECT invoice_number, customer_id, invoiced_on, due_on, invoice_amount,
       disputed,
       CASE WHEN settled_on > :'previous' THEN invoice_amount ELSE 0 END
FROM ar
WHERE invoiced_on <= :'previous';

INSERT INTO payment (invoice_no, customer_id, paid_on, amount)
SELECT invoice_number, customer_id, settled_on, invoice_amount
FROM ar
WHERE settled_on <= :'previous'
ORDER BY settled_on, invoice_number;

-- Each invoice carries the date of its payment.
UPDATE invoice i SET paid_on = p.paid_on
FROM payment p WHERE p.invoice_no = i.invoice_no;

INSERT INTO sales_order (customer_id, ordered_on, amount)
SELECT customer_id, invoiced_on - 10, invoice_amount
FROM ar
WHERE invoiced_on > :'previous'
  AND invoiced_on <= :'previous'::date + 10
ORDER BY invoiced_on, invoice_number;

-- Each invoice with the date it was paid, NULL while open.
CREATE VIEW invoice_history AS
SELECT i.invoice_no, i.customer_id, i.invoiced_on, i.due_on, i.amount,
       i.open_amount, i.paid_on
FROM invoice i;

-- Orders from the web shop: over-limit orders wait for a credit controller.
CREATE TABLE web_order (
	order_id     bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	customer_id  text NOT NULL REFERENCES customer,
	ordered_on   date NOT NULL,
	amount       numeric(12,2) NOT NULL,
	on_hold      boolean NOT NULL DEFAULT false
);

-- The company reads one customer at a time: an index on each customer column
CREATE INDEX invoice_customer ON invoice (customer_id);
CREATE INDEX sales_order_customer ON sales_order (customer_id);
CREATE INDEX web_order_customer ON web_order (customer_id);

CREATE EXTENSION IF NOT EXISTS pgcredit;

-- Credit control on the company's own tables: open invoices and open
-- sales orders make up each customer's exposure; orders over the limit
-- are refused (sales orders) or held (web orders).  The invoices'
-- amounts, dates and payment dates feed the risk views and the scores.
SELECT count(*) AS attached FROM (
  SELECT relid FROM pgcredit.attach_receivables('ledger.invoice', 'customer_id', 'open_amount', 'due_on',
                                                invoice_amount_column => 'amount',
                                                invoiced_column => 'invoiced_on', paid_column => 'paid_on')
  UNION ALL
  SELECT relid FROM pgcredit.attach_orders('ledger.sales_order', 'customer_id', 'amount', 'status', '{open}')
  UNION ALL
  SELECT relid FROM pgcredit.attach_orders('ledger.web_order', 'customer_id', 'amount',
                                           mode => 'hold', hold_column => 'on_hold')) a \gset

-- An account per customer: a limit of three months of the customer's
-- average monthly sales (the 13 months of history up to the January
-- close), rounded up to 50, 30-day terms.
SELECT count(*) AS accounts
FROM (SELECT customer_id, ceil(3 * sum(invoice_amount) / 13 / 50) * 50 AS credit_limit
      FROM ar WHERE invoiced_on <= :'as_of' GROUP BY customer_id) c,
     pgcredit.open_account(c.customer_id, credit_limit => c.credit_limit,
                           payment_terms_days => 30, reason => 'opening balance from the ERP') a \gset

-- The month-end scoring run of the previous close.
SELECT customers AS scored FROM pgcredit.refresh_scores(:'previous') \gset

-- January, posted through pgcredit's triggers.  The orders of early
-- January ship; the month's invoices arrive open; payments settle them.
UPDATE sales_order SET status = 'shipped' WHERE status = 'open';

INSERT INTO invoice (invoice_no, customer_id, invoiced_on, due_on, amount, disputed, open_amount)
SELECT invoice_number, customer_id, invoiced_on, due_on, invoice_amount, disputed, invoice_amount
FROM ar
WHERE invoiced_on > :'previous' AND invoiced_on <= :'as_of'
ORDER BY invoiced_on, invoice_number;

INSERT INTO payment (invoice_no, customer_id, paid_on, amount)
SELECT invoice_number, customer_id, settled_on, invoice_amount
FROM ar
WHERE settled_on > :'previous' AND settled_on <= :'as_of'
ORDER BY settled_on, invoice_number;

UPDATE invoice i SET open_amount = 0, paid_on = p.paid_on
FROM payment p WHERE p.invoice_no = i.invoice_no AND p.paid_on > :'previous';

-- The order book of early February was confirmed in the ERP before
-- credit control: a credit controller lets it in as it stands, with an
-- override for each customer that has orders in it.
BEGIN;
SELECT count(*) AS overrides FROM (
  SELECT pgcredit.override_block(customer_id, 'order book confirmed in the ERP')
  FROM (SELECT DISTINCT customer_id FROM ar
        WHERE invoiced_on > :'as_of' AND invoiced_on <= :'as_of'::date + 10) c) o \gset
INSERT INTO sales_order (customer_id, ordered_on, amount)
SELECT customer_id, invoiced_on - 10, invoice_amount
FROM ar
WHERE invoiced_on > :'as_of'
  AND invoiced_on <= :'as_of'::date + 10
ORDER BY invoiced_on, invoice_number;
COMMIT;

-- The customer with the oldest overdue invoice goes on hold.
SELECT a.customer AS held
FROM (SELECT customer_id, invoice_no, due_on FROM invoice
      WHERE open_amount > 0 ORDER BY due_on, invoice_no LIMIT 1) i,
     pgcredit.place_hold(i.customer_id, 'invoice ' || i.invoice_no || ' is ' ||
                                        (:'as_of'::date - i.due_on) || ' days overdue') a \gset

-- The web shop's orders of the last two days.  The guard lets each in;
-- those of a customer on hold or over its limit come in marked held and
-- wait for a credit controller: the order of the customer on hold, and
-- one of the customer furthest over its limit.  An order of the
-- customer with the most room left goes through.
INSERT INTO web_order (customer_id, ordered_on, amount)
SELECT customer, :'as_of'::date - 1, 75.00 FROM pgcredit.account WHERE status = 'hold';

INSERT INTO web_order (customer_id, ordered_on, amount)
SELECT e.customer, :'as_of', 120.00
FROM pgcredit.exposure e JOIN pgcredit.account a USING (customer)
WHERE a.status = 'ok'
ORDER BY a.credit_limit - e.receivables - e.open_orders, e.customer LIMIT 1;

INSERT INTO web_order (customer_id, ordered_on, amount)
SELECT e.customer, :'as_of', 50.00
FROM pgcredit.exposure e JOIN pgcredit.account a USING (customer)
WHERE a.status = 'ok'
ORDER BY a.credit_limit - e.receivables - e.open_orders DESC, e.customer LIMIT 1;

-- The nightly scoring run of the January close: scores, tiers and the
-- alerts of what changed since December.
SELECT customers AS scored FROM pgcredit.refresh_scores(:'as_of') \gset

-- Collections: a patient ladder for the best tiers, a firmer one for
-- the rest, and two collectors who share the customers.  January's
-- nights are run one by one, as the nightly job would have run them:
-- each sees the invoices open on its day and the letters sent before.
SELECT count(*) AS policies FROM (
  SELECT pgcredit.create_dunning_policy('patient', 'tiers A and B pay; a nudge is enough',
                                        min_amount => 50, quiet_days => 7)
  UNION ALL
  SELECT pgcredit.create_dunning_policy('firm', 'everyone else', min_amount => 25, quiet_days => 5)) p \gset
SELECT count(*) AS levels
FROM (VALUES ('patient', 1, 7, 'email', 'friendly_reminder'), ('patient', 2, 30, 'email', 'second_reminder'),
             ('patient', 3, 60, 'phone', 'call'),
             ('firm', 1, -3, 'email', 'due_soon'), ('firm', 2, 5, 'email', 'first_notice'),
             ('firm', 3, 20, 'phone', 'call'), ('firm', 4, 45, 'letter', 'final_notice'),
             ('firm', 5, 90, 'agency', 'hand_over')) v(policy, level, days, channel, template),
     LATERAL pgcredit.set_dunning_level(v.policy, v.level, v.days, v.channel, v.template,
                                        'the collections policy') l \gset
SELECT count(*) AS tiers
FROM (VALUES ('A', 'patient'), ('B', 'patient'), ('default', 'firm')) v(tier, policy),
     LATERAL pgcredit.set_tier_dunning_policy(v.tier, v.policy, 'the collections policy') t \gset
DO $$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'demo_collector_north') THEN
    CREATE ROLE demo_collector_north NOLOGIN IN ROLE pgcredit_collector;
  END IF;
  IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'demo_collector_south') THEN
    CREATE ROLE demo_collector_south NOLOGIN IN ROLE pgcredit_collector;
  END IF;
END
$$;
SELECT count(*) AS assigned
FROM (SELECT customer, ntile(2) OVER (ORDER BY customer) AS half FROM pgcredit.account) c,
     LATERAL pgcredit.assign_collector(c.customer,
                                       CASE c.half WHEN 1 THEN 'demo_collector_north' ELSE 'demo_collector_south' END,
                                       'territories') a \gset
DO $$
BEGIN
  FOR d IN 1 .. 31 LOOP
    PERFORM pgcredit.run_collections(make_date(2013, 1, d));
  END LOOP;
END
$$;


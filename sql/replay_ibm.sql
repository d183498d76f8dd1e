-- Replaying a policy on the real sample (../shared/data/ibm-ar, 2,466
-- paid invoices of 100 customers, 2012-2013).  The sample has invoices
-- only: each invoice is taken to come from one order placed seven days
-- before it.  2013 is replayed under the live policy (no accounts: every
-- order passes) and under a draft that gives every customer tier C's
-- limit (1.5 months of its 2012 invoicing) and refuses orders of a
-- customer with an item more than 30 days past due.  The live book is
-- checked day by day against an independent SQL reckoning, the counts
-- against each other, and the draft's figures are pinned.
-- Without the sample this file stops (expected/replay_ibm_1.out).
\set have_sample `if [ -r "${SHARED_DATA:-/nonexistent}/accounts-receivable.csv" ]; then echo true; else echo false; fi`
\if :have_sample
\else
\echo 'skipped: no sample ledger in SHARED_DATA'
\quit
\endif
\set SHOW_CONTEXT never
\set regress_db :DBNAME
SET client_min_messages = warning;
DROP DATABASE IF EXISTS regress_replay_ibm;
CREATE DATABASE regress_replay_ibm;
\c regress_replay_ibm
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
INSERT INTO ar_invoice
SELECT invoice_number, customer_id, invoice_amount, 0, to_date(invoice_date, 'MM/DD/YYYY'),
       to_date(due_date, 'MM/DD/YYYY'), to_date(settled_date, 'MM/DD/YYYY')
FROM ar_export;
CREATE TABLE ar_order (id bigint PRIMARY KEY, customer text NOT NULL, amount numeric(12,2) NOT NULL,
  ordered_on date NOT NULL, status text NOT NULL DEFAULT 'invoiced');
INSERT INTO ar_order SELECT invoice_number, customer, amount, invoiced_on - 7 FROM ar_invoice;
SELECT (a).kind FROM (SELECT pgcredit.attach_receivables('ar_invoice', 'customer', 'open_amount', 'due',
  invoice_amount_column => 'amount', invoiced_column => 'invoiced_on', paid_column => 'paid_on') a) x;
SELECT (a).kind FROM (SELECT pgcredit.attach_orders('ar_order', 'customer', 'amount', 'status', '{open}',
  order_date_column => 'ordered_on') a) x;

SELECT name FROM pgcredit.create_policy_draft('tier C, 30 days', 'every customer tier C; nothing past 30 days');
INSERT INTO pgcredit.policy_draft_limit (draft, customer, risk_tier)
SELECT DISTINCT 'tier C, 30 days', customer, 'C' FROM ar_invoice;
SELECT pgcredit.draft_limits_from_tiers('tier C, 30 days', '2012-12-31') AS accounts_with_limits;
SELECT count(*) FILTER (WHERE credit_limit = 0) AS zero_limits, min(credit_limit), max(credit_limit),
       sum(credit_limit) AS limits
FROM pgcredit.policy_draft_limit WHERE draft = 'tier C, 30 days';
INSERT INTO pgcredit.policy_draft_rule (draft, kind, action, days)
VALUES ('tier C, 30 days', 'days_past_due', 'refuse', 30);

CREATE TEMP TABLE r AS SELECT * FROM pgcredit.replay_policy('tier C, 30 days', '2013-01-01', '2013-12-31');
SELECT policy, orders, ordered, passed, refused, refused_amount, held, released, never_released,
       revenue_lost, customers_stopped
FROM r ORDER BY policy = 'live' DESC;
SELECT policy, peak_exposure, peak_day, average_exposure, start_exposure, end_exposure, losses, losses_avoided
FROM r ORDER BY policy = 'live' DESC;
-- every order of 2013 is judged once, by both
SELECT policy, orders = (SELECT count(*) FROM ar_order WHERE ordered_on BETWEEN '2013-01-01' AND '2013-12-31') AS all_orders,
       orders = passed + held + refused AS each_once, held = released + never_released AS held_accounted
FROM r ORDER BY policy = 'live' DESC;

-- The live book day by day, reckoned in SQL: invoices open on the day
-- plus orders placed and not yet invoiced (seven days each)
WITH days AS (SELECT d::date AS day FROM generate_series('2013-01-01'::date, '2013-12-31', '1 day') d),
book AS (
  SELECT days.day,
         (SELECT coalesce(sum(i.amount), 0) FROM ar_invoice i
          WHERE i.invoiced_on <= days.day AND (i.paid_on IS NULL OR i.paid_on > days.day))
       + (SELECT coalesce(sum(o.amount), 0) FROM ar_order o
          WHERE o.ordered_on <= days.day AND o.ordered_on + 7 > days.day) AS exposure
  FROM days)
SELECT b.peak = r.peak_exposure AS same_peak,
       (SELECT min(day) FROM book WHERE exposure = b.peak) = r.peak_day AS same_peak_day,
       b.average = r.average_exposure AS same_average,
       b.first = r.start_exposure AS same_start, b.last = r.end_exposure AS same_end
FROM (SELECT max(exposure) AS peak, round(avg(exposure), 2) AS average,
             (SELECT exposure FROM book WHERE day = '2013-01-01') AS first,
             (SELECT exposure FROM book WHERE day = '2013-12-31') AS last FROM book) b, r
WHERE r.policy = 'live';

-- The orders the draft stopped, by the rule that stopped them
SELECT draft_outcome, draft_rule, count(*), sum(amount)
FROM pgcredit.replay_policy_orders('tier C, 30 days', '2013-01-01', '2013-12-31')
GROUP BY 1, 2 ORDER BY 1, 2;

\c :regress_db
DROP DATABASE regress_replay_ibm;

-- A filter on one customer reaches the per-customer functions: the view
-- customer_risk, customer_risk_at(), receivable_stats(),
-- external_score_now() and cover_at() filtered by customer read that
-- customer only (its rows through the ledger's customer index), and give
-- the rows the whole computation filtered afterwards gives.
\set SHOW_CONTEXT never
SET client_min_messages = warning;
SET pgcredit.as_of = '2024-06-30';

CREATE TABLE cf_invoice (
  id           int PRIMARY KEY,
  customer     text NOT NULL,
  amount       numeric(12,2) NOT NULL,
  open_amount  numeric(12,2) NOT NULL,
  invoiced_on  date NOT NULL,
  due          date NOT NULL,
  paid_on      date
);
CREATE INDEX cf_invoice_customer ON cf_invoice (customer);
-- CF1 pays late and owes; CF2 pays on time; 'O''$1' is a key with a quote
-- and a dollar sign; CF4 has only paid invoices and no account
INSERT INTO cf_invoice VALUES
  (1, 'CF1', 100, 100, '2024-04-01', '2024-05-01', NULL),
  (2, 'CF1', 200, 0,   '2024-01-10', '2024-02-09', '2024-03-20'),
  (3, 'CF1', 50,  50,  '2024-06-10', '2024-07-10', NULL),
  (4, 'CF2', 300, 0,   '2024-03-01', '2024-03-31', '2024-03-30'),
  (5, 'CF2', 80,  80,  '2024-06-20', '2024-07-20', NULL),
  (6, 'O''$1', 70, 70, '2024-02-01', '2024-03-02', NULL),
  (7, 'CF4', 40,  0,   '2024-02-01', '2024-03-02', '2024-03-10');
-- and 300 customers more, so that one customer is a small part of the ledger
INSERT INTO cf_invoice
SELECT 100 + g, 'F' || (g % 300), 10 + g % 7, CASE WHEN g % 4 = 0 THEN 10 + g % 7 ELSE 0 END,
       date '2024-01-01' + g % 150, date '2024-01-31' + g % 150,
       CASE WHEN g % 4 <> 0 THEN date '2024-01-31' + g % 150 + g % 9 END
FROM generate_series(1, 6000) g;
SELECT kind FROM pgcredit.attach_receivables('cf_invoice', 'customer', 'open_amount', 'due',
  invoice_amount_column => 'amount', invoiced_column => 'invoiced_on', paid_column => 'paid_on');
SELECT customer FROM pgcredit.open_account('CF1', 1000, reason => 'filter');
SELECT customer FROM pgcredit.open_account('CF2', 500, reason => 'filter');
SELECT customer FROM pgcredit.open_account('O''$1', 100, reason => 'filter');
SELECT customer FROM pgcredit.open_account('CF5', 100, reason => 'an account and nothing else');
INSERT INTO pgcredit.external_score (customer, source, score, as_of) VALUES
  ('CF1', 'agency', 40, '2024-06-01'), ('CF1', 'agency', 45, '2024-06-15'), ('CF2', 'agency', 90, '2024-06-01');
SELECT kind FROM pgcredit.add_cover('CF1', 'deposit', 'cash', 200, 'deposit', valid_from => '2024-01-01');
SELECT customers > 0 AS scored FROM pgcredit.refresh_scores('2024-06-30');
ANALYZE cf_invoice;

-- The rows: filtered, each customer's row is the row of the whole
-- computation (pushdown off), column for column, and so are the other
-- functions'
CREATE TEMP TABLE cf_keys AS
  SELECT k FROM unnest(ARRAY['CF1', 'CF2', 'O''$1', 'CF4', 'CF5', 'nobody', '']) k;
CREATE FUNCTION pg_temp.cf_mismatches(k text) RETURNS TABLE (what text, n bigint) LANGUAGE plpgsql AS $$
DECLARE
  q text;
  n bigint;
BEGIN
  FOREACH q IN ARRAY ARRAY[
    'SELECT * FROM pgcredit.customer_risk WHERE customer = $1',
    'SELECT * FROM pgcredit.customer_risk_at(''2024-05-15'') WHERE customer = $1',
    'SELECT * FROM pgcredit.receivable_stats(''2024-06-30'') WHERE customer = $1',
    'SELECT * FROM pgcredit.external_score_now(''2024-06-30'') WHERE customer = $1',
    'SELECT * FROM pgcredit.cover_at(''2024-06-30'') WHERE customer = $1']
  LOOP
    PERFORM set_config('pgcredit.customer_filter_pushdown', 'off', true);
    EXECUTE format('CREATE TEMP TABLE cf_whole ON COMMIT DROP AS %s', q) USING k;
    PERFORM set_config('pgcredit.customer_filter_pushdown', 'on', true);
    EXECUTE format('CREATE TEMP TABLE cf_one ON COMMIT DROP AS %s', q) USING k;
    SELECT count(*) INTO n FROM ((TABLE cf_whole EXCEPT ALL TABLE cf_one)
                                 UNION ALL (TABLE cf_one EXCEPT ALL TABLE cf_whole)) d;
    what := split_part(split_part(q, 'FROM ', 2), ' WHERE', 1);
    cf_mismatches.n := n;
    RETURN NEXT;
    DROP TABLE cf_whole;
    DROP TABLE cf_one;
  END LOOP;
END
$$;
SELECT k, m.what, m.n AS rows_differing
FROM cf_keys, pg_temp.cf_mismatches(k) m WHERE m.n <> 0;
-- and they are not empty: each customer's row is there
SELECT customer, credit_limit, exposure, available_credit, external_score, days_past_due, aging_1_30,
       aging_over_90, last_payment
FROM pgcredit.customer_risk WHERE customer = 'CF1';
SELECT customer, receivables, aging_over_90 FROM pgcredit.customer_risk WHERE customer = 'O''$1';
SELECT customer, status, receivables, last_payment FROM pgcredit.customer_risk WHERE customer = 'CF4';
-- CF5's account was opened today, after the day seen: not listed then,
-- listed today
SELECT customer, status, exposure FROM pgcredit.customer_risk WHERE customer = 'CF5';
SELECT customer, status, exposure FROM pgcredit.customer_risk_at(current_date) WHERE customer = 'CF5';
SELECT count(*) AS nobody FROM pgcredit.customer_risk WHERE customer = 'nobody';

-- The plan calls the function with the customer
EXPLAIN (VERBOSE, COSTS OFF) SELECT customer FROM pgcredit.customer_risk WHERE customer = 'CF1';
EXPLAIN (VERBOSE, COSTS OFF) SELECT * FROM pgcredit.receivable_stats('2024-06-30') WHERE 'CF2' = customer;
-- a bind parameter, in a generic plan, goes in as the parameter
PREPARE cf_q(text) AS SELECT customer, exposure FROM pgcredit.customer_risk WHERE customer = $1;
SET plan_cache_mode = force_generic_plan;
EXPLAIN (VERBOSE, COSTS OFF) EXECUTE cf_q('CF2');
EXECUTE cf_q('CF2');
EXECUTE cf_q(NULL);
RESET plan_cache_mode;
-- what is not known when the scan starts is not passed: a subquery, a
-- column of another table, a volatile function; the filter applies
EXPLAIN (VERBOSE, COSTS OFF)
SELECT customer FROM pgcredit.customer_risk WHERE customer = (SELECT min(customer) FROM cf_invoice);
EXPLAIN (VERBOSE, COSTS OFF)
SELECT r.customer FROM cf_invoice i JOIN pgcredit.customer_risk r ON r.customer = i.customer WHERE i.id = 1;
EXPLAIN (VERBOSE, COSTS OFF)
SELECT customer FROM pgcredit.customer_risk WHERE customer = 'CF' || (random() * 0)::int::text;
-- a comparison that is not bytewise equality is not passed either
CREATE COLLATION cf_ci (provider = icu, locale = 'und-u-ks-level2', deterministic = false);
EXPLAIN (VERBOSE, COSTS OFF)
SELECT customer FROM pgcredit.customer_risk WHERE customer = 'cf1' COLLATE cf_ci;
SELECT customer FROM pgcredit.customer_risk WHERE customer = 'cf1' COLLATE cf_ci;
SELECT customer FROM pgcredit.customer_risk WHERE customer LIKE 'CF%' ORDER BY 1;
-- the setting turns it off
SET pgcredit.customer_filter_pushdown = off;
EXPLAIN (VERBOSE, COSTS OFF) SELECT customer FROM pgcredit.customer_risk WHERE customer = 'CF1';
RESET pgcredit.customer_filter_pushdown;

-- The ledger is read through its customer index, never scanned whole:
-- counted by the table's statistics
CREATE FUNCTION pg_temp.cf_scans() RETURNS TABLE (seq bigint, idx bigint) LANGUAGE sql AS $$
  SELECT seq_scan, coalesce(idx_scan, 0) FROM pg_stat_user_tables WHERE relname = 'cf_invoice'
$$;
SELECT pg_stat_force_next_flush();
SELECT seq AS seq0, idx AS idx0 FROM pg_temp.cf_scans() \gset
SELECT customer, exposure FROM pgcredit.customer_risk WHERE customer = 'CF2';
SELECT current_limit, recommended_limit FROM pgcredit.recommend_limit('CF2');
SELECT pg_stat_force_next_flush();
SELECT seq - :seq0 AS seq_scans, idx - :idx0 > 0 AS read_by_index FROM pg_temp.cf_scans();
-- the whole book, by contrast, scans it
SELECT seq AS seq0 FROM pg_temp.cf_scans() \gset
SELECT count(*) AS customers FROM pgcredit.customer_risk WHERE customer ~ '^(F[0-9]+|CF[0-9]|O''\$1)$';
SELECT pg_stat_force_next_flush();
SELECT seq - :seq0 > 0 AS scanned FROM pg_temp.cf_scans();

-- a role with nothing gets nothing from either form
CREATE ROLE regress_cf_nobody;
SET ROLE regress_cf_nobody;
SELECT customer FROM pgcredit.customer_risk WHERE customer = 'CF1';
SELECT customer FROM pgcredit.customer_risk_at('2024-06-30', 'CF1');
SELECT customer FROM pgcredit.receivable_stats('2024-06-30', 'CF1');
RESET ROLE;
-- the customer's form called directly, NULL meaning every customer
SELECT customer, exposure FROM pgcredit.customer_risk_at('2024-06-30', 'CF2');
SELECT count(*) FROM pgcredit.customer_risk_at('2024-06-30', NULL) WHERE customer ~ '^(F[0-9]+|CF[0-9]|O''\$1)$';
SELECT count(*) FROM pgcredit.customer_risk_at('2024-06-30') WHERE customer ~ '^(F[0-9]+|CF[0-9]|O''\$1)$';

SELECT relid FROM pgcredit.detach('cf_invoice');
DROP TABLE cf_invoice;
DELETE FROM pgcredit.cover WHERE customer = 'CF1';
DELETE FROM pgcredit.external_score WHERE customer LIKE 'CF%';
DELETE FROM pgcredit.score_history WHERE customer IN ('CF1', 'CF2', 'O''$1', 'CF4', 'CF5') OR customer LIKE 'F%';
DELETE FROM pgcredit.alert WHERE customer IN ('CF1', 'CF2', 'O''$1', 'CF4', 'CF5') OR customer LIKE 'F%';
DELETE FROM pgcredit.exposure WHERE customer IN ('CF1', 'CF2', 'O''$1', 'CF4', 'CF5') OR customer LIKE 'F%';
DELETE FROM pgcredit.account WHERE customer IN ('CF1', 'CF2', 'O''$1', 'CF4', 'CF5');
DROP COLLATION cf_ci;

-- Attaching a table without an index on its customer column says so, and
-- create_customer_index() creates one, as the caller
SET client_min_messages = notice;
CREATE TABLE cf_noindex (id int PRIMARY KEY, customer text NOT NULL, amount numeric NOT NULL);
SELECT kind FROM pgcredit.attach_orders('cf_noindex', 'customer', 'amount');
SELECT relid FROM pgcredit.detach('cf_noindex');
-- an index whose first column is the customer's will do; a partial one not
CREATE INDEX cf_noindex_partial ON cf_noindex (customer) WHERE amount > 0;
CREATE INDEX cf_noindex_two ON cf_noindex (amount, customer);
SELECT kind FROM pgcredit.attach_orders('cf_noindex', 'customer', 'amount');
SET client_min_messages = warning;
-- a role with nothing may not call it; an administrator who does not
-- own the table may call it, and PostgreSQL refuses
CREATE ROLE regress_cf_admin IN ROLE pgcredit_admin;
SET ROLE regress_cf_nobody;
SELECT pgcredit.create_customer_index('cf_noindex');
SET ROLE regress_cf_admin;
SELECT pgcredit.create_customer_index('cf_noindex');
RESET ROLE;
SELECT pgcredit.create_customer_index('cf_noindex');
SELECT indexdef FROM pg_indexes WHERE indexname = 'cf_noindex_pgcredit_customer';
-- once there, not twice; an unattached table, NULL
SELECT pgcredit.create_customer_index('cf_noindex');
SELECT pgcredit.create_customer_index('cf_keys');
SELECT pgcredit.create_customer_index(NULL);
SET client_min_messages = notice;
SELECT relid FROM pgcredit.detach('cf_noindex');
SELECT kind FROM pgcredit.attach_orders('cf_noindex', 'customer', 'amount');
SET client_min_messages = warning;
SELECT relid FROM pgcredit.detach('cf_noindex');
DROP TABLE cf_noindex;
DROP ROLE regress_cf_admin;
DROP ROLE regress_cf_nobody;

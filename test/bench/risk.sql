-- The risk views on a large ledger: :risk_rows invoices of :risk_customers
-- customers, every customer with an account.  Times customer_risk,
-- portfolio, the watchlist and refresh_scores(), against the plainest
-- per-customer report the same ledger allows (one GROUP BY with FILTER
-- sums for the aging bands), in the same run.

\set QUIET on
\set ON_ERROR_STOP on
\i test/bench/bench.sql
SET client_min_messages = warning;
SET pgcredit.as_of = '2024-06-30';

DROP TABLE IF EXISTS bench_risk_invoice CASCADE;
DELETE FROM pgcredit.attachment;
DELETE FROM pgcredit.exposure;
DELETE FROM pgcredit.account;
DELETE FROM pgcredit.score_history;
DELETE FROM pgcredit.alert;
CREATE TABLE bench_risk_invoice (
  id           bigint PRIMARY KEY,
  customer     text NOT NULL,
  amount       numeric(12,2) NOT NULL,
  open_amount  numeric(12,2) NOT NULL,
  invoiced_on  date NOT NULL,
  due          date NOT NULL,
  paid_on      date
);
-- two years of invoices; those due in the last 60 days are open
INSERT INTO bench_risk_invoice
SELECT g, 'C' || (g * 7919 % :risk_customers), a, CASE WHEN p IS NULL THEN a ELSE 0 END, i, i + 30, p
FROM (SELECT g, (g * 104729 % 100000) / 100.0 + 1 AS a,
             date '2024-06-30' - (g % 730)::int AS i,
             CASE WHEN date '2024-06-30' - (g % 730)::int + 30 > date '2024-06-30' - 60 AND g % 3 <> 0 THEN NULL
                  ELSE date '2024-06-30' - (g % 730)::int + 30 + (g % 41)::int - 20 END AS p
      FROM generate_series(1::bigint, :risk_rows) g) s;
INSERT INTO pgcredit.account (customer, credit_limit)
SELECT 'C' || c, 1000 + (c * 31 % 50) * 1000 FROM generate_series(0, :risk_customers - 1) c;
-- one customer is read through this index, as a company's table would have it
CREATE INDEX bench_risk_invoice_customer ON bench_risk_invoice (customer);
VACUUM ANALYZE bench_risk_invoice;
SELECT count(*) > 0 AS attached FROM pgcredit.attach_receivables('bench_risk_invoice', 'customer', 'open_amount', 'due',
  invoice_amount_column => 'amount', invoiced_column => 'invoiced_on', paid_column => 'paid_on') \gset

\echo 'risk views over' :risk_rows 'invoices of' :risk_customers 'customers (best of 3)'
WITH r AS (
  SELECT 'plain SQL aging by customer' AS what, pg_temp.best_ms($$
    SELECT count(*) FROM (
      SELECT customer,
             sum(open_amount) FILTER (WHERE due >= date '2024-06-30') AS cur,
             sum(open_amount) FILTER (WHERE date '2024-06-30' - due BETWEEN 1 AND 30) AS b1,
             sum(open_amount) FILTER (WHERE date '2024-06-30' - due BETWEEN 31 AND 60) AS b2,
             sum(open_amount) FILTER (WHERE date '2024-06-30' - due BETWEEN 61 AND 90) AS b3,
             sum(open_amount) FILTER (WHERE date '2024-06-30' - due > 90) AS b4,
             max(date '2024-06-30' - due) FILTER (WHERE open_amount > 0 AND due < date '2024-06-30') AS oldest,
             max(paid_on) AS last_paid
      FROM bench_risk_invoice GROUP BY customer) s$$, 3) AS ms
  UNION ALL
  SELECT 'customer_risk (every row)', pg_temp.best_ms($$SELECT count(*) FROM (SELECT * FROM pgcredit.customer_risk) s$$, 3)
  UNION ALL
  SELECT 'portfolio', pg_temp.best_ms($$SELECT * FROM pgcredit.portfolio$$, 3)
  UNION ALL
  SELECT 'watchlist', pg_temp.best_ms($$SELECT count(*) FROM pgcredit.watchlist$$, 3)
  UNION ALL
  SELECT 'refresh_scores()', pg_temp.best_ms($$SELECT * FROM pgcredit.refresh_scores()$$, 3)
)
SELECT what, ms, round(ms / (SELECT ms FROM r WHERE what = 'plain SQL aging by customer'), 2) AS vs_plain_aging,
       round(ms * 1000 / :risk_rows, 3) AS us_per_invoice
FROM r;
SELECT customers, tier_a, tier_b, tier_c, tier_d, tier_e FROM pgcredit.portfolio;

-- One customer at a time, as an order screen or a BI drill-down reads it:
-- the mean over 200 different customers (each read once, so no customer's
-- pages are warmer than another's), against the plain indexed query for
-- the same figures (the aging bands, the oldest item, the last payment,
-- the invoicing of 90 days and of 12 months, the limit and the exposure)
SET bench.customers = :risk_customers;
CREATE FUNCTION pg_temp.mean_ms(q text, n int) RETURNS numeric LANGUAGE plpgsql AS $$
DECLARE
  t0 timestamptz;
  total numeric := 0;
BEGIN
  FOR i IN 1..n LOOP
    t0 := clock_timestamp();
    EXECUTE q USING 'C' || ((i * 7907) % current_setting('bench.customers')::int);
    total := total + extract(epoch FROM clock_timestamp() - t0) * 1000;
  END LOOP;
  RETURN round(total / n, 3);
END $$;
\echo 'one customer of' :risk_customers 'at' :risk_rows 'invoices (mean of 200 customers)'
WITH r AS (
  SELECT 'plain SQL, one customer (indexed)' AS what, pg_temp.mean_ms($q$
    SELECT a.customer, a.credit_limit, e.receivables + e.open_orders, s.*
    FROM pgcredit.account a LEFT JOIN pgcredit.exposure e USING (customer)
    CROSS JOIN LATERAL (
      SELECT sum(open_amount) FILTER (WHERE due >= date '2024-06-30') AS cur,
             sum(open_amount) FILTER (WHERE date '2024-06-30' - due BETWEEN 1 AND 30) AS b1,
             sum(open_amount) FILTER (WHERE date '2024-06-30' - due BETWEEN 31 AND 60) AS b2,
             sum(open_amount) FILTER (WHERE date '2024-06-30' - due BETWEEN 61 AND 90) AS b3,
             sum(open_amount) FILTER (WHERE date '2024-06-30' - due > 90) AS b4,
             max(date '2024-06-30' - due) FILTER (WHERE open_amount > 0 AND due < date '2024-06-30') AS oldest,
             max(paid_on) AS last_paid,
             sum(amount) FILTER (WHERE invoiced_on > date '2024-06-30' - 90) AS sales_90,
             sum(amount) FILTER (WHERE invoiced_on > date '2024-06-30' - 365) AS sales_365
      FROM bench_risk_invoice i WHERE i.customer = a.customer) s
    WHERE a.customer = $1$q$, 200) AS ms
  UNION ALL
  SELECT 'customer_risk WHERE customer = $1', pg_temp.mean_ms($q$SELECT * FROM pgcredit.customer_risk WHERE customer = $1$q$, 200)
  UNION ALL
  SELECT 'recommend_limit($1)', pg_temp.mean_ms($q$SELECT * FROM pgcredit.recommend_limit($1)$q$, 200)
)
SELECT what, ms, round(ms / (SELECT ms FROM r WHERE what = 'plain SQL, one customer (indexed)'), 2) AS vs_plain
FROM r;


SELECT count(*) > 0 AS detached FROM pgcredit.detach('bench_risk_invoice') \gset
DROP TABLE bench_risk_invoice;
DELETE FROM pgcredit.exposure;
DELETE FROM pgcredit.account;
DELETE FROM pgcredit.score_history;
DELETE FROM pgcredit.alert;

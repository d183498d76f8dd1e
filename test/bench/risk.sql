-- The risk views on a large ledger: :risk_rows invoices of :risk_customers
-- customers, every customer with an account, dated back from today (the
-- day a dashboard reads).  Times customer_risk, portfolio, the watchlist
-- and refresh_scores(), against the plainest per-customer report the
-- same ledger allows (one GROUP BY with FILTER sums for the aging bands),
-- in the same run: computed (no book kept), read from the book kept by
-- refresh_book(), and read after 1% of the customers changed since it
-- was kept (their rows computed again as they are read).  And what
-- keeping the book costs the writers of invoices.

\set QUIET on
\set ON_ERROR_STOP on
\i test/bench/bench.sql
SET client_min_messages = warning;

DROP TABLE IF EXISTS bench_risk_invoice, bench_risk_plain, bench_replay_order CASCADE;
DELETE FROM pgcredit.attachment;
DELETE FROM pgcredit.exposure;
DELETE FROM pgcredit.account;
DELETE FROM pgcredit.score_history;
DELETE FROM pgcredit.alert;
DELETE FROM pgcredit.book_cache;
UPDATE pgcredit.book_state SET day = NULL;
CREATE TABLE bench_risk_invoice (
  id           bigint PRIMARY KEY,
  customer     text NOT NULL,
  amount       numeric(12,2) NOT NULL,
  open_amount  numeric(12,2) NOT NULL,
  invoiced_on  date NOT NULL,
  due          date NOT NULL,
  paid_on      date
);
-- two years of invoices up to today; those due in the last 60 days are open
INSERT INTO bench_risk_invoice
SELECT g, 'C' || (g * 7919 % :risk_customers), a, CASE WHEN p IS NULL THEN a ELSE 0 END, i, i + 30, p
FROM (SELECT g, (g * 104729 % 100000) / 100.0 + 1 AS a,
             current_date - (g % 730)::int AS i,
             CASE WHEN current_date - (g % 730)::int + 30 > current_date - 60 AND g % 3 <> 0 THEN NULL
                  ELSE current_date - (g % 730)::int + 30 + (g % 41)::int - 20 END AS p
      FROM generate_series(1::bigint, :risk_rows) g) s;
INSERT INTO pgcredit.account (customer, credit_limit)
SELECT 'C' || c, 1000 + (c * 31 % 50) * 1000 FROM generate_series(0, :risk_customers - 1) c;
-- one customer is read through this index, as a company's table would have it
CREATE INDEX bench_risk_invoice_customer ON bench_risk_invoice (customer);
VACUUM ANALYZE bench_risk_invoice;
SELECT count(*) > 0 AS attached FROM pgcredit.attach_receivables('bench_risk_invoice', 'customer', 'open_amount', 'due',
  invoice_amount_column => 'amount', invoiced_column => 'invoiced_on', paid_column => 'paid_on') \gset
-- the same table without pgcredit, for the writers' baseline
CREATE TABLE bench_risk_plain (LIKE bench_risk_invoice INCLUDING INDEXES);
CREATE TEMP TABLE risk_times (what text, ms numeric, n int);
SET bench.rows = :risk_rows;
CREATE FUNCTION pg_temp.plain_aging() RETURNS numeric LANGUAGE sql AS $f$
  SELECT pg_temp.best_ms($$
    SELECT count(*) FROM (
      SELECT customer,
             sum(open_amount) FILTER (WHERE due >= current_date) AS cur,
             sum(open_amount) FILTER (WHERE current_date - due BETWEEN 1 AND 30) AS b1,
             sum(open_amount) FILTER (WHERE current_date - due BETWEEN 31 AND 60) AS b2,
             sum(open_amount) FILTER (WHERE current_date - due BETWEEN 61 AND 90) AS b3,
             sum(open_amount) FILTER (WHERE current_date - due > 90) AS b4,
             max(current_date - due) FILTER (WHERE open_amount > 0 AND due < current_date) AS oldest,
             max(paid_on) AS last_paid
      FROM bench_risk_invoice GROUP BY customer) s$$, 3)
$f$;
-- each view, best of 3
CREATE FUNCTION pg_temp.views(label text) RETURNS void LANGUAGE sql AS $f$
  INSERT INTO risk_times VALUES
    ('customer_risk (every row), ' || label,
     pg_temp.best_ms($$SELECT count(*) FROM (SELECT * FROM pgcredit.customer_risk) s$$, 3),
     current_setting('bench.rows')::int),
    ('portfolio, ' || label, pg_temp.best_ms($$SELECT * FROM pgcredit.portfolio$$, 3),
     current_setting('bench.rows')::int),
    ('watchlist, ' || label, pg_temp.best_ms($$SELECT count(*) FROM pgcredit.watchlist$$, 3),
     current_setting('bench.rows')::int)
$f$;

\echo 'risk views over' :risk_rows 'invoices of' :risk_customers 'customers (best of 3)'
INSERT INTO risk_times VALUES ('plain SQL aging by customer', pg_temp.plain_aging(), :risk_rows);
-- computed: no book kept
SELECT pg_temp.views('computed') \gset
INSERT INTO risk_times VALUES ('refresh_scores(), computed', pg_temp.best_ms($$
  SELECT * FROM pgcredit.refresh_scores(); UPDATE pgcredit.book_state SET day = NULL$$, 3), :risk_rows);
-- the book kept, whole, then read
INSERT INTO risk_times VALUES ('refresh_book(), whole', pg_temp.best_ms($$
  UPDATE pgcredit.book_state SET day = NULL; SELECT * FROM pgcredit.refresh_book()$$, 3), :risk_rows);
SELECT pg_temp.views('book kept') \gset
INSERT INTO risk_times VALUES ('refresh_scores(), book kept', pg_temp.best_ms($$SELECT * FROM pgcredit.refresh_scores()$$, 3), :risk_rows);
-- 1% of the customers change: one open and one paid invoice each,
-- through the guard, against the same rows into the table without it
-- (each run with ids of its own)
SELECT max(id) AS last_id FROM bench_risk_invoice \gset
CREATE TEMP TABLE new_rows AS
SELECT :last_id + g AS id, 'C' || ((g + 1) / 2 * 97 % :risk_customers) AS customer, 100.00 AS amount,
       CASE WHEN g % 2 = 0 THEN 100.00 ELSE 0 END AS open_amount, current_date - 5 AS invoiced_on,
       current_date + 25 AS due, CASE WHEN g % 2 = 1 THEN current_date - 1 END AS paid_on
FROM generate_series(1, 2 * (:risk_customers / 100)) g;
CREATE TEMP SEQUENCE bench_run;
INSERT INTO risk_times VALUES
  ('insert an invoice, no trigger', pg_temp.best_ms($$
    INSERT INTO bench_risk_plain SELECT n.id + 1000000000000 * r.k, n.customer, n.amount, n.open_amount,
                                        n.invoiced_on, n.due, n.paid_on
    FROM new_rows n, (SELECT nextval('bench_run') AS k) r$$, 3), 2 * (:risk_customers / 100)),
  ('insert an invoice, guard and book version', pg_temp.best_ms($$
    INSERT INTO bench_risk_invoice SELECT n.id + 1000000000000 * r.k, n.customer, n.amount, n.open_amount,
                                          n.invoiced_on, n.due, n.paid_on
    FROM new_rows n, (SELECT nextval('bench_run') AS k) r$$, 3), 2 * (:risk_customers / 100));
DELETE FROM bench_risk_invoice WHERE id > :last_id;
-- the book kept before the change: refreshed, then the change made
SELECT whole FROM pgcredit.refresh_book() \gset
INSERT INTO bench_risk_invoice SELECT * FROM new_rows;
SELECT pg_temp.views('1% changed since kept') \gset
-- (the kept book brought up to date: once, as the change is made once)
INSERT INTO risk_times VALUES ('refresh_book(), 1% changed',
  pg_temp.best_ms($$SELECT * FROM pgcredit.refresh_book()$$, 1), :risk_rows);

\pset footer off
SELECT what, ms, round(ms / (SELECT ms FROM risk_times WHERE what = 'plain SQL aging by customer'), 2) AS vs_plain_aging,
       round(ms * 1000 / n, 3) AS us_per_row
FROM risk_times WHERE what NOT LIKE 'insert%';
SELECT what, ms, round(ms * 1000 / n, 2) AS us_per_invoice,
       round(ms / (SELECT ms FROM risk_times WHERE what = 'insert an invoice, no trigger'), 2) AS vs_no_trigger
FROM risk_times WHERE what LIKE 'insert%';
\pset footer on
SELECT customers, tier_a, tier_b, tier_c, tier_d, tier_e FROM pgcredit.portfolio;

-- Foresight over the same ledger (one run each; they are monthly or
-- nightly jobs, not dashboard reads): the roll rates of 12 months against
-- the plain aging of the book at the same 13 month ends, and the payment
-- prediction of every open item against the plain baseline predictor
-- (the due date plus the customer's average days late)
\echo 'foresight over' :risk_rows 'invoices (one run each)'
CREATE TEMP TABLE fore_times (what text, ms numeric, n bigint);
INSERT INTO fore_times VALUES
  ('plain SQL aging at 13 month ends', pg_temp.best_ms($$
    SELECT count(*) FROM (
      SELECT e.d, sum(open_amount) FILTER (WHERE due >= e.d) AS cur,
             sum(open_amount) FILTER (WHERE e.d - due BETWEEN 1 AND 30) AS b1,
             sum(open_amount) FILTER (WHERE e.d - due BETWEEN 31 AND 60) AS b2,
             sum(open_amount) FILTER (WHERE e.d - due BETWEEN 61 AND 90) AS b3,
             sum(open_amount) FILTER (WHERE e.d - due > 90) AS b4
      FROM (SELECT (date_trunc('month', current_date + 1) - make_interval(months => k) - interval '1 day')::date AS d
            FROM generate_series(0, 12) k) e
      CROSS JOIN LATERAL (SELECT CASE WHEN paid_on <= e.d THEN NULL WHEN paid_on > e.d THEN amount ELSE open_amount END
                                   AS open_amount, due
                          FROM bench_risk_invoice WHERE invoiced_on <= e.d) i
      GROUP BY e.d) s$$, 1), :risk_rows),
  ('roll_rates(12 months)', pg_temp.best_ms($$SELECT * FROM pgcredit.roll_rates(current_date, 12)$$, 1), :risk_rows);
SELECT count(*) AS open_items FROM bench_risk_invoice WHERE open_amount > 0 OR paid_on > current_date \gset
INSERT INTO fore_times VALUES
  ('plain SQL: due date plus the customer''s average days late, every open item', pg_temp.best_ms($$
    SELECT count(*) FROM (
      SELECT i.id, i.due + round(coalesce(a.dl, 0))::int
      FROM bench_risk_invoice i
      LEFT JOIN (SELECT customer, avg(paid_on - due) AS dl FROM bench_risk_invoice
                 WHERE paid_on <= current_date GROUP BY customer) a USING (customer)
      WHERE i.open_amount > 0) s$$, 1), :open_items),
  ('payment_predictions, every open item', pg_temp.best_ms($$SELECT count(*) FROM pgcredit.payment_predictions$$, 1),
   :open_items);
\pset footer off
SELECT what, ms, round(ms * 1000 / n, 3) AS us_per_row, n AS rows FROM fore_times;
\pset footer on

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
      SELECT sum(open_amount) FILTER (WHERE due >= current_date) AS cur,
             sum(open_amount) FILTER (WHERE current_date - due BETWEEN 1 AND 30) AS b1,
             sum(open_amount) FILTER (WHERE current_date - due BETWEEN 31 AND 60) AS b2,
             sum(open_amount) FILTER (WHERE current_date - due BETWEEN 61 AND 90) AS b3,
             sum(open_amount) FILTER (WHERE current_date - due > 90) AS b4,
             max(current_date - due) FILTER (WHERE open_amount > 0 AND due < current_date) AS oldest,
             max(paid_on) AS last_paid,
             sum(amount) FILTER (WHERE invoiced_on > current_date - 90) AS sales_90,
             sum(amount) FILTER (WHERE invoiced_on > current_date - 365) AS sales_365
      FROM bench_risk_invoice i WHERE i.customer = a.customer) s
    WHERE a.customer = $1$q$, 200) AS ms
  UNION ALL
  SELECT 'customer_risk WHERE customer = $1', pg_temp.mean_ms($q$SELECT * FROM pgcredit.customer_risk WHERE customer = $1$q$, 200)
  UNION ALL
  SELECT 'recommend_limit($1)', pg_temp.mean_ms($q$SELECT * FROM pgcredit.recommend_limit($1)$q$, 200)
  UNION ALL
  SELECT 'check_order($1, 100)', pg_temp.mean_ms($q$SELECT * FROM pgcredit.check_order($1, 100)$q$, 200)
  UNION ALL
  SELECT 'credit_status($1)', pg_temp.mean_ms($q$SELECT * FROM pgcredit.credit_status($1)$q$, 200)
)
SELECT what, ms, round(ms / (SELECT ms FROM r WHERE what = 'plain SQL, one customer (indexed)'), 2) AS vs_plain
FROM r;


-- Last, as attaching the order table changes what the kept book holds.
-- The replay of a policy: 10^6 orders over the same two years (each
-- customer's orders as its invoices, shipped and closed), every invoice
-- and order in the period, under the live policy and a draft with limits
-- halved and a 30-days-past-due rule; against the floor of the same job
-- in plain SQL, reading the same rows and sorting them into the walk's
-- order (no judging at all)
CREATE TABLE bench_replay_order (id bigint PRIMARY KEY, customer text NOT NULL, amount numeric(12,2) NOT NULL,
  ordered_on date NOT NULL, status text NOT NULL DEFAULT 'invoiced');
INSERT INTO bench_replay_order
SELECT g, 'C' || (g * 7919 % :risk_customers), (g * 104729 % 100000) / 10.0 + 1, current_date - 7 - (g % 723)::int
FROM generate_series(1::bigint, 1000000) g;
VACUUM ANALYZE bench_replay_order;
SELECT count(*) > 0 AS attached FROM pgcredit.attach_orders('bench_replay_order', 'customer', 'amount', 'status', '{open}',
  order_date_column => 'ordered_on') \gset
SELECT name AS draft FROM pgcredit.create_policy_draft('bench: half the limits') \gset
UPDATE pgcredit.policy_draft_limit SET credit_limit = credit_limit / 2 WHERE draft = 'bench: half the limits';
INSERT INTO pgcredit.policy_draft_rule (draft, kind, action, days) VALUES ('bench: half the limits', 'days_past_due', 'refuse', 30);
SELECT count(*) AS replay_rows FROM (SELECT FROM bench_replay_order UNION ALL SELECT FROM bench_risk_invoice) s \gset
CREATE TEMP TABLE replay_times (what text, ms numeric, n bigint);
INSERT INTO replay_times VALUES
  ('plain SQL: orders and invoices of two years read and sorted by customer and day', pg_temp.best_ms($$
    SELECT count(*) FROM (SELECT * FROM (
      SELECT customer, ordered_on AS day, 1 AS k, amount, NULL::date AS due, NULL::date AS paid FROM bench_replay_order
      UNION ALL SELECT customer, invoiced_on, 2, amount, due, paid_on FROM bench_risk_invoice) e
      ORDER BY customer, day, k, amount, due, paid OFFSET 0) s$$, 1), :replay_rows),
  ('replay_policy, two years, live and draft', pg_temp.best_ms($$
    SELECT * FROM pgcredit.replay_policy('bench: half the limits', current_date - 729, current_date)$$, 1), :replay_rows);
\echo 'replay over 1000000 orders and' :risk_rows 'invoices (one run each)'
\pset footer off
SELECT what, ms, round(ms * 1000 / n, 3) AS us_per_row, n AS rows FROM replay_times;
\pset footer on
SELECT policy, orders, refused, revenue_lost, peak_exposure, average_exposure
FROM pgcredit.replay_policy('bench: half the limits', current_date - 729, current_date);
SELECT count(*) > 0 AS detached FROM pgcredit.detach('bench_replay_order') \gset
DROP TABLE bench_replay_order;
SELECT pgcredit.drop_policy_draft('bench: half the limits') IS NULL AS dropped \gset

SELECT count(*) > 0 AS detached FROM pgcredit.detach('bench_risk_invoice') \gset
DROP TABLE bench_risk_invoice, bench_risk_plain;
DELETE FROM pgcredit.exposure;
DELETE FROM pgcredit.book_cache;
UPDATE pgcredit.book_state SET day = NULL;
DELETE FROM pgcredit.account;
DELETE FROM pgcredit.score_history;
DELETE FROM pgcredit.alert;

-- A past day is one day: customer_risk_at(day) gives the exposure, the
-- receivables, the open orders, the limit and the status as they stood at
-- the end of that day, and aging of the same day.  A book is built over
-- four weeks, one transaction a day; the test keeps its own record of
-- what it did and recomputes every figure of every day from it.
\set SHOW_CONTEXT never
SET client_min_messages = warning;

CREATE TABLE pd_invoice (id int PRIMARY KEY, customer text NOT NULL, amount numeric(12,2) NOT NULL,
                         open_amount numeric(12,2) NOT NULL, invoiced_on date NOT NULL, due date NOT NULL,
                         paid_on date);
CREATE INDEX ON pd_invoice (customer);
CREATE TABLE pd_order (id int PRIMARY KEY, customer text NOT NULL, amount numeric(12,2) NOT NULL,
                       status text NOT NULL DEFAULT 'open');
CREATE INDEX ON pd_order (customer);
SELECT kind FROM pgcredit.attach_receivables('pd_invoice', 'customer', 'open_amount', 'due',
  invoice_amount_column => 'amount', invoiced_column => 'invoiced_on', paid_column => 'paid_on');
SELECT kind FROM pgcredit.attach_orders('pd_order', 'customer', 'amount', 'status', '{open}');

-- the test's own record: orders placed and shipped, limits and statuses
-- from their day on
CREATE TABLE pd_order_log (id int PRIMARY KEY, customer text, amount numeric, placed_on date, shipped_on date);
CREATE TABLE pd_account_log (customer text, day date, credit_limit numeric, status text);

-- One day of the book, in one transaction: its changes are then dated
-- that day, at noon and after, in the order they were made (the history
-- records the real clock; the test moves its day's changes to the day
-- they stand for)
CREATE FUNCTION pg_temp.pd_day(d date) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  n int := d - date '2025-03-01';
  t0 timestamptz := clock_timestamp();
  o record;
BEGIN
  IF n = 0 THEN
    PERFORM pgcredit.open_account('PD1', 100000, reason => 'past days');
    PERFORM pgcredit.open_account('PD2', 50000, reason => 'past days');
    INSERT INTO pd_account_log VALUES ('PD1', d, 100000, 'ok'), ('PD2', d, 50000, 'ok');
  END IF;
  -- invoices: PD1 every day, PD2 every other day, PD3 (no account) weekly
  INSERT INTO pd_invoice VALUES (1000 + n, 'PD1', 100 + n, 100 + n, d, d + 14, NULL);
  IF n % 2 = 0 THEN
    INSERT INTO pd_invoice VALUES (2000 + n, 'PD2', 50, 50, d, d + 10, NULL);
  END IF;
  IF n % 7 = 3 THEN
    INSERT INTO pd_invoice VALUES (3000 + n, 'PD3', 70, 70, d, d + 30, NULL);
  END IF;
  -- payments: two invoices of three are paid two days after their due date
  UPDATE pd_invoice SET open_amount = 0, paid_on = d
  WHERE paid_on IS NULL AND due + 2 = d AND id % 3 <> 0;
  -- orders: PD1 orders every other day, PD2 every third; shipped two days
  -- later, when they become invoices
  IF n % 2 = 0 THEN
    INSERT INTO pd_order VALUES (5000 + n, 'PD1', 80);
    INSERT INTO pd_order_log VALUES (5000 + n, 'PD1', 80, d, NULL);
  END IF;
  IF n % 3 = 0 AND n NOT BETWEEN 20 AND 22 THEN    -- not while PD2 is on hold
    INSERT INTO pd_order VALUES (6000 + n, 'PD2', 30);
    INSERT INTO pd_order_log VALUES (6000 + n, 'PD2', 30, d, NULL);
  END IF;
  FOR o IN SELECT * FROM pd_order_log WHERE placed_on = d - 2 AND shipped_on IS NULL LOOP
    UPDATE pd_order SET status = 'shipped' WHERE id = o.id;
    UPDATE pd_order_log SET shipped_on = d WHERE id = o.id;
  END LOOP;
  -- the limit and the status change on some days
  IF n = 10 THEN
    PERFORM pgcredit.set_credit_limit('PD1', 200000, 'review');
    INSERT INTO pd_account_log VALUES ('PD1', d, 200000, 'ok');
  END IF;
  IF n = 20 THEN
    PERFORM pgcredit.set_status('PD2', 'hold', 'late');
    INSERT INTO pd_account_log VALUES ('PD2', d, 50000, 'hold');
  END IF;
  IF n = 23 THEN
    PERFORM pgcredit.set_status('PD2', 'ok', 'paid');
    INSERT INTO pd_account_log VALUES ('PD2', d, 50000, 'ok');
  END IF;
  UPDATE pgcredit.exposure_history h SET changed_at = d + time '12:00' + (h.changed_at - t0)
  WHERE h.xact_id = pg_current_xact_id()::text::bigint;
END
$$;
-- one statement, so one transaction, a day (errors would still show)
\o /dev/null
SELECT format('SELECT pg_temp.pd_day(%L)', d::date) FROM generate_series(date '2025-03-01', date '2025-03-28', interval '1 day') d
\gexec
\o
SELECT count(DISTINCT changed_at::date) AS days_in_the_history FROM pgcredit.exposure_history WHERE customer LIKE 'PD%';

-- Each day recomputed from the test's record, against customer_risk_at
CREATE TEMP VIEW pd_expected AS
SELECT d::date AS day, c.customer,
       (SELECT coalesce(sum(i.amount), 0) FROM pd_invoice i
        WHERE i.customer = c.customer AND i.invoiced_on <= d AND (i.paid_on IS NULL OR i.paid_on > d)) AS receivables,
       (SELECT coalesce(sum(o.amount), 0) FROM pd_order_log o
        WHERE o.customer = c.customer AND o.placed_on <= d AND (o.shipped_on IS NULL OR o.shipped_on > d)) AS open_orders,
       (SELECT a.credit_limit FROM pd_account_log a WHERE a.customer = c.customer AND a.day <= d
        ORDER BY a.day DESC LIMIT 1) AS credit_limit,
       coalesce((SELECT a.status FROM pd_account_log a WHERE a.customer = c.customer AND a.day <= d
                 ORDER BY a.day DESC LIMIT 1), 'no account') AS status
FROM generate_series(date '2025-03-01', date '2025-03-28', interval '1 day') d,
     (VALUES ('PD1'), ('PD2'), ('PD3')) c(customer);
CREATE TEMP TABLE pd_seen AS
SELECT d::date AS day, r.*
FROM generate_series(date '2025-03-01', date '2025-03-28', interval '1 day') d,
     pgcredit.customer_risk_at(d::date) r
WHERE r.customer LIKE 'PD%';

-- every figure of every day (none expected to differ)
SELECT x.day, x.customer, x.receivables, s.receivables AS seen_receivables, x.open_orders,
       s.open_orders AS seen_open_orders, x.credit_limit, s.credit_limit AS seen_limit, x.status,
       s.status AS seen_status,
       s.aging_current + s.aging_1_30 + s.aging_31_60 + s.aging_61_90 + s.aging_over_90 AS seen_aging_total
FROM pd_expected x
LEFT JOIN pd_seen s USING (day, customer)
WHERE (x.receivables > 0 OR x.open_orders > 0 OR x.credit_limit IS NOT NULL)
  AND (s.customer IS NULL
       OR (x.receivables, x.open_orders, x.receivables + x.open_orders, x.credit_limit, x.status)
          IS DISTINCT FROM (s.receivables, s.open_orders, s.exposure, s.credit_limit, s.status)
       OR s.aging_current + s.aging_1_30 + s.aging_31_60 + s.aging_61_90 + s.aging_over_90 <> x.receivables)
ORDER BY 1, 2;
-- how many day-customer rows were compared, and a few of them
SELECT count(*) AS compared FROM pd_expected x JOIN pd_seen s USING (day, customer);
SELECT day, customer, receivables, open_orders, exposure, credit_limit, available_credit, status, days_past_due
FROM pd_seen WHERE day IN ('2025-03-05', '2025-03-12', '2025-03-22', '2025-03-28') ORDER BY day, customer;
-- a customer that did not exist yet: no row on that day
SELECT count(*) AS pd3_before_its_first_invoice FROM pd_seen WHERE customer = 'PD3' AND day < '2025-03-04';
-- the portfolio of a day is the sum of its customers
SELECT d::date AS day, p.total_exposure,
       (SELECT sum(x.receivables + x.open_orders) FROM pd_expected x WHERE x.day = d::date) AS recomputed
FROM generate_series(date '2025-03-07', date '2025-03-28', interval '7 days') d, pgcredit.portfolio_at(d::date) p
WHERE p.total_exposure IS DISTINCT FROM
      (SELECT sum(x.receivables + x.open_orders) FROM pd_expected x WHERE x.day = d::date)
        + (SELECT coalesce(sum(e.receivables + e.open_orders), 0) FROM pgcredit._exposure_state_at(d::date, NULL) e
           WHERE e.customer NOT LIKE 'PD%');
-- today is the exposure as it stands
SELECT r.customer, r.exposure = e.receivables + e.open_orders AS as_it_stands
FROM pgcredit.customer_risk r JOIN pgcredit.exposure e USING (customer)
WHERE r.customer LIKE 'PD%' ORDER BY 1;

SELECT relid FROM pgcredit.detach('pd_order');
SELECT relid FROM pgcredit.detach('pd_invoice');
DROP VIEW pd_expected;
DROP TABLE pd_invoice, pd_order;
DELETE FROM pgcredit.alert WHERE customer LIKE 'PD%';
DELETE FROM pgcredit.exposure WHERE customer LIKE 'PD%';
DELETE FROM pgcredit.exposure_history WHERE customer LIKE 'PD%';
DELETE FROM pgcredit.account WHERE customer LIKE 'PD%';

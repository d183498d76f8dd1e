-- Stress ledger: customers with tight limits, invoices that get paid and
-- orders placed at random by many clients at once, a third of them in
-- dollars, converted into the euros of the accounts by the guard.  Meant for a new
-- database (test/stress/run.sh creates one): it only creates, and stops
-- at the first table or account that exists already.

\set ON_ERROR_STOP on
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pgcredit;

CREATE TABLE stress_invoice (
  id          serial PRIMARY KEY,
  customer    int NOT NULL,
  open_amount numeric(12,2) NOT NULL,
  due         date NOT NULL,
  currency    text NOT NULL DEFAULT 'EUR',
  invoiced_on date NOT NULL DEFAULT current_date
);
CREATE INDEX ON stress_invoice (customer, due);
CREATE TABLE stress_order (
  id        bigserial PRIMARY KEY,
  customer  int NOT NULL,
  amount    numeric(12,2) NOT NULL,
  status    text NOT NULL DEFAULT 'open',
  placed_at timestamptz NOT NULL DEFAULT clock_timestamp(),
  currency  text NOT NULL DEFAULT 'EUR',
  placed_on date NOT NULL DEFAULT current_date
);
CREATE INDEX ON stress_order (customer) WHERE status = 'open';
-- What each accepted order saw, computed from the tables alone.
CREATE TABLE stress_log (
  order_id       bigint,
  customer       int,
  data_exposure  numeric,
  allowed        numeric
);
-- Every refusal with its SQLSTATE.
CREATE TABLE stress_refusal (customer int, sqlstate text, message text);

-- The book in euros; dollars at a rate that changed 10 days ago
SELECT pgcredit.set_base_currency('EUR', 'stress') IS NOT NULL AS base_currency;
INSERT INTO pgcredit.fx_rate (currency_from, currency_to, valid_from, rate)
VALUES ('USD', 'EUR', current_date - 400, 0.93), ('USD', 'EUR', current_date - 10, 0.91);

-- Customers 1..:customers: limits 1000 to 5000, tolerance 0 or 5 %.
SELECT count(*) AS accounts FROM (
  SELECT pgcredit.open_account(c::text, 1000 + (c * 37 % 41) * 100, (c % 2) * 5)
  FROM generate_series(1, :customers) AS c) s;
INSERT INTO stress_invoice (customer, open_amount, due)
SELECT c, 100 + (c * 13 % 7) * 50, current_date - (c % 20)
FROM generate_series(1, :customers) AS c, generate_series(1, 3);

SELECT pgcredit.attach_receivables('stress_invoice', 'customer', 'open_amount', 'due',
                                   currency_column => 'currency', rate_date_column => 'invoiced_on') IS NOT NULL AS attached;
SELECT pgcredit.attach_orders('stress_order', 'customer', 'amount', 'status', '{open}',
                              currency_column => 'currency', rate_date_column => 'placed_on') IS NOT NULL AS attached;

-- The application: place an order, catching the credit guard's refusal.
-- After an accepted order, while this transaction holds the customer's
-- exposure row, no other change of the customer can be in flight: the
-- exposure computed here from the tables is the customer's true exposure
-- at this moment (rows in dollars converted as documented).
CREATE FUNCTION place_order(c int, amt numeric, cur text DEFAULT 'EUR') RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  oid bigint;
BEGIN
  INSERT INTO stress_order (customer, amount, currency) VALUES (c, amt, cur) RETURNING id INTO oid;
  INSERT INTO stress_log
  SELECT oid, c,
         (SELECT coalesce(sum(pgcredit.fx_convert(amount, currency, 'EUR', placed_on)), 0)
          FROM stress_order WHERE customer = c AND status = 'open')
         + (SELECT coalesce(sum(pgcredit.fx_convert(open_amount, currency, 'EUR', invoiced_on)), 0)
            FROM stress_invoice WHERE customer = c),
         (SELECT credit_limit * (1 + tolerance_pct / 100) FROM pgcredit.account WHERE customer = c::text);
EXCEPTION WHEN SQLSTATE 'PC001' OR SQLSTATE 'PC002' OR SQLSTATE 'PC003' OR SQLSTATE 'PC004' THEN
  INSERT INTO stress_refusal VALUES (c, SQLSTATE, SQLERRM);
END
$$;

-- Shipping: the customer's oldest open order ships and becomes an invoice
-- (exposure moves from orders to receivables).
CREATE FUNCTION ship(c int) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  amt numeric;
  cur text;
BEGIN
  UPDATE stress_order SET status = 'shipped'
  WHERE id = (SELECT id FROM stress_order WHERE customer = c AND status = 'open' ORDER BY id LIMIT 1)
  RETURNING amount, currency INTO amt, cur;
  IF FOUND THEN
    INSERT INTO stress_invoice (customer, open_amount, due, currency) VALUES (c, amt, current_date + 30, cur);
  END IF;
END
$$;

-- A payment: the customer's oldest open invoice is paid.
CREATE FUNCTION pay(c int) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  UPDATE stress_invoice SET open_amount = 0
  WHERE id = (SELECT id FROM stress_invoice WHERE customer = c AND open_amount > 0 ORDER BY id LIMIT 1);
END
$$;

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
-- What each accepted order saw, computed from the tables alone: the
-- customer's exposure and limit, and those of its credit group and of the
-- top group above it (NULL outside groups).
CREATE TABLE stress_log (
  order_id       bigint,
  customer       int,
  data_exposure  numeric,
  allowed        numeric,
  group_id       text,
  group_exposure numeric,
  group_allowed  numeric,
  top_id         text,
  top_exposure   numeric,
  top_allowed    numeric
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

-- Credit groups: four customers in five belong to one of ten groups
-- (G1..G10), five groups under each of two top groups (T1, T2); the
-- group limits are tight, so orders are refused for the group's limit
-- (PC014) as well as for the customer's own (PC001).
SELECT count(*) AS top_groups FROM (
  SELECT pgcredit.create_group('T' || t, 24000, 0, NULL, 'stress top group') FROM generate_series(1, 2) t) s;
SELECT count(*) AS groups FROM (
  SELECT pgcredit.create_group('G' || g, 7000, (g % 2) * 5, 'T' || (g % 2 + 1), 'stress group')
  FROM generate_series(1, 10) g) s;
SELECT count(*) AS members FROM (
  SELECT pgcredit.join_group(c::text, 'G' || (c % 10 + 1), 'stress') FROM generate_series(1, :customers) c
  WHERE c % 5 <> 0) s;

SELECT pgcredit.attach_receivables('stress_invoice', 'customer', 'open_amount', 'due',
                                   currency_column => 'currency', rate_date_column => 'invoiced_on') IS NOT NULL AS attached;
SELECT pgcredit.attach_orders('stress_order', 'customer', 'amount', 'status', '{open}',
                              currency_column => 'currency', rate_date_column => 'placed_on') IS NOT NULL AS attached;

-- The application: place an order, catching the credit guard's refusal.
-- After an accepted order, while this transaction holds the customer's
-- exposure row, no other change of the customer can be in flight: the
-- exposure computed here from the tables is the customer's true exposure
-- at this moment (rows in dollars converted as documented).
-- The same holds for the customer's groups: every change of a member's
-- exposure goes through the guard, which holds the group chain's rows
-- until the end of the transaction, and so does join_group; the members'
-- exposure summed from the tables is the group's true exposure.
CREATE FUNCTION data_exposure(c int) RETURNS numeric LANGUAGE sql STABLE AS $$
  SELECT (SELECT coalesce(sum(pgcredit.fx_convert(amount, currency, 'EUR', placed_on)), 0)
          FROM stress_order WHERE customer = c AND status = 'open')
       + (SELECT coalesce(sum(pgcredit.fx_convert(open_amount, currency, 'EUR', invoiced_on)), 0)
          FROM stress_invoice WHERE customer = c)
$$;
CREATE FUNCTION group_data_exposure(g text) RETURNS numeric LANGUAGE sql STABLE AS $$
  SELECT coalesce(sum(data_exposure(m.customer::int)), 0)
  FROM pgcredit.group_member m JOIN pgcredit.credit_group k ON k.id = m.group_id
  WHERE k.id = g OR k.parent = g
$$;
CREATE FUNCTION group_allowed(g text) RETURNS numeric LANGUAGE sql STABLE AS $$
  SELECT credit_limit * (1 + tolerance_pct / 100) FROM pgcredit.credit_group WHERE id = g
$$;
CREATE FUNCTION place_order(c int, amt numeric, cur text DEFAULT 'EUR') RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  oid bigint;
  g text;
  t text;
BEGIN
  INSERT INTO stress_order (customer, amount, currency) VALUES (c, amt, cur) RETURNING id INTO oid;
  SELECT m.group_id, k.parent INTO g, t
  FROM pgcredit.group_member m JOIN pgcredit.credit_group k ON k.id = m.group_id
  WHERE m.customer = c::text;
  INSERT INTO stress_log
  SELECT oid, c, data_exposure(c),
         (SELECT credit_limit * (1 + tolerance_pct / 100) FROM pgcredit.account WHERE customer = c::text),
         g, group_data_exposure(g), group_allowed(g),
         t, group_data_exposure(t), group_allowed(t);
EXCEPTION WHEN SQLSTATE 'PC001' OR SQLSTATE 'PC002' OR SQLSTATE 'PC003' OR SQLSTATE 'PC004'
            OR SQLSTATE 'PC014' THEN
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

-- A reorganisation: a member of a group moves to another group, taking its
-- exposure along, refused (PC014) when the new group cannot carry it.
CREATE TABLE stress_move (customer int, to_group text, sqlstate text);
CREATE FUNCTION move(c int, g int) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  IF c % 5 <> 0 AND NOT EXISTS (SELECT FROM pgcredit.group_member m
                                WHERE m.customer = c::text AND m.group_id = 'G' || g) THEN
    PERFORM pgcredit.join_group(c::text, 'G' || g, 'stress move');
    INSERT INTO stress_move VALUES (c, 'G' || g, NULL);
  END IF;
EXCEPTION WHEN SQLSTATE 'PC014' THEN
  INSERT INTO stress_move VALUES (c, 'G' || g, SQLSTATE);
WHEN invalid_parameter_value THEN
  -- another client moved it to that group first
  INSERT INTO stress_move VALUES (c, 'G' || g, SQLSTATE);
END
$$;

-- A controller changes a customer's limit, up or down, while its orders
-- and moves run: every change copies the account onto the exposure row
-- under that row's lock, and no order may pass on a copy older than the
-- limit it is logged against.
CREATE TABLE stress_limit (customer int, credit_limit numeric);
CREATE FUNCTION relimit(c int, lim numeric) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pgcredit.set_credit_limit(c::text, lim, 'stress limit change');
  INSERT INTO stress_limit VALUES (c, lim);
END
$$;

-- A payment: the customer's oldest open invoice is paid.
CREATE FUNCTION pay(c int) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  UPDATE stress_invoice SET open_amount = 0
  WHERE id = (SELECT id FROM stress_invoice WHERE customer = c AND open_amount > 0 ORDER BY id LIMIT 1);
END
$$;

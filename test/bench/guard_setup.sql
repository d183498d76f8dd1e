-- Ledger for the guard benchmark (test/bench/guard.sh): :rows invoices
-- of 1000 customers, and one empty order table per configuration:
--   g_order_plain     no trigger
--   g_order_plain_fx  no trigger, the columns of the dollar orders'
--                     g_order_fx (guard_group_fx.before.sql): the
--                     same insert as theirs without pgcredit's triggers
--   g_order_pgcredit  pgcredit's guard (block mode, the default checks)
--   g_order_counter   a hand-written PL/pgSQL trigger keeping one counter
--                     row per customer: the honest alternative
--   g_order_summing   a PL/pgSQL trigger summing the customer's open
--                     items and orders on every insert (a straw man whose
--                     cost grows with the ledger; run only on request)
\set ON_ERROR_STOP on
\i test/scratch_db.sql
SET client_min_messages = warning;
-- (the tables of an earlier run are dropped without detaching them, which
-- would read them all: their attachments go first, as a superuser may)
DELETE FROM pgcredit.attachment;
DROP TABLE IF EXISTS g_invoice, g_order_plain, g_order_pgcredit, g_order_counter, g_order_fx,
  g_order_plain_fx, g_order_summing, g_counter, g_limit CASCADE;
DELETE FROM pgcredit.exposure;
DELETE FROM pgcredit.account;

CREATE TABLE g_invoice (id bigserial PRIMARY KEY, customer int NOT NULL,
                        open_amount numeric(12,2) NOT NULL, due date NOT NULL);
INSERT INTO g_invoice (customer, open_amount, due)
SELECT (g::bigint * 7919 % 1000)::int + 1, (g::bigint * 104729 % 10000) / 100.0, date '2024-01-01' + (g % 365)::int
FROM generate_series(1, :rows) AS g;
CREATE INDEX ON g_invoice (customer);

CREATE TABLE g_order_plain (id bigserial PRIMARY KEY, customer int NOT NULL, amount numeric(12,2) NOT NULL);
CREATE TABLE g_order_pgcredit (LIKE g_order_plain INCLUDING ALL);
CREATE TABLE g_order_counter (LIKE g_order_plain INCLUDING ALL);
CREATE TABLE g_order_summing (LIKE g_order_plain INCLUDING ALL);
CREATE INDEX ON g_order_summing (customer);
CREATE TABLE g_order_plain_fx (id bigserial PRIMARY KEY, customer int NOT NULL,
                               amount numeric(12,2) NOT NULL, currency text NOT NULL,
                               placed_on date NOT NULL DEFAULT current_date);

-- Limits high enough that every order passes: the benchmark measures the
-- cost of checking, not of refusing.
SELECT count(*) AS accounts FROM (SELECT pgcredit.open_account(c::text, 1e12) FROM generate_series(1, 1000) c) s;
SELECT pgcredit.attach_receivables('g_invoice', 'customer', 'open_amount', 'due') IS NOT NULL AS attached;
SELECT pgcredit.attach_orders('g_order_pgcredit', 'customer', 'amount') IS NOT NULL AS attached;

-- The counter trigger: one row per customer holding its exposure (its
-- open invoices to start with) and its limit, raised by every order under
-- the row's lock, so that two orders of one customer serialise.  The
-- same fillfactor as pgcredit.exposure, so that the two compare as
-- triggers, not as table layouts.
CREATE TABLE g_counter (customer int PRIMARY KEY, exposure numeric NOT NULL,
                        credit_limit numeric NOT NULL) WITH (fillfactor = 50);
INSERT INTO g_counter
SELECT c, coalesce((SELECT sum(open_amount) FROM g_invoice i WHERE i.customer = c), 0), 1e12
FROM generate_series(1, 1000) c;

CREATE FUNCTION g_counter_check() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  new_exposure numeric;
  lim numeric;
BEGIN
  UPDATE g_counter SET exposure = exposure + NEW.amount WHERE customer = NEW.customer
  RETURNING exposure, credit_limit INTO new_exposure, lim;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'customer % has no credit account', NEW.customer;
  END IF;
  IF new_exposure > lim THEN
    RAISE EXCEPTION 'order for customer % exceeds its credit limit', NEW.customer;
  END IF;
  RETURN NEW;
END
$$;
CREATE TRIGGER g_check BEFORE INSERT ON g_order_counter FOR EACH ROW EXECUTE FUNCTION g_counter_check();

-- The summing trigger: locks the customer's limit row, then sums its
-- open invoices and orders
CREATE TABLE g_limit (customer int PRIMARY KEY, credit_limit numeric NOT NULL);
INSERT INTO g_limit SELECT c, 1e12 FROM generate_series(1, 1000) c;
CREATE FUNCTION g_summing_check() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  exposure numeric;
  lim numeric;
BEGIN
  SELECT credit_limit INTO lim FROM g_limit WHERE customer = NEW.customer FOR UPDATE;
  SELECT coalesce((SELECT sum(open_amount) FROM g_invoice WHERE customer = NEW.customer), 0)
       + coalesce((SELECT sum(amount) FROM g_order_summing WHERE customer = NEW.customer), 0)
       + NEW.amount INTO exposure;
  IF exposure > lim THEN
    RAISE EXCEPTION 'order for customer % exceeds its credit limit', NEW.customer;
  END IF;
  RETURN NEW;
END
$$;
CREATE TRIGGER g_check BEFORE INSERT ON g_order_summing FOR EACH ROW EXECUTE FUNCTION g_summing_check();
VACUUM ANALYZE;
CHECKPOINT;

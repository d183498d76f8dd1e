-- Ledger for the guard benchmark: :rows invoices of 1000 customers, and
-- three empty order tables: without a trigger, with pgcredit's guard, and
-- with a typical PL/pgSQL trigger summing the customer's open items and
-- orders on every insert.
\set ON_ERROR_STOP on
\i test/scratch_db.sql
SET client_min_messages = warning;
-- (the tables of an earlier run are dropped without detaching them, which
-- would read them all: their attachments go first, as a superuser may)
DELETE FROM pgcredit.attachment;
DROP TABLE IF EXISTS g_invoice, g_order_plain, g_order_pgcredit, g_order_plpgsql, g_limit CASCADE;
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
CREATE TABLE g_order_plpgsql (LIKE g_order_plain INCLUDING ALL);
CREATE INDEX ON g_order_plpgsql (customer);
VACUUM ANALYZE;

-- Limits high enough that every order passes: the benchmark measures the
-- cost of checking, not of refusing.
SELECT count(*) AS accounts FROM (SELECT pgcredit.open_account(c::text, 1e12) FROM generate_series(1, 1000) c) s;
CREATE TABLE g_limit (customer int PRIMARY KEY, credit_limit numeric NOT NULL);
INSERT INTO g_limit SELECT c, 1e12 FROM generate_series(1, 1000) c;
SELECT pgcredit.attach_receivables('g_invoice', 'customer', 'open_amount', 'due') IS NOT NULL AS attached;
SELECT pgcredit.attach_orders('g_order_pgcredit', 'customer', 'amount') IS NOT NULL AS attached;

CREATE OR REPLACE FUNCTION g_plpgsql_check() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  exposure numeric;
  lim numeric;
BEGIN
  SELECT credit_limit INTO lim FROM g_limit WHERE customer = NEW.customer FOR UPDATE;
  SELECT coalesce((SELECT sum(open_amount) FROM g_invoice WHERE customer = NEW.customer), 0)
       + coalesce((SELECT sum(amount) FROM g_order_plpgsql WHERE customer = NEW.customer), 0)
       + NEW.amount INTO exposure;
  IF exposure > lim THEN
    RAISE EXCEPTION 'order for customer % exceeds its credit limit', NEW.customer;
  END IF;
  RETURN NEW;
END
$$;
CREATE TRIGGER g_check BEFORE INSERT ON g_order_plpgsql FOR EACH ROW EXECUTE FUNCTION g_plpgsql_check();
CHECKPOINT;

-- The guard's cost per order with a horizon (doc/performance.md, "Orders
-- beyond the horizon"): 100,000-row INSERT ... SELECT into a table not
-- attached, one attached without a horizon, one with a 30-day horizon
-- and every order within it, and one with every order beyond it, three
-- times in the same run, over 1000 customers without accounts.  Run in
-- a fresh database where the extension was just created:
--   psql -X -f test/bench/horizon.sql
-- It ends with the checks that exposure and the buckets match the tables.
\set QUIET on
SET client_min_messages = warning;
\timing on
DO $$
BEGIN
  FOR i IN 1..3 LOOP
    EXECUTE format('CREATE TABLE none_%s (id int, customer text, amount numeric(12,2), deliver date)', i);
    EXECUTE format('CREATE TABLE plain_%s (id int, customer text, amount numeric(12,2), deliver date)', i);
    EXECUTE format('CREATE TABLE within_%s (id int, customer text, amount numeric(12,2), deliver date)', i);
    EXECUTE format('CREATE TABLE beyond_%s (id int, customer text, amount numeric(12,2), deliver date)', i);
    PERFORM pgcredit.attach_orders(format('plain_%s', i)::regclass, 'customer', 'amount');
    PERFORM pgcredit.attach_orders(format('within_%s', i)::regclass, 'customer', 'amount',
                                   delivery_column => 'deliver', horizon_days => 30);
    PERFORM pgcredit.attach_orders(format('beyond_%s', i)::regclass, 'customer', 'amount',
                                   delivery_column => 'deliver', horizon_days => 30);
  END LOOP;
END $$;
-- warm the exposure rows of the 1000 customers
INSERT INTO plain_1 SELECT g, 'C' || (g % 1000), 1, NULL FROM generate_series(1, 1000) g;
DELETE FROM plain_1;
\echo run 1
INSERT INTO none_1 SELECT g, 'C' || (g % 1000), 1, current_date + (g % 20) FROM generate_series(1, 100000) g;
INSERT INTO plain_1 SELECT g, 'C' || (g % 1000), 1, current_date + (g % 20) FROM generate_series(1, 100000) g;
INSERT INTO within_1 SELECT g, 'C' || (g % 1000), 1, current_date + (g % 20) FROM generate_series(1, 100000) g;
INSERT INTO beyond_1 SELECT g, 'C' || (g % 1000), 1, current_date + 40 + (g % 20) FROM generate_series(1, 100000) g;
\echo run 2
INSERT INTO none_2 SELECT g, 'C' || (g % 1000), 1, current_date + (g % 20) FROM generate_series(1, 100000) g;
INSERT INTO plain_2 SELECT g, 'C' || (g % 1000), 1, current_date + (g % 20) FROM generate_series(1, 100000) g;
INSERT INTO within_2 SELECT g, 'C' || (g % 1000), 1, current_date + (g % 20) FROM generate_series(1, 100000) g;
INSERT INTO beyond_2 SELECT g, 'C' || (g % 1000), 1, current_date + 40 + (g % 20) FROM generate_series(1, 100000) g;
\echo run 3
INSERT INTO none_3 SELECT g, 'C' || (g % 1000), 1, current_date + (g % 20) FROM generate_series(1, 100000) g;
INSERT INTO plain_3 SELECT g, 'C' || (g % 1000), 1, current_date + (g % 20) FROM generate_series(1, 100000) g;
INSERT INTO within_3 SELECT g, 'C' || (g % 1000), 1, current_date + (g % 20) FROM generate_series(1, 100000) g;
INSERT INTO beyond_3 SELECT g, 'C' || (g % 1000), 1, current_date + 40 + (g % 20) FROM generate_series(1, 100000) g;
\timing off
SELECT count(*) AS exposure_mismatches FROM pgcredit.verify_exposure();
SELECT count(*) AS horizon_mismatches FROM pgcredit.verify_order_horizon();
SELECT count(*) AS buckets, sum(items) AS beyond_orders FROM pgcredit.order_horizon;

-- Exposure categories: every attachment feeds one (orders and invoices
-- built in, or the company's own), kept apart in exposure; optional
-- sub-limits per category refuse (PC018) or hold an order that takes
-- the customer's exposure in it past the sub-limit.
\set SHOW_CONTEXT never

SELECT name, kind, built_in FROM pgcredit.exposure_category ORDER BY name;

CREATE TABLE cat_order (
  id        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  customer  text,
  amount    numeric(12,2) NOT NULL
);
CREATE TABLE cat_delivery (
  id        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  customer  text,
  amount    numeric(12,2) NOT NULL,
  status    text NOT NULL DEFAULT 'open'
);
CREATE TABLE cat_invoice (
  id        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  customer  text,
  amount    numeric(12,2) NOT NULL
);
CREATE TABLE cat_contract (
  id        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  customer  text,
  amount    numeric(12,2) NOT NULL
);

-- Company categories, audited
SELECT name, kind, description, built_in FROM pgcredit.add_category('deliveries', 'orders', 'goods shipped, not yet invoiced');
SELECT name, kind, built_in FROM pgcredit.add_category('service_contracts', 'receivables');
SELECT action, new_value->>'name' AS name, new_value->>'kind' AS kind FROM pgcredit.audit_log
WHERE action = 'add_category' ORDER BY id;

-- Bad input: every one refused, nothing changed
\set VERBOSITY terse
SELECT pgcredit.add_category('deliveries', 'orders');
SELECT pgcredit.add_category('orders', 'orders');
SELECT pgcredit.add_category(NULL, 'orders');
SELECT pgcredit.add_category('x', NULL);
SELECT pgcredit.add_category('Deliveries', 'orders');
SELECT pgcredit.add_category('', 'orders');
SELECT pgcredit.add_category('9lives', 'orders');
SELECT pgcredit.add_category(repeat('a', 64), 'orders');
SELECT pgcredit.add_category('x', 'payments');
\set VERBOSITY default
SELECT count(*) AS categories FROM pgcredit.exposure_category;

-- Attaching: the default category, a company one, refusals
SELECT relid, category FROM pgcredit.attach_orders('cat_order', 'customer', 'amount');
SELECT relid, category FROM pgcredit.attach_receivables('cat_invoice', 'customer', 'amount');
\set VERBOSITY terse
SELECT relid FROM pgcredit.attach_orders('cat_delivery', 'customer', 'amount', category => 'nope');
SELECT relid FROM pgcredit.attach_orders('cat_delivery', 'customer', 'amount', category => 'invoices');
SELECT relid FROM pgcredit.attach_orders('cat_delivery', 'customer', 'amount', category => 'service_contracts');
SELECT relid FROM pgcredit.attach_receivables('cat_contract', 'customer', 'amount', category => 'deliveries');
\set VERBOSITY default
SELECT count(*) AS attached FROM pgcredit.attachment;
-- rows already in a table count in its category when it is attached
INSERT INTO cat_delivery (customer, amount) VALUES ('cat-a', 40), ('cat-b', 15);
INSERT INTO cat_delivery (customer, amount, status) VALUES ('cat-a', 1000, 'invoiced');
SELECT relid, category FROM pgcredit.attach_orders('cat_delivery', 'customer', 'amount', 'status', '{open}',
                                                   category => 'deliveries');
SELECT relid, category FROM pgcredit.attach_receivables('cat_contract', 'customer', 'amount',
                                                        category => 'service_contracts');
SELECT customer, category, amount FROM pgcredit.category_exposure ORDER BY 1, 2;

-- Activity in every table: the totals stay exposure's columns
SELECT customer FROM pgcredit.open_account('cat-a', 1000);
SELECT customer FROM pgcredit.open_account('cat-b', 1000);
INSERT INTO cat_order (customer, amount) VALUES ('cat-a', 100), ('cat-b', 50);
INSERT INTO cat_delivery (customer, amount) VALUES ('cat-a', 60);
INSERT INTO cat_invoice (customer, amount) VALUES ('cat-a', 200);
INSERT INTO cat_contract (customer, amount) VALUES ('cat-a', 30), ('cat-b', 70);
SELECT customer, receivables, open_orders FROM pgcredit.exposure WHERE customer LIKE 'cat-%' ORDER BY customer;
SELECT customer, category, amount FROM pgcredit.category_exposure ORDER BY 1, 2;
-- what the exposure is made of: the amounts of a customer add up to it
SELECT customer, category, kind, amount, sub_limit, tolerance_pct, headroom, day = current_date AS today
FROM pgcredit.exposure_breakdown WHERE customer LIKE 'cat-%' ORDER BY customer, kind, category;
SELECT b.customer, sum(b.amount) AS breakdown, e.receivables + e.open_orders AS exposure
FROM pgcredit.exposure_breakdown b JOIN pgcredit.exposure e USING (customer)
WHERE customer LIKE 'cat-%'
GROUP BY b.customer, e.receivables, e.open_orders ORDER BY 1;
SELECT category, kind, built_in, amount, customers, customers_over_sub_limit, day = current_date AS today
FROM pgcredit.category_totals ORDER BY kind, category;

-- Sub-limits: bad input refused, nothing changed
\set VERBOSITY terse
SELECT pgcredit.set_category_limit('deliveries', -1, 'r');
SELECT pgcredit.set_category_limit('deliveries', 'NaN', 'r');
SELECT pgcredit.set_category_limit('deliveries', 'Infinity', 'r');
SELECT pgcredit.set_category_limit('deliveries', '-Infinity', 'r');
SELECT pgcredit.set_category_limit('deliveries', 100, 'r', tolerance_pct => -1);
SELECT pgcredit.set_category_limit('deliveries', 100, 'r', tolerance_pct => 'NaN');
SELECT pgcredit.set_category_limit('deliveries', 100, NULL);
SELECT pgcredit.set_category_limit('deliveries', 100, ' ');
SELECT pgcredit.set_category_limit(NULL, 100, 'r');
SELECT pgcredit.set_category_limit('nope', 100, 'r');
SELECT pgcredit.set_category_limit('service_contracts', 100, 'r');
SELECT pgcredit.set_category_limit('deliveries', 100, 'r', repeat('k', 1001));
\set VERBOSITY default
SELECT count(*) AS sub_limits FROM pgcredit.category_limit;

-- A default sub-limit of 120 on deliveries, and 200 for B; audited
SELECT category, customer, credit_limit, tolerance_pct
FROM pgcredit.set_category_limit('deliveries', 120, 'deliveries are unsecured');
SELECT category, customer, credit_limit, tolerance_pct
FROM pgcredit.set_category_limit('deliveries', 190, 'long-standing customer', 'cat-b', 10);
-- a tolerance not given stays as it is, as set_group_limit keeps a group's
SELECT category, customer, credit_limit, tolerance_pct
FROM pgcredit.set_category_limit('deliveries', 200, 'long-standing customer', 'cat-b');
SELECT action, customer, old_value, new_value, reason FROM pgcredit.audit_log
WHERE action = 'set_category_limit' ORDER BY id;
SELECT customer, category, amount, sub_limit, tolerance_pct, headroom
FROM pgcredit.exposure_breakdown WHERE category = 'deliveries' ORDER BY customer;

-- A has 100 in deliveries: 20 more pass, 21 do not (PC018), whatever the credit limit says
SELECT verdict, kind, sqlstate, reason FROM pgcredit.check_order('cat-a', 21, 'cat_delivery');
INSERT INTO cat_delivery (customer, amount) VALUES ('cat-a', 21);
\echo :LAST_ERROR_SQLSTATE
SELECT verdict, kind, sqlstate FROM pgcredit.check_order('cat-a', 20, 'cat_delivery');
INSERT INTO cat_delivery (customer, amount) VALUES ('cat-a', 20);
-- the same order in the orders table is not a delivery
SELECT verdict, kind FROM pgcredit.check_order('cat-a', 21, 'cat_order');
SELECT verdict FROM pgcredit.check_order('cat-a', 21);
INSERT INTO cat_order (customer, amount) VALUES ('cat-a', 21);
-- B's own sub-limit of 200 with 10% tolerance: 220 in all
SELECT verdict, kind FROM pgcredit.check_order('cat-b', 206, 'cat_delivery');
INSERT INTO cat_delivery (customer, amount) VALUES ('cat-b', 206);
\echo :LAST_ERROR_SQLSTATE
INSERT INTO cat_delivery (customer, amount) VALUES ('cat-b', 205);
-- a lower order, a cancellation, a credit: no check
UPDATE cat_delivery SET amount = amount - 5 WHERE customer = 'cat-b' AND amount = 205;
INSERT INTO cat_delivery (customer, amount) VALUES ('cat-b', -10);
-- raising an order past the sub-limit is refused
UPDATE cat_delivery SET amount = amount + 100 WHERE customer = 'cat-a' AND amount = 20;
\echo :LAST_ERROR_SQLSTATE
-- taking a credit out raises exposure: refused too, with its own message
INSERT INTO cat_delivery (customer, amount) VALUES ('cat-a', -50);
INSERT INTO cat_delivery (customer, amount) VALUES ('cat-a', 50);
DELETE FROM cat_delivery WHERE customer = 'cat-a' AND amount = -50;
\echo :LAST_ERROR_SQLSTATE

-- A sub-limit on a built-in category: orders in cat_order, not the deliveries
SELECT category, customer, credit_limit FROM pgcredit.set_category_limit('orders', 150, 'r', 'cat-a');
SELECT customer, category, amount, sub_limit, headroom FROM pgcredit.exposure_breakdown
WHERE customer = 'cat-a' AND kind = 'orders' ORDER BY category;
SELECT verdict, kind, sqlstate FROM pgcredit.check_order('cat-a', 30, 'cat_order');
INSERT INTO cat_order (customer, amount) VALUES ('cat-a', 30);
\echo :LAST_ERROR_SQLSTATE
SELECT verdict FROM pgcredit.check_order('cat-a', 29, 'cat_order');
INSERT INTO cat_order (customer, amount) VALUES ('cat-a', 29);

-- Override: a controller's override_block covers the sub-limit too
BEGIN;
SELECT pgcredit.override_block('cat-a', 'one delivery past the sub-limit');
INSERT INTO cat_delivery (customer, amount) VALUES ('cat-a', 5);
SELECT amount FROM pgcredit.category_exposure WHERE customer = 'cat-a' AND category = 'deliveries';
ROLLBACK;

-- Hold mode holds, as for the credit limit; the held order leaves the category
CREATE TABLE cat_delivery_held (
  id        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  customer  text,
  amount    numeric(12,2) NOT NULL,
  on_hold   boolean NOT NULL DEFAULT false
);
SELECT relid, category FROM pgcredit.attach_orders('cat_delivery_held', 'customer', 'amount', mode => 'hold',
                                                   hold_column => 'on_hold', category => 'deliveries');
SELECT verdict, kind FROM pgcredit.check_order('cat-a', 5, 'cat_delivery_held');
INSERT INTO cat_delivery_held (customer, amount) VALUES ('cat-a', 5) RETURNING on_hold;
SELECT customer, amount, why FROM pgcredit.held_order WHERE released_at IS NULL ORDER BY id;
SELECT amount FROM pgcredit.category_exposure WHERE customer = 'cat-a' AND category = 'deliveries';
-- once the sub-limit is raised, the order is released into the category
SELECT category, customer, credit_limit FROM pgcredit.set_category_limit('deliveries', 125, 'r', 'cat-a');
SELECT (pgcredit.release_held_order(id, 'sub-limit raised')).released_at IS NOT NULL AS released
FROM pgcredit.held_order WHERE released_at IS NULL;
SELECT amount FROM pgcredit.category_exposure WHERE customer = 'cat-a' AND category = 'deliveries';
-- removing a sub-limit lets A fall back to the default
SELECT pgcredit.set_category_limit('deliveries', NULL, 'r', 'cat-a') IS NULL AS removed;
SELECT customer, sub_limit, headroom FROM pgcredit.exposure_breakdown
WHERE category = 'deliveries' AND customer = 'cat-a';

-- Mixed activity: amount, customer and state changes, deletes, a
-- customer key NULL, a row never stored; the category rows stay right
UPDATE cat_delivery SET customer = 'cat-c' WHERE customer = 'cat-b' AND amount = 15;
UPDATE cat_delivery SET status = 'invoiced' WHERE customer = 'cat-a' AND amount = 60;
UPDATE cat_delivery SET status = 'open' WHERE customer = 'cat-a' AND amount = 1000;
\echo :LAST_ERROR_SQLSTATE
UPDATE cat_contract SET amount = amount * 2 WHERE customer = 'cat-b';
UPDATE cat_contract SET customer = NULL WHERE customer = 'cat-a';
DELETE FROM cat_delivery WHERE customer = 'cat-c';
INSERT INTO cat_delivery (customer, amount) VALUES ('cat-d', 50) ON CONFLICT DO NOTHING;
INSERT INTO cat_delivery (id, customer, amount) OVERRIDING SYSTEM VALUE
  VALUES ((SELECT min(id) FROM cat_delivery), 'cat-e', 1) ON CONFLICT (id) DO NOTHING;
BEGIN;
INSERT INTO cat_delivery (customer, amount) VALUES ('cat-f', 1);
SAVEPOINT s;
INSERT INTO cat_delivery (customer, amount) VALUES ('cat-f', 2);
ROLLBACK TO s;
COMMIT;
SELECT customer, category, amount FROM pgcredit.category_exposure ORDER BY 1, 2;
SELECT * FROM pgcredit.verify_exposure();
SELECT * FROM pgcredit.verify_category_exposure();
SELECT b.customer, sum(b.amount) = e.receivables + e.open_orders AS adds_up
FROM pgcredit.exposure_breakdown b JOIN pgcredit.exposure e USING (customer)
WHERE customer LIKE 'cat-%'
GROUP BY b.customer, e.receivables, e.open_orders ORDER BY 1;

-- rebuild_exposure repairs a category row, verify_category_exposure sees it
UPDATE pgcredit.category_exposure SET amount = amount + 7 WHERE customer = 'cat-a' AND category = 'deliveries';
DELETE FROM pgcredit.category_exposure WHERE customer = 'cat-b' AND category = 'service_contracts';
SELECT * FROM pgcredit.verify_category_exposure();
SELECT pgcredit.rebuild_exposure() AS fixed;
SELECT * FROM pgcredit.verify_category_exposure();

-- Detach and attach again keep the category rows right
SELECT relid FROM pgcredit.detach('cat_delivery');
SELECT customer, category, amount FROM pgcredit.category_exposure WHERE category = 'deliveries' ORDER BY 1;
SELECT * FROM pgcredit.verify_category_exposure();
SELECT relid, category FROM pgcredit.attach_orders('cat_delivery', 'customer', 'amount', 'status', '{open}',
                                                   category => 'deliveries');
SELECT * FROM pgcredit.verify_exposure();
SELECT * FROM pgcredit.verify_category_exposure();
SELECT category, kind, built_in, amount, customers, customers_over_sub_limit, day = current_date AS today
FROM pgcredit.category_totals ORDER BY kind, category;

-- A partitioned table of a company category: rows moving between
-- partitions (and customers) and TRUNCATE keep its rows right
CREATE TABLE cat_part (id int, region text NOT NULL, customer text, amount numeric(12,2) NOT NULL,
                       PRIMARY KEY (id, region)) PARTITION BY LIST (region);
CREATE TABLE cat_part_n PARTITION OF cat_part FOR VALUES IN ('n');
CREATE TABLE cat_part_s PARTITION OF cat_part FOR VALUES IN ('s');
SELECT relid, category FROM pgcredit.attach_orders('cat_part', 'customer', 'amount', category => 'deliveries');
INSERT INTO cat_part VALUES (1, 'n', 'cat-g', 10), (2, 'n', 'cat-g', 20), (3, 's', 'cat-h', 5);
UPDATE cat_part SET region = 's' WHERE id = 1;
UPDATE cat_part SET region = 's', customer = 'cat-h' WHERE id = 2;
UPDATE cat_part SET region = 'n', amount = 7 WHERE id = 3;
SELECT customer, category, amount FROM pgcredit.category_exposure WHERE customer IN ('cat-g', 'cat-h') ORDER BY 1;
SELECT * FROM pgcredit.verify_category_exposure();
TRUNCATE cat_part;
SELECT customer, category, amount FROM pgcredit.category_exposure WHERE customer IN ('cat-g', 'cat-h') ORDER BY 1;
SELECT * FROM pgcredit.verify_category_exposure();
SELECT * FROM pgcredit.verify_exposure();

-- A table of a built-in category writes no category row
SELECT count(*) AS category_rows_before FROM pgcredit.category_exposure;
INSERT INTO cat_order (customer, amount) VALUES ('cat-z', 1);
INSERT INTO cat_invoice (customer, amount) VALUES ('cat-z', 1);
SELECT count(*) AS category_rows_after FROM pgcredit.category_exposure;

-- Rights: only pgcredit_admin adds categories, only controllers set sub-limits
CREATE ROLE regress_cat_sales IN ROLE pgcredit_sales;
CREATE ROLE regress_cat_reader IN ROLE pgcredit_reader;
CREATE ROLE regress_cat_controller IN ROLE pgcredit_controller;
SET ROLE regress_cat_reader;
\set VERBOSITY terse
SELECT pgcredit.add_category('sneaky', 'orders');
SELECT pgcredit.set_category_limit('deliveries', 1000000, 'r');
INSERT INTO pgcredit.category_limit (category, credit_limit) VALUES ('orders', 1);
UPDATE pgcredit.category_exposure SET amount = 0;
SELECT count(*) > 0 AS reads_breakdown FROM pgcredit.exposure_breakdown;
RESET ROLE;
SET ROLE regress_cat_sales;
SELECT pgcredit.set_category_limit('deliveries', 1000000, 'r');
SELECT count(*) FROM pgcredit.exposure_breakdown;
RESET ROLE;
SET ROLE regress_cat_controller;
SELECT pgcredit.add_category('sneaky', 'orders');
SELECT credit_limit FROM pgcredit.set_category_limit('deliveries', 130, 'controller');
UPDATE pgcredit.exposure_category SET kind = 'receivables' WHERE name = 'deliveries';
\set VERBOSITY default
RESET ROLE;
SELECT count(*) AS categories FROM pgcredit.exposure_category;
DROP ROLE regress_cat_sales, regress_cat_reader, regress_cat_controller;

-- Leave nothing behind for the files after this one
SELECT (pgcredit.detach(t)).relid FROM unnest(ARRAY['cat_order', 'cat_delivery', 'cat_invoice', 'cat_contract', 'cat_delivery_held', 'cat_part']::regclass[]) t;
DROP TABLE cat_order, cat_delivery, cat_invoice, cat_contract, cat_delivery_held, cat_part;
DELETE FROM pgcredit.category_limit;
DELETE FROM pgcredit.category_exposure;
DELETE FROM pgcredit.exposure_category WHERE NOT built_in;
DELETE FROM pgcredit.held_order WHERE customer LIKE 'cat-%';
ALTER TABLE pgcredit.held_order ALTER COLUMN id RESTART;
DELETE FROM pgcredit.alert WHERE customer LIKE 'cat-%';
DELETE FROM pgcredit.override WHERE customer LIKE 'cat-%';
DELETE FROM pgcredit.exposure WHERE customer LIKE 'cat-%';
DELETE FROM pgcredit.account WHERE customer LIKE 'cat-%';
DELETE FROM pgcredit.audit_log WHERE customer LIKE 'cat-%'
  OR action IN ('add_category', 'set_category_limit', 'attach_orders', 'attach_receivables', 'detach', 'rebuild_exposure');
SELECT * FROM pgcredit.verify_exposure();

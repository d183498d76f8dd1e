-- check_order(..., prepaid): an order's prepaid or secured part uses no
-- credit, as the guard takes an attached prepaid column off the amount.
-- The verdict for each order is compared with what inserting it does.
\set SHOW_CONTEXT never
SET client_min_messages = warning;
SELECT setval('pgcredit.credit_rule_id_seq', 100, false);
-- the held orders undone below use up hold numbers: put them back after
SELECT last_value AS hold_last, is_called AS hold_called FROM pgcredit.held_order_id_seq \gset

CREATE TABLE cp_order (id serial PRIMARY KEY, customer text NOT NULL, amount numeric(12,2) NOT NULL,
                       prepaid numeric(12,2));
CREATE TABLE cp_held (id serial PRIMARY KEY, customer text NOT NULL, amount numeric(12,2) NOT NULL,
                      prepaid numeric(12,2), held boolean NOT NULL DEFAULT false);
CREATE TABLE cp_plain (id serial PRIMARY KEY, customer text NOT NULL, amount numeric(12,2) NOT NULL);
SELECT kind, mode, prepaid_column FROM pgcredit.attach_orders('cp_order', 'customer', 'amount', prepaid_column => 'prepaid');
SELECT kind, mode, prepaid_column FROM pgcredit.attach_orders('cp_held', 'customer', 'amount', mode => 'hold',
                                                              hold_column => 'held', prepaid_column => 'prepaid');
SELECT kind, mode FROM pgcredit.attach_orders('cp_plain', 'customer', 'amount');
SELECT customer, credit_limit FROM pgcredit.open_account('CP1', 1000);
SELECT customer, credit_limit FROM pgcredit.open_account('CP2', 1000);
INSERT INTO cp_order (customer, amount, prepaid) VALUES ('CP1', 500, 100);   -- uses 400
SELECT status FROM pgcredit.set_status('CP2', 'blocked', 'no credit at all');
-- orders using more than 650 of credit are refused for CP1
SELECT id FROM pgcredit.add_rule('largest_order', 'refuse', 'big credit orders', scope => 'customer',
                                 scope_value => 'CP1', amount => 650);

-- What inserting an order does, undone afterwards: pass, hold, or the
-- refusal's SQLSTATE
CREATE FUNCTION cp_insert(tab text, cust text, amount numeric, prepaid numeric) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
  outcome text;
  held boolean;
BEGIN
  BEGIN
    IF tab = 'cp_held' THEN
      INSERT INTO cp_held (customer, amount, prepaid) VALUES (cust, amount, prepaid) RETURNING cp_held.held INTO held;
    ELSE
      EXECUTE format('INSERT INTO %I (customer, amount, prepaid) VALUES ($1, $2, $3)', tab) USING cust, amount, prepaid;
      held := false;
    END IF;
    outcome := CASE WHEN held THEN 'hold' ELSE 'pass' END;
    RAISE SQLSTATE 'P0001' USING MESSAGE = 'undo';
  EXCEPTION WHEN OTHERS THEN
    IF outcome IS NULL THEN
      outcome := 'refuse ' || SQLSTATE;
    END IF;
  END;
  RETURN outcome;
END
$$;

-- CP1 has 600 of credit left; each order is judged by check_order, then
-- inserted (and undone) into the block-mode and the hold-mode table
CREATE TEMP TABLE cp_case (n serial, customer text, amount numeric, prepaid numeric);
INSERT INTO cp_case (customer, amount, prepaid) VALUES
  ('CP1', 700, 0),       -- 700 of credit: larger than the largest order
  ('CP1', 700, NULL),    -- NULL is 0
  ('CP1', 700, 100),     -- 600: exactly the credit left
  ('CP1', 700, 99),      -- 601: over the limit
  ('CP1', 900, 400),     -- 500: the whole order is larger than 650, its credit part is not
  ('CP1', 900, 249.99),  -- 650.01: larger than the largest order
  ('CP1', 2000, 2000),   -- paid in full: no credit
  ('CP1', 300, 5000),    -- more than paid: no credit, never below 0
  ('CP1', 0, 0),
  ('CP2', 50, 50),       -- blocked, but no credit is used
  ('CP2', 50, 49.99);    -- blocked
SELECT c.n, c.customer, c.amount, c.prepaid, t.tab,
       k.verdict || coalesce(' ' || k.sqlstate, '') AS check_order,
       cp_insert(t.tab, c.customer, c.amount, c.prepaid) AS insert,
       k.exposure, k.credit_available
FROM cp_case c, (VALUES ('cp_order'), ('cp_held')) AS t(tab),
     LATERAL pgcredit.check_order(c.customer, c.amount, t.tab::regclass, c.prepaid) AS k
ORDER BY c.n, t.tab DESC;
-- the same verdict for every order
SELECT count(*) AS orders,
       count(*) FILTER (WHERE CASE WHEN k.verdict = 'refuse' THEN 'refuse ' || k.sqlstate ELSE k.verdict END
                              = cp_insert(t.tab, c.customer, c.amount, c.prepaid)) AS same_verdict
FROM cp_case c, (VALUES ('cp_order'), ('cp_held')) AS t(tab),
     LATERAL pgcredit.check_order(c.customer, c.amount, t.tab::regclass, c.prepaid) AS k;
-- nothing was kept
SELECT customer, open_orders FROM pgcredit.exposure WHERE customer IN ('CP1', 'CP2') ORDER BY customer;
SELECT count(*) AS rows FROM cp_held;

-- without order_table the prepaid part is taken as given
SELECT verdict, exposure, credit_available FROM pgcredit.check_order('CP1', 700, prepaid => 100);
SELECT verdict, sqlstate FROM pgcredit.check_order('CP1', 700, prepaid => 99);

-- refused prepaid parts: the guard's errors, before anything is read
SELECT verdict FROM pgcredit.check_order('CP1', 10, 'cp_order', -1);
SELECT cp_insert('cp_order', 'CP1', 10, -1);
SELECT verdict FROM pgcredit.check_order('CP1', 10, 'cp_order', 'NaN');
SELECT cp_insert('cp_order', 'CP1', 10, 'NaN');
SELECT verdict FROM pgcredit.check_order('CP1', 10, prepaid => 'Infinity');
\echo :LAST_ERROR_SQLSTATE
-- as in the guard, the prepaid part of an order of 0 is not looked at
SELECT verdict FROM pgcredit.check_order('CP1', 0, 'cp_order', -1);
SELECT cp_insert('cp_order', 'CP1', 0, -1);

-- a table without a prepaid column would use credit for the whole
-- amount: a prepaid part for it is an error; 0 or NULL is none
SELECT verdict FROM pgcredit.check_order('CP1', 700, 'cp_plain', 100);
\echo :LAST_ERROR_SQLSTATE
SELECT verdict, sqlstate FROM pgcredit.check_order('CP1', 700, 'cp_plain', 0);
SELECT verdict, sqlstate FROM pgcredit.check_order('CP1', 700, 'cp_plain', NULL);

SELECT relid FROM pgcredit.detach('cp_order');
SELECT relid FROM pgcredit.detach('cp_held');
SELECT relid FROM pgcredit.detach('cp_plain');
DROP TABLE cp_order, cp_held, cp_plain;
DROP FUNCTION cp_insert(text, text, numeric, numeric);
DELETE FROM pgcredit.credit_rule WHERE NOT builtin;
DELETE FROM pgcredit.rule_trial;
DELETE FROM pgcredit.held_order WHERE customer IN ('CP1', 'CP2');
DELETE FROM pgcredit.alert WHERE customer IN ('CP1', 'CP2');
DELETE FROM pgcredit.audit_log WHERE customer IN ('CP1', 'CP2') OR action IN ('attach_orders', 'detach') OR action LIKE '%rule%';
DELETE FROM pgcredit.exposure WHERE customer IN ('CP1', 'CP2');
DELETE FROM pgcredit.account WHERE customer IN ('CP1', 'CP2');
SELECT setval('pgcredit.held_order_id_seq', :hold_last, :'hold_called') IS NOT NULL AS restored;

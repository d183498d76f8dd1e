-- The fields of the guard's errors that an application reads without
-- parsing the message: schema, table (the attached table, also for a row
-- that lands in a partition), column (its amount column) and constraint
-- (the rule that decided, pgcredit_rule_<id>, or pgcredit_group_limit).
\set SHOW_CONTEXT never
SET client_min_messages = warning;

CREATE SCHEMA ef_shop;
CREATE TABLE ef_shop.web_order (id int, customer text NOT NULL, total numeric(12,2) NOT NULL)
  PARTITION BY RANGE (id);
CREATE TABLE ef_shop.web_order_1 PARTITION OF ef_shop.web_order FOR VALUES FROM (0) TO (1000);
SELECT kind FROM pgcredit.attach_orders('ef_shop.web_order', 'customer', 'total');
SELECT customer FROM pgcredit.open_account('EF1', 100, reason => 'error fields');
SELECT customer FROM pgcredit.open_account('EF2', 1000, reason => 'error fields');
SELECT customer, status FROM pgcredit.place_hold('EF2', 'error fields');
SELECT customer FROM pgcredit.open_account('EF3', 1000, reason => 'error fields');
SELECT id FROM pgcredit.create_group('EF-GROUP', 50);
SELECT pgcredit.join_group('EF3', 'EF-GROUP', 'error fields');

-- An insert, and what an application's driver receives
CREATE FUNCTION pg_temp.fields(statement text,
  OUT code text, OUT schema_name text, OUT table_name text, OUT column_name text,
  OUT constraint_name text)
LANGUAGE plpgsql AS $$
BEGIN
  EXECUTE statement;
  code := 'no error';
EXCEPTION WHEN OTHERS THEN
  GET STACKED DIAGNOSTICS code = RETURNED_SQLSTATE, schema_name = SCHEMA_NAME,
    table_name = TABLE_NAME, column_name = COLUMN_NAME, constraint_name = CONSTRAINT_NAME;
END
$$;

-- over the limit: the built-in credit limit rule
SELECT * FROM pg_temp.fields($$INSERT INTO ef_shop.web_order VALUES (1, 'EF1', 150)$$);
SELECT id, kind FROM pgcredit.credit_rule WHERE kind = 'credit_limit' AND builtin;
-- on hold: the built-in account status rule
SELECT * FROM pg_temp.fields($$INSERT INTO ef_shop.web_order VALUES (2, 'EF2', 10)$$);
SELECT id, kind FROM pgcredit.credit_rule WHERE kind = 'account_status' AND builtin;
-- a rule of the company's own
SELECT name FROM pgcredit.add_rule('largest_order', 'refuse', 'orders above 500 need a person',
                                   amount => 500, name => 'ef largest order');
SELECT code, schema_name, table_name, column_name,
       constraint_name = 'pgcredit_rule_' || (SELECT id FROM pgcredit.credit_rule WHERE name = 'ef largest order')
         AS names_the_rule
FROM pg_temp.fields($$INSERT INTO ef_shop.web_order VALUES (3, 'EF3', 600)$$);
-- the group's limit, which is no rule
SELECT * FROM pg_temp.fields($$INSERT INTO ef_shop.web_order VALUES (4, 'EF3', 60)$$);
-- an order that passes
SELECT * FROM pg_temp.fields($$INSERT INTO ef_shop.web_order VALUES (5, 'EF3', 40)$$);

-- Clean up
SELECT name FROM pgcredit.drop_rule((SELECT id FROM pgcredit.credit_rule WHERE name = 'ef largest order'), 'error fields');
SELECT relid FROM pgcredit.detach('ef_shop.web_order');
SELECT pgcredit.leave_group('EF3', 'error fields');
SELECT pgcredit.drop_group('EF-GROUP', 'error fields');
DROP SCHEMA ef_shop CASCADE;
DELETE FROM pgcredit.account WHERE customer LIKE 'EF%';
-- (the rule's entries too: guard_rules counts the rules' audit entries)
DELETE FROM pgcredit.audit_log WHERE action IN ('add_rule', 'drop_rule') AND reason IN
  ('orders above 500 need a person', 'error fields');
DELETE FROM pgcredit.exposure WHERE customer LIKE 'EF%';

-- The parts of issue #13 together on one order table: a member of a
-- two-level credit group, whose account has cover, ordering in dollars
-- (converted into the book's euros), with a delivery date (the horizon)
-- into a table of a company exposure category with a sub-limit.  Every
-- order is checked against each limit in turn, the amounts beyond the
-- horizon wait in their bucket in euros, and after mixed activity every
-- verify function finds nothing.
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE TEMP VIEW problems AS
  SELECT 'exposure' AS what, v.customer FROM pgcredit.verify_exposure() v
  UNION ALL SELECT 'group', NULL FROM pgcredit.verify_group_exposure()
  UNION ALL SELECT 'horizon', v.customer FROM pgcredit.verify_order_horizon() v
  UNION ALL SELECT 'category', NULL FROM pgcredit.verify_category_exposure()
  UNION ALL SELECT 'cover', NULL FROM pgcredit.verify_cover();
CREATE TEMP VIEW standing AS
  SELECT e.customer, e.open_orders, e.credit_group,
         (SELECT g.exposure FROM pgcredit.group_exposure g WHERE g.group_id = 'CB-EU') AS group_exposure,
         (SELECT g.exposure FROM pgcredit.group_exposure g WHERE g.group_id = 'CB-TOP') AS top_exposure,
         (SELECT c.amount FROM pgcredit.category_exposure c
          WHERE c.customer = e.customer AND c.category = 'cb_deliveries') AS deliveries,
         (SELECT sum(h.amount) FROM pgcredit.order_horizon h WHERE h.customer = e.customer) AS beyond_horizon
  FROM pgcredit.exposure e WHERE e.customer LIKE 'CB%' ORDER BY 1;

SELECT base_currency FROM pgcredit.set_base_currency('EUR', 'the book in euros');
INSERT INTO pgcredit.fx_rate (currency_from, currency_to, valid_from, rate)
VALUES ('USD', 'EUR', current_date - 30, 0.90);
SELECT name, kind FROM pgcredit.add_category('cb_deliveries', 'orders', 'deliveries on call-off');
SELECT id FROM pgcredit.create_group('CB-TOP', 2000, 0, NULL, 'holding');
SELECT id FROM pgcredit.create_group('CB-EU', 1500, 0, 'CB-TOP', 'europe');
SELECT customer, credit_limit FROM pgcredit.open_account('CB1', 1000);
SELECT customer, credit_limit FROM pgcredit.open_account('CB2', 5000);
SELECT pgcredit.join_group('CB1', 'CB-EU', 'subsidiary') IS NOT NULL AS joined;
SELECT pgcredit.join_group('CB2', 'CB-EU', 'subsidiary') IS NOT NULL AS joined;
SELECT kind, amount FROM pgcredit.add_cover('CB1', 'deposit', 'cash', 300, 'security deposit');
SELECT category, credit_limit FROM pgcredit.set_category_limit('cb_deliveries', 1200, 'call-off cap', 'CB1');

CREATE TABLE cb_order (id int PRIMARY KEY, customer text, amount numeric(12,2), currency text NOT NULL,
                       placed_on date NOT NULL DEFAULT current_date, deliver date);
SELECT relid, category, currency_column, delivery_column
FROM pgcredit.attach_orders('cb_order', 'customer', 'amount', currency_column => 'currency',
                            rate_date_column => 'placed_on', category => 'cb_deliveries',
                            delivery_column => 'deliver', horizon_days => 30);

-- check_order, given the table, the currency, the rate date and the
-- delivery date, answers before each insert what the insert then does
-- 1000 dollars are 900 euros: within CB1's limit of 1000 + 300 cover,
-- its sub-limit and both groups'
SELECT verdict, kind, exposure, credit_available
FROM pgcredit.check_order('CB1', 1000, 'cb_order', currency => 'USD', rate_date => current_date);
INSERT INTO cb_order (id, customer, amount, currency) VALUES (1, 'CB1', 1000, 'USD');
SELECT * FROM standing;
-- 400 euros more: 1300 is the limit with cover, but over the sub-limit
-- of 1200 (PC018); nothing changed
SELECT verdict, kind, sqlstate
FROM pgcredit.check_order('CB1', 400, 'cb_order', currency => 'EUR', rate_date => current_date);
\set VERBOSITY terse
INSERT INTO cb_order (id, customer, amount, currency) VALUES (2, 'CB1', 400, 'EUR');
\echo :LAST_ERROR_SQLSTATE
-- CB2, far below its own limit, meets the group's 1500 (PC014)
SELECT verdict, kind, sqlstate FROM pgcredit.check_order('CB2', 700, 'cb_order', currency => 'EUR');
INSERT INTO cb_order (id, customer, amount, currency) VALUES (3, 'CB2', 700, 'EUR');
\echo :LAST_ERROR_SQLSTATE
\set VERBOSITY default
SELECT * FROM standing;
-- beyond the horizon: counted nowhere yet, waiting in euros, not checked
SELECT verdict, kind, sqlstate, reason = 'delivered beyond the horizon: the order counts and is judged from '
                                  || (current_date + 30)::text AS reason_names_the_day
FROM pgcredit.check_order('CB2', 5000, 'cb_order', currency => 'USD', rate_date => current_date,
                          delivery_date => current_date + 60);
-- the same order delivered within the horizon would be refused
SELECT verdict, kind, sqlstate
FROM pgcredit.check_order('CB2', 5000, 'cb_order', currency => 'USD', rate_date => current_date,
                          delivery_date => current_date + 10);
INSERT INTO cb_order (id, customer, amount, currency, deliver) VALUES (4, 'CB2', 5000, 'USD', current_date + 60);
SELECT * FROM standing;
-- moved within the horizon it is checked like a new order: 4500 euros
-- pass neither the group's limit nor the top group's
\set VERBOSITY terse
UPDATE cb_order SET deliver = current_date + 10 WHERE id = 4;
\echo :LAST_ERROR_SQLSTATE
\set VERBOSITY default
-- cut to 500 dollars (450 euros), it fits
UPDATE cb_order SET amount = 500, deliver = current_date + 10 WHERE id = 4;
SELECT * FROM standing;
SELECT * FROM problems;
-- a cancellation takes out exactly what the order added
DELETE FROM cb_order WHERE id = 1;
SELECT * FROM standing;
SELECT * FROM problems;

-- check_order refuses what the table could not do, with the guard's
-- errors for what it would refuse
\set VERBOSITY terse
CREATE TABLE cb_plain (id int PRIMARY KEY, customer text, amount numeric);
SELECT relid FROM pgcredit.attach_orders('cb_plain', 'customer', 'amount');
SELECT verdict FROM pgcredit.check_order('CB1', 10, 'cb_plain', currency => 'USD', rate_date => current_date);
\echo :LAST_ERROR_SQLSTATE
SELECT verdict FROM pgcredit.check_order('CB1', 10, 'cb_plain', delivery_date => current_date + 60);
\echo :LAST_ERROR_SQLSTATE
SELECT verdict FROM pgcredit.check_order('CB1', 10, delivery_date => current_date + 60);
\echo :LAST_ERROR_SQLSTATE
-- a foreign amount needs a rate date, a rate that exists and a real code
SELECT verdict FROM pgcredit.check_order('CB1', 10, 'cb_order', currency => 'USD');
\echo :LAST_ERROR_SQLSTATE
SELECT verdict FROM pgcredit.check_order('CB1', 10, 'cb_order', currency => 'USD', rate_date => date '2001-02-03');
\echo :LAST_ERROR_SQLSTATE
SELECT verdict FROM pgcredit.check_order('CB1', 10, 'cb_order', currency => 'usd', rate_date => current_date);
\echo :LAST_ERROR_SQLSTATE
-- without a table, a currency converts into the account's all the same
SELECT verdict, exposure FROM pgcredit.check_order('CB1', 100, currency => 'USD', rate_date => current_date);
\set VERBOSITY default
SELECT relid FROM pgcredit.detach('cb_plain');
DROP TABLE cb_plain;

-- Clean up for the files after this one
SELECT relid FROM pgcredit.detach('cb_order');
DROP TABLE cb_order;
SELECT pgcredit.leave_group(c, 'cleanup') IS NOT NULL AS left_group FROM unnest(ARRAY['CB1', 'CB2']) c;
SELECT pgcredit.drop_group(g, 'cleanup') IS NOT NULL AS dropped FROM unnest(ARRAY['CB-EU', 'CB-TOP']) g;
DELETE FROM pgcredit.category_limit WHERE category = 'cb_deliveries';
DELETE FROM pgcredit.category_exposure WHERE category = 'cb_deliveries';
DELETE FROM pgcredit.exposure_category WHERE name = 'cb_deliveries';
DELETE FROM pgcredit.cover WHERE customer LIKE 'CB%';
-- the files after this one number their covers from 1
ALTER SEQUENCE pgcredit.cover_id_seq RESTART;
DELETE FROM pgcredit.exposure WHERE customer LIKE 'CB%';
DELETE FROM pgcredit.account WHERE customer LIKE 'CB%';
DELETE FROM pgcredit.fx_rate WHERE currency_from = 'USD' AND valid_from = current_date - 30;
UPDATE pgcredit.settings SET base_currency = NULL;
DELETE FROM pgcredit.alert WHERE customer LIKE 'CB%';
DELETE FROM pgcredit.audit_log WHERE customer LIKE 'CB%'
  OR action IN ('attach_orders', 'detach', 'set_base_currency', 'add_category', 'create_group', 'drop_group',
                'fx_rate_insert', 'fx_rate_delete');
SELECT count(*) AS audit_left_behind FROM pgcredit.audit_log
WHERE customer LIKE 'CB%' OR new_value::text LIKE '%CB-%' OR new_value::text LIKE '%cb_deliveries%'
   OR old_value::text LIKE '%CB-%' OR action LIKE 'fx_rate_%';
SELECT count(*) AS left_behind FROM pgcredit.exposure WHERE customer LIKE 'CB%';

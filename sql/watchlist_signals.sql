-- The watchlist's receivables_up_orders_down sign: an order that ships
-- and is invoiced moves exposure from open orders to receivables, which
-- is normal business and no sign.  It fires when receivables rose by more
-- than open orders fell, and more of them is past due.  Four customers,
-- scored at the end of February and of March 2024; limits are large, so
-- that no other sign than these fires.  It runs in a database of its own.
\set SHOW_CONTEXT never
\set regress_db :DBNAME
SET client_min_messages = warning;
DROP DATABASE IF EXISTS regress_signals;
CREATE DATABASE regress_signals;
\c regress_signals
\set SHOW_CONTEXT never
SET client_min_messages = warning;
SET datestyle = 'ISO, YMD';
CREATE EXTENSION pgcredit;

CREATE TABLE s_invoice (id int PRIMARY KEY, customer text NOT NULL, open_amount numeric(12,2) NOT NULL,
                        due date NOT NULL);
CREATE TABLE s_order (id int PRIMARY KEY, customer text NOT NULL, amount numeric(12,2) NOT NULL,
                      status text NOT NULL DEFAULT 'open');
SELECT kind FROM pgcredit.attach_receivables('s_invoice', 'customer', 'open_amount', 'due');
SELECT kind FROM pgcredit.attach_orders('s_order', 'customer', 'amount', 'status', '{open}');
SELECT count(*) AS accounts
FROM unnest('{SHIP,GROW,LATE,OWES}'::text[]) AS c, pgcredit.open_account(c, 100000) a;

-- End of February: each owes 1000, due in April, and has 500 on order;
-- LATE and OWES owe 200 more, due on 20 March.
INSERT INTO s_invoice SELECT n, c, 1000, '2024-04-15'
FROM unnest('{SHIP,GROW,LATE,OWES}'::text[]) WITH ORDINALITY AS t(c, n);
INSERT INTO s_invoice VALUES (5, 'LATE', 200, '2024-03-20'), (6, 'OWES', 200, '2024-03-20');
INSERT INTO s_order SELECT n, c, 500
FROM unnest('{SHIP,GROW,LATE,OWES}'::text[]) WITH ORDINALITY AS t(c, n);
SELECT customers FROM pgcredit.refresh_scores('2024-02-29');

-- March.  SHIP's order ships and is invoiced.  GROW's too, and it is
-- invoiced 300 more for goods ordered and shipped within the month: it
-- owes more than its orders explain, but nothing is overdue.  LATE's
-- order ships and its invoice of 20 March is not paid: more is overdue,
-- but it owes no more than its orders explain.  OWES does not pay
-- either, orders less (100 left on order), and is invoiced 400 more
-- than its orders shipped: it owes more, more is overdue, it orders less.
UPDATE s_order SET status = 'shipped' WHERE customer IN ('SHIP', 'GROW', 'LATE');
INSERT INTO s_invoice VALUES
  (11, 'SHIP', 500, '2024-04-30'),
  (12, 'GROW', 500, '2024-04-30'), (13, 'GROW', 300, '2024-04-30'),
  (14, 'LATE', 500, '2024-04-30'),
  (15, 'OWES', 800, '2024-04-30');
UPDATE s_order SET amount = 100 WHERE customer = 'OWES';
SELECT customers FROM pgcredit.refresh_scores('2024-03-31');

SELECT customer, as_of, receivables, open_orders, overdue
FROM pgcredit.score_history ORDER BY customer, as_of;

SET pgcredit.as_of = '2024-03-31';
SELECT customer, rule, detail, value, threshold FROM pgcredit.watchlist ORDER BY customer, rule;

-- Before this rule was changed, receivables up and open orders down was
-- enough: every one of the four would have been flagged.
SELECT string_agg(n.customer, ', ' ORDER BY n.customer) AS old_rule_would_flag
FROM pgcredit.score_history n JOIN pgcredit.score_history b ON b.customer = n.customer
WHERE n.as_of = '2024-03-31' AND b.as_of = '2024-02-29'
  AND n.receivables > b.receivables AND n.open_orders < b.open_orders;

-- Rows scored before version 1.1 have no overdue figure: the sign needs
-- it on both days, and stays silent without it.
UPDATE pgcredit.score_history SET overdue = NULL WHERE as_of = '2024-02-29';
SELECT count(*) AS signs FROM pgcredit.watchlist WHERE rule = 'receivables_up_orders_down';

-- watchlist_at(as_of) is the watchlist of any day, for readers.
SELECT customer, rule FROM pgcredit.watchlist_at('2024-02-29') ORDER BY customer, rule;
CREATE ROLE regress_signals_app;
SET ROLE regress_signals_app;
SELECT count(*) FROM pgcredit.watchlist_at('2024-03-31');
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
DROP ROLE regress_signals_app;

\c :regress_db
DROP DATABASE regress_signals;

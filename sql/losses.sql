-- Losses as data: write_off() and record_recovery() record what was lost
-- on a customer and what came back, write_off_dispute() records what a
-- dispute gave up, and the view losses sums them by month.  Bad input
-- is refused and changes nothing; recoveries never exceed their
-- write-off; only controllers write, readers read.  In a database of its
-- own, so that the write-offs are numbered from 1.
\set SHOW_CONTEXT never
\set regress_db :DBNAME
SET client_min_messages = warning;
DROP DATABASE IF EXISTS regress_losses;
CREATE DATABASE regress_losses;
\c regress_losses
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE EXTENSION pgcredit;
SET pgcredit.horizon_today = '2025-06-30';

CREATE TABLE ls_invoice (id int PRIMARY KEY, customer text NOT NULL, amount numeric(12,2) NOT NULL,
  due date NOT NULL);
INSERT INTO ls_invoice VALUES (1, 'L1', 400, '2025-01-31'), (2, 'L2', 250, '2025-02-28'), (3, 'L2', 90, '2025-03-31');
SELECT (a).kind FROM (SELECT pgcredit.attach_receivables('ls_invoice', 'customer', 'amount', 'due') a) x;
SELECT customer FROM pgcredit.open_account('L1', 1000);
SELECT count(*) AS audit_before FROM pgcredit.audit_log \gset

-- A write-off of a customer with an account, and of one known only by its
-- invoices; each audited
SELECT id AS w1, customer, amount, written_off_on, reason, dispute_id, recorded_by = current_user AS by_me
FROM pgcredit.write_off('L1', 400, '2025-06-15', 'insolvent, nothing to collect') \gset
SELECT :w1 > 0 AS numbered, :'customer' AS customer, :'amount' AS amount, :'written_off_on' AS day;
SELECT id AS w2 FROM pgcredit.write_off('L2', 90.55, '2025-05-20', 'small balance given up') \gset
SELECT action, customer, new_value ->> 'amount' AS amount, reason FROM pgcredit.audit_log
WHERE id > (SELECT max(id) - 2 FROM pgcredit.audit_log) ORDER BY id;

-- Bad input: refused, nothing written
SELECT count(*) AS write_offs FROM pgcredit.write_off \gset before_
SELECT pgcredit.write_off(NULL, 10, '2025-06-01', 'r');
SELECT pgcredit.write_off('L1', NULL, '2025-06-01', 'r');
SELECT pgcredit.write_off('L1', 'NaN', '2025-06-01', 'r');
SELECT pgcredit.write_off('L1', 'Infinity', '2025-06-01', 'r');
SELECT pgcredit.write_off('L1', -5, '2025-06-01', 'r');
SELECT pgcredit.write_off('L1', 0, '2025-06-01', 'r');
SELECT pgcredit.write_off('L1', 10, NULL, 'r');
SELECT pgcredit.write_off('L1', 10, 'infinity', 'r');
SELECT pgcredit.write_off('L1', 10, '2025-07-01', 'r');
SELECT pgcredit.write_off('L1', 10, '2025-06-01', NULL);
SELECT pgcredit.write_off('L1', 10, '2025-06-01', '  ');
SELECT pgcredit.write_off('nobody', 10, '2025-06-01', 'r');
SELECT count(*) = :before_write_offs AS nothing_written FROM pgcredit.write_off;

-- Recoveries: in parts, up to the write-off and no further
SELECT amount, recovered_on FROM pgcredit.record_recovery(:w1, 150, '2025-06-20', 'first dividend of the insolvency');
SELECT amount FROM pgcredit.record_recovery(:w1, 249.99, '2025-06-25', 'second dividend');
SELECT amount FROM pgcredit.record_recovery(:w1, 0.02, '2025-06-30', 'one cent too many');
SELECT amount FROM pgcredit.record_recovery(:w1, 0.01, '2025-06-30', 'the last cent');
SELECT amount FROM pgcredit.record_recovery(:w1, 0.01, '2025-06-30', 'nothing left');
SELECT count(*) AS recoveries FROM pgcredit.recovery \gset before_
SELECT pgcredit.record_recovery(NULL, 1, '2025-06-01', 'r');
SELECT pgcredit.record_recovery(999999, 1, '2025-06-01', 'r');
SELECT pgcredit.record_recovery(:w2, 1, '2025-05-19', 'before the write-off');
SELECT pgcredit.record_recovery(:w2, 1, '2025-07-01', 'after today');
SELECT pgcredit.record_recovery(:w2, 'NaN', '2025-06-01', 'r');
SELECT pgcredit.record_recovery(:w2, -1, '2025-06-01', 'r');
SELECT pgcredit.record_recovery(:w2, 1, '2025-06-01', NULL);
SELECT count(*) = :before_recoveries AS nothing_written FROM pgcredit.recovery;

-- By month
SELECT * FROM pgcredit.losses ORDER BY customer, month;

-- A dispute written off is a loss of what its item had open
CREATE TABLE ls_item (id int PRIMARY KEY, customer text NOT NULL, amount numeric(12,2) NOT NULL, due date NOT NULL);
INSERT INTO ls_item VALUES (1, 'L3', 75.25, '2025-04-30'), (2, 'L3', 30, '2025-05-31');
SELECT (a).kind FROM (SELECT pgcredit.attach_receivables('ls_item', 'customer', 'amount', 'due') a) x;
SELECT id AS d1 FROM pgcredit.open_dispute('ls_item', '{"id": 1}', 'goods damaged', '2025-05-10') \gset
SELECT id AS d2 FROM pgcredit.open_dispute('ls_item', '{"id": 2}', 'price', '2025-06-01') \gset
SELECT status FROM pgcredit.resolve_dispute(:d2, 'price agreed', '2025-06-10');
SELECT status, closed_amount FROM pgcredit.write_off_dispute(:d1, 'not worth chasing', '2025-06-12');
SELECT customer, amount, written_off_on, reason, dispute_id = :d1 AS from_dispute
FROM pgcredit.write_off WHERE dispute_id IS NOT NULL;

-- The post-mortem of a write-off: what the signals said before it.  L1's
-- history, as the scoring, the guard and dunning would have left it
-- (written here directly): scores falling from B to E over the year,
-- the limit lowered from 1000 to 200, alerts and dunning in the last
-- months, one alert and one letter too old to count
INSERT INTO pgcredit.score_history (customer, as_of, combined_score, tier) VALUES
  ('L1', '2024-05-31', 72, 'B'), ('L1', '2024-11-30', 55, 'C'), ('L1', '2025-02-28', 41, 'D'),
  ('L1', '2025-05-31', 22, 'E'), ('L1', '2025-06-30', 10, 'E');
INSERT INTO pgcredit.exposure_history (customer, changed_at, receivables, open_orders, has_account, credit_limit,
                                       tolerance_pct, status, xact_id) VALUES
  ('L1', '2024-06-01 10:00+00', 400, 0, true, 1000, 0, 'ok', 1),
  ('L1', '2025-03-01 10:00+00', 400, 0, true, 200, 0, 'watch', 2),
  ('L1', '2025-06-10 10:00+00', 400, 0, true, 200, 0, 'hold', 3);
INSERT INTO pgcredit.alert (kind, customer, details) VALUES
  ('overdue_30', 'L1', '{"as_of": "2024-05-15"}'), ('score_downgrade', 'L1', '{"as_of": "2025-02-28"}'),
  ('overdue_90', 'L1', '{"as_of": "2025-05-31"}'), ('score_downgrade', 'L1', '{"as_of": "2025-05-31"}');
INSERT INTO pgcredit.collection_action (as_of, customer, policy, level, days, channel, template, amount, items, overdue)
VALUES ('2024-06-01', 'L1', 'std', 1, 7, 'email', 't1', 400, 1, 400),
       ('2025-03-01', 'L1', 'std', 1, 7, 'email', 't1', 400, 1, 400),
       ('2025-04-15', 'L1', 'std', 2, 30, 'letter', 't2', 400, 1, 400),
       ('2025-06-01', 'L1', 'std', 3, 90, 'agency', 't3', 400, 1, 400);
SELECT * FROM pgcredit.write_off_post_mortem WHERE customer = 'L1';
-- a write-off with no history before it has empty signals
SELECT customer, score_12m_before, last_score, limit_at_write_off, alerts_12m, dunning_actions_12m
FROM pgcredit.write_off_post_mortem WHERE customer = 'L2';

-- Rights: controllers write, readers read, no one else
CREATE ROLE regress_ls_reader IN ROLE pgcredit_reader;
CREATE ROLE regress_ls_controller IN ROLE pgcredit_controller;
CREATE ROLE regress_ls_sales IN ROLE pgcredit_sales;
CREATE ROLE regress_ls_nobody;
SET ROLE regress_ls_reader;
SELECT count(*) > 0 AS reads FROM pgcredit.losses;
SELECT pgcredit.write_off('L2', 1, '2025-06-01', 'reader');
SELECT pgcredit.record_recovery(:w2, 1, '2025-06-01', 'reader');
INSERT INTO pgcredit.write_off (customer, amount, written_off_on, reason, recorded_by)
VALUES ('L2', 1, '2025-06-01', 'reader', 'x');
UPDATE pgcredit.recovery SET amount = amount * 2;
RESET ROLE;
SET ROLE regress_ls_sales;
SELECT pgcredit.write_off('L2', 1, '2025-06-01', 'sales');
RESET ROLE;
SET ROLE regress_ls_nobody;
SELECT count(*) FROM pgcredit.write_off;
SELECT count(*) FROM pgcredit.losses;
SELECT pgcredit.write_off('L2', 1, '2025-06-01', 'nobody');
RESET ROLE;
SET ROLE regress_ls_controller;
SELECT amount, recorded_by FROM pgcredit.write_off('L2', 5, '2025-06-01', 'controller');
SELECT amount, recorded_by FROM pgcredit.record_recovery(:w2, 40, '2025-06-05', 'paid late after all');
DELETE FROM pgcredit.write_off;
RESET ROLE;
SELECT customer, written_off, recovered, net_loss FROM pgcredit.losses WHERE customer = 'L2' ORDER BY month;

\c :regress_db
DROP DATABASE regress_losses;
DROP ROLE regress_ls_reader, regress_ls_controller, regress_ls_sales, regress_ls_nobody;

-- Risk views, scores, tiers, alerts: a small hand-made ledger whose
-- figures can be checked by hand, seen as of 2024-06-30.
-- It runs in a database of its own, so that the views show this ledger
-- alone.
\set SHOW_CONTEXT never
\set regress_db :DBNAME
SET client_min_messages = warning;
DROP DATABASE IF EXISTS regress_risk;
CREATE DATABASE regress_risk;
\c regress_risk
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE EXTENSION pgcredit;
SET pgcredit.as_of = '2024-06-30';

CREATE TABLE r_invoice (id int PRIMARY KEY, customer text NOT NULL, amount numeric(12,2) NOT NULL,
  open_amount numeric(12,2) NOT NULL, invoiced_on date NOT NULL, due date NOT NULL, paid_on date);
CREATE TABLE r_order (id int PRIMARY KEY, customer text NOT NULL, amount numeric(12,2) NOT NULL,
  on_hold boolean NOT NULL DEFAULT false);
INSERT INTO r_invoice VALUES
 (1, 'GOOD', 1000, 0,    '2024-04-01', '2024-05-01', '2024-04-28'),
 (2, 'GOOD', 2000, 2000, '2024-06-01', '2024-07-01', NULL),
 (3, 'SLOW', 500,  500,  '2024-03-01', '2024-04-01', NULL),
 (4, 'SLOW', 800,  0,    '2024-02-01', '2024-03-01', '2024-04-20'),
 (5, 'SLOW', 300,  300,  '2024-05-10', '2024-05-25', NULL);

-- The history columns are checked like the others.
SELECT pgcredit.attach_receivables('r_invoice', 'customer', 'open_amount', 'due', paid_column => 'amount');
\echo :LAST_ERROR_SQLSTATE
SELECT pgcredit.attach_receivables('r_invoice', 'customer', 'open_amount', 'due', invoice_amount_column => 'due');
\echo :LAST_ERROR_SQLSTATE
SELECT relid, invoice_amount_column, invoiced_column, paid_column
FROM pgcredit.attach_receivables('r_invoice', 'customer', 'open_amount', 'due',
  invoice_amount_column => 'amount', invoiced_column => 'invoiced_on', paid_column => 'paid_on');
-- the audit log records them with the attachment
SELECT new_value ->> 'invoice_amount_column' AS amount, new_value ->> 'invoiced_column' AS invoiced,
       new_value ->> 'paid_column' AS paid
FROM pgcredit.audit_log WHERE action = 'attach_receivables' ORDER BY id DESC LIMIT 1;
SELECT relid FROM pgcredit.attach_orders('r_order', 'customer', 'amount', mode => 'hold', hold_column => 'on_hold');
SELECT customer FROM pgcredit.open_account('GOOD', 5000, 10, next_review => '2024-12-31');
SELECT customer FROM pgcredit.open_account('SLOW', 1000, next_review => '2024-06-01');
INSERT INTO r_order VALUES (1, 'GOOD', 500), (2, 'SLOW', 150);
INSERT INTO pgcredit.external_score (customer, source, score, rating, as_of)
VALUES ('GOOD', 'dnb', 90, 'A', '2024-06-01'), ('SLOW', 'experian', 300, 'D', '2024-06-01');
INSERT INTO pgcredit.external_score_scale VALUES ('experian', 0, 999);

-- Per customer: GOOD has 2000 open, not yet due; SLOW 500 due 2024-04-01
-- (90 days) and 300 due 2024-05-25 (36 days).
SELECT * FROM pgcredit.receivable_stats('2024-06-30') ORDER BY customer;
-- Looking back: on 2024-04-15 invoice 1 was open (paid on 04-28), and so
-- was invoice 4 (paid on 04-20); invoices 2 and 5 did not exist yet.
-- GOOD owed 1000, not yet due; SLOW 500 (14 days) and 800 (45 days).
SELECT customer, receivables, current, days_1_30, days_31_60, oldest_days_past_due, last_payment
FROM pgcredit.receivable_stats('2024-04-15') ORDER BY customer;
-- the behavioural score is credit_score() over the same invoices
SELECT customer, pgcredit.credit_score(amount, due, paid_on, '2024-06-30') FROM r_invoice GROUP BY 1 ORDER BY 1;
-- the external score on its own scale (experian 0-999: 300 is 30.03)
SELECT * FROM pgcredit.external_score_now('2024-06-30') ORDER BY customer;

\x on
SELECT * FROM pgcredit.customer_risk ORDER BY customer;
SELECT * FROM pgcredit.portfolio;
\x off
-- combined = 0.5 x behavioural + 0.3 x external + 0.2 x (100 - utilisation)
SELECT customer, combined_score,
       round(0.5 * behavioural_score + 0.3 * external_score + 0.2 * (100 - utilisation_pct), 2) AS by_hand
FROM pgcredit.customer_risk ORDER BY customer;
-- parts that are missing leave the weights of the others
SELECT pgcredit.combined_score(80, NULL, NULL) AS only_behaviour, pgcredit.combined_score(NULL, NULL, NULL) AS nothing,
       pgcredit.combined_score(80, 50, 150) AS over_limit_counts_zero;
SELECT pgcredit.risk_tier(80), pgcredit.risk_tier(79.99), pgcredit.risk_tier(35), pgcredit.risk_tier(34.99), pgcredit.risk_tier(NULL);

-- Scoring the day: history, tiers, alerts.
SELECT * FROM pgcredit.refresh_scores('2024-06-30');
SELECT customer, as_of, behavioural_score, external_score, utilisation_pct, combined_score, tier,
       receivables, open_orders, oldest_days_past_due
FROM pgcredit.score_history ORDER BY customer, as_of;
SELECT kind, customer, details FROM pgcredit.alert ORDER BY id;
-- a second run of the same day replaces the day's rows, and alerts nothing new
SELECT * FROM pgcredit.refresh_scores('2024-06-30');
SELECT count(*) AS rows_for_the_day FROM pgcredit.score_history WHERE as_of = '2024-06-30';
SELECT customer, risk_tier FROM pgcredit.customer_risk ORDER BY customer;

-- The watchlist: SLOW is over 90 % of its limit, has an item that passed
-- 30 days past due in the last 7 days, and a review date gone by.
SELECT * FROM pgcredit.watchlist ORDER BY customer, rule;

-- A week later GOOD stops paying and orders less: its score drops, its
-- tier changes, receivables rise while orders shrink.
SET pgcredit.as_of = '2024-08-15';
INSERT INTO r_invoice VALUES (6, 'GOOD', 1500, 1500, '2024-07-01', '2024-07-10', NULL);
DELETE FROM r_order WHERE id = 1;
INSERT INTO r_order VALUES (3, 'GOOD', 100);
SELECT * FROM pgcredit.refresh_scores();
SELECT customer, as_of, combined_score, tier, receivables, open_orders, oldest_days_past_due
FROM pgcredit.score_history ORDER BY customer, as_of;
SELECT kind, customer, details - 'as_of' AS details FROM pgcredit.alert WHERE details ->> 'as_of' = '2024-08-15' ORDER BY id;
SELECT customer, rule, detail, value, threshold FROM pgcredit.watchlist ORDER BY customer, rule;

-- Holds raise alerts as they happen: an account put on hold, an order
-- held because it would pass the limit.
SELECT status FROM pgcredit.place_hold('SLOW', 'collections call');
INSERT INTO r_order VALUES (4, 'GOOD', 5000);
SELECT kind, customer, details - 'held_order' AS details FROM pgcredit.alert
WHERE kind IN ('account_hold', 'limit_breached', 'order_held') ORDER BY id;
SELECT customer, amount, why, order_table, held_for >= interval '0' AS has_age FROM pgcredit.held_orders;

-- Limits over time, from the audit log.
SELECT customer FROM pgcredit.set_credit_limit('GOOD', 7500, 'bigger orders expected');
SELECT customer, old_limit, new_limit, reason FROM pgcredit.limit_history ORDER BY changed_at, customer;

-- A limit proposal, and the tier's policy applied through the audited functions.
SELECT * FROM pgcredit.recommend_limit('GOOD');
SELECT * FROM pgcredit.recommend_limit('SLOW');
SELECT pgcredit.recommend_limit('NOBODY');
\echo :LAST_ERROR_SQLSTATE
SELECT pgcredit.recommend_limit(NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT customer, tolerance_pct, payment_terms_days, risk_tier, next_review
FROM pgcredit.apply_tier_policy('GOOD', 'tier review');
SELECT action, customer, reason FROM pgcredit.audit_log WHERE reason = 'tier review' ORDER BY id;
SELECT pgcredit.apply_tier_policy('NOBODY', 'x');
\echo :LAST_ERROR_SQLSTATE

SELECT * FROM pgcredit.aging_by_customer ORDER BY customer;

-- Bad input.
SELECT pgcredit.refresh_scores(NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT pgcredit.refresh_scores('infinity');
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) FROM pgcredit.receivable_stats('-infinity');
\echo :LAST_ERROR_SQLSTATE
-- a day that is not a date: SET refuses it with date input's code
-- (pgcredit's library is loaded by now: sql/settings.sql shows a session
-- before that), and the day stays as it was
SET pgcredit.as_of = 'soon';
\echo :LAST_ERROR_SQLSTATE
SELECT pgcredit.as_of();
-- a row for a tier that has one replaces it
INSERT INTO pgcredit.tier_policy VALUES ('B', 40, 2, 150, 2.5);
SELECT * FROM pgcredit.tier_policy ORDER BY tier;
INSERT INTO pgcredit.tier_policy VALUES ('B', 45, 5, 180, 2);
INSERT INTO pgcredit.tier_policy VALUES ('F', 45, 5, 180, 2);
\echo :LAST_ERROR_SQLSTATE
INSERT INTO pgcredit.risk_settings (tier_a_min, tier_b_min) VALUES (50, 60);
\echo :LAST_ERROR_SQLSTATE
INSERT INTO pgcredit.risk_settings (weight_behaviour, weight_external, weight_utilisation) VALUES (0, 0, 0);
\echo :LAST_ERROR_SQLSTATE
-- NaN and infinite weights and thresholds are refused (NaN passes >= 0:
-- numeric sorts it above every number)
INSERT INTO pgcredit.risk_settings (weight_behaviour) VALUES ('NaN');
\echo :LAST_ERROR_SQLSTATE
INSERT INTO pgcredit.risk_settings (weight_external) VALUES ('Infinity');
\echo :LAST_ERROR_SQLSTATE
INSERT INTO pgcredit.risk_settings (tier_a_min) VALUES ('NaN');
\echo :LAST_ERROR_SQLSTATE
INSERT INTO pgcredit.risk_settings (tier_d_min) VALUES ('-Infinity');
\echo :LAST_ERROR_SQLSTATE
INSERT INTO pgcredit.risk_settings (watch_utilisation_pct) VALUES ('Infinity');
\echo :LAST_ERROR_SQLSTATE
INSERT INTO pgcredit.risk_settings (watch_score_drop) VALUES ('NaN');
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) AS settings_rows FROM pgcredit.risk_settings;
-- a NaN score has no tier; infinite ones sort as numbers do
SELECT pgcredit.risk_tier('NaN') IS NULL AS nan_no_tier,
       pgcredit.risk_tier('Infinity') AS plus_infinity, pgcredit.risk_tier('-Infinity') AS minus_infinity;
-- Settings change the scores: behaviour alone.
INSERT INTO pgcredit.risk_settings (weight_behaviour, weight_external, weight_utilisation) VALUES (1, 0, 0);
SELECT customer, behavioural_score = combined_score AS behaviour_only FROM pgcredit.customer_risk ORDER BY customer;
DELETE FROM pgcredit.risk_settings;

-- Who may read: pgcredit_reader sees the views; other roles do not.
CREATE ROLE regress_risk_reader IN ROLE pgcredit_reader;
CREATE ROLE regress_risk_app;
SET ROLE regress_risk_reader;
SELECT count(*) AS customers FROM pgcredit.customer_risk;
SELECT customers FROM pgcredit.portfolio;
SELECT pgcredit.refresh_scores();
\echo :LAST_ERROR_SQLSTATE
SET ROLE regress_risk_app;
SELECT count(*) FROM pgcredit.customer_risk;
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) FROM pgcredit.receivable_stats();
\echo :LAST_ERROR_SQLSTATE
-- the formula itself is open to every role
SELECT pgcredit.combined_score(80, 50, 50) AS combined, pgcredit.risk_tier(70) AS tier;
RESET ROLE;
DROP ROLE regress_risk_reader, regress_risk_app;

-- Every column of the risk views is documented.
SELECT c.relname, a.attname
FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
WHERE c.relnamespace = 'pgcredit'::regnamespace AND c.relkind IN ('v', 'r') AND a.attnum > 0
  AND NOT a.attisdropped AND col_description(c.oid, a.attnum) IS NULL;

\c :regress_db
DROP DATABASE regress_risk;

-- The automatic watch: with risk_settings.auto_watch on, refresh_scores
-- puts an account that is ok on watch when a reason holds (utilisation
-- above auto_watch_utilisation_pct, or a watchlist sign named in
-- auto_watch_signals), and puts it back to ok once no reason is left:
-- utilisation at or below the threshold minus auto_watch_release_margin,
-- no sign for auto_watch_calm_days.  It never touches hold or blocked,
-- nor a watch a person set; every change is audited.  The combined score
-- here is the external score alone.  It runs in a database of its own.
\set SHOW_CONTEXT never
\set regress_db :DBNAME
SET client_min_messages = warning;
DROP DATABASE IF EXISTS regress_auto_watch;
CREATE DATABASE regress_auto_watch;
\c regress_auto_watch
\set SHOW_CONTEXT never
SET client_min_messages = warning;
SET datestyle = 'ISO, YMD';
CREATE EXTENSION pgcredit;

-- The settings: off by default; the signs must be watchlist rules that
-- can be a reason (utilisation has its own threshold and margin).
SELECT auto_watch, auto_watch_utilisation_pct, auto_watch_release_margin, auto_watch_signals,
       auto_watch_calm_days
FROM pgcredit._settings_or_default();
INSERT INTO pgcredit.risk_settings (auto_watch_signals) VALUES ('{utilisation}');
\echo :LAST_ERROR_SQLSTATE
INSERT INTO pgcredit.risk_settings (auto_watch_signals) VALUES ('{score_drop,bogus}');
\echo :LAST_ERROR_SQLSTATE
INSERT INTO pgcredit.risk_settings (auto_watch_release_margin) VALUES (-1);
\echo :LAST_ERROR_SQLSTATE
INSERT INTO pgcredit.risk_settings (auto_watch_utilisation_pct) VALUES ('NaN');
\echo :LAST_ERROR_SQLSTATE
INSERT INTO pgcredit.risk_settings (auto_watch_calm_days) VALUES (-1);
\echo :LAST_ERROR_SQLSTATE

CREATE TABLE aw_invoice (customer text PRIMARY KEY, open_amount numeric(12,2) NOT NULL, due date NOT NULL);
SELECT kind FROM pgcredit.attach_receivables('aw_invoice', 'customer', 'open_amount', 'due');
INSERT INTO pgcredit.risk_settings (weight_behaviour, weight_external, weight_utilisation) VALUES (0, 1, 0);
SELECT count(*) AS accounts
FROM unnest('{HIGH,MANUAL,HELD,BLOCKED,LOW,SIGNAL,TAKEN,HELDAFTER}'::text[]) AS c,
     pgcredit.open_account(c, 1000) a;
-- a person's decisions, before any scoring
SELECT status FROM pgcredit.set_status('MANUAL', 'watch', 'new customer, watch the first orders');
SELECT status FROM pgcredit.place_hold('HELD', 'cheque bounced');
SELECT status FROM pgcredit.block_account('BLOCKED', 'insolvency filed');
-- what each owes against its limit of 1000
INSERT INTO aw_invoice VALUES ('HIGH', 950, '2024-03-01'), ('MANUAL', 100, '2024-03-01'),
  ('HELD', 990, '2024-03-01'), ('BLOCKED', 990, '2024-03-01'), ('LOW', 500, '2024-03-01'),
  ('SIGNAL', 100, '2024-03-01'), ('TAKEN', 950, '2024-03-01'), ('HELDAFTER', 950, '2024-03-01');
INSERT INTO pgcredit.external_score (customer, source, score, as_of)
VALUES ('SIGNAL', 'bureau', 80, '2024-01-01'), ('SIGNAL', 'bureau', 60, '2024-01-02');

CREATE ROLE regress_aw_controller IN ROLE pgcredit_controller;
SET ROLE regress_aw_controller;
-- the helper is pgcredit's own, even for a controller
SELECT pgcredit._auto_watch('2024-01-01');
\echo :LAST_ERROR_SQLSTATE

-- 1 January, the automatic watch off: nothing changes, no reasons kept.
SELECT customers FROM pgcredit.refresh_scores('2024-01-01');
SELECT a.customer, a.status, h.utilisation_pct, h.watch_reasons
FROM pgcredit.account a JOIN pgcredit.score_history h ON h.customer = a.customer AND h.as_of = '2024-01-01'
ORDER BY a.customer;

-- 2 January, on: HIGH, TAKEN and HELDAFTER use 95% of their limit,
-- SIGNAL's score fell 20 points.  They go on watch; MANUAL stays on its
-- watch, HELD and BLOCKED stay as they are, LOW (50%) stays ok.
RESET ROLE;
UPDATE pgcredit.risk_settings SET auto_watch = true;
SET ROLE regress_aw_controller;
SELECT customers FROM pgcredit.refresh_scores('2024-01-02');
SELECT a.customer, a.status, h.utilisation_pct, h.watch_reasons
FROM pgcredit.account a JOIN pgcredit.score_history h ON h.customer = a.customer AND h.as_of = '2024-01-02'
ORDER BY a.customer;

-- A person takes over two of them: TAKEN's watch is now a person's,
-- HELDAFTER goes on hold.  Then everyone but HIGH pays down to 10%.
SELECT status FROM pgcredit.set_status('TAKEN', 'watch', 'large order expected, keep watching');
SELECT status FROM pgcredit.place_hold('HELDAFTER', 'disputes every invoice');
RESET ROLE;
UPDATE aw_invoice SET open_amount = 100 WHERE customer <> 'HIGH';
UPDATE aw_invoice SET open_amount = 850 WHERE customer = 'HIGH';
SET ROLE regress_aw_controller;

-- 5 January: HIGH at 85% is below the threshold but not by the margin
-- of 10 points: it stays on watch.  SIGNAL's score held, but its sign
-- is 3 days old, within the 14 calm days: it stays on watch.
SELECT customers FROM pgcredit.refresh_scores('2024-01-05');
SELECT a.customer, a.status, h.utilisation_pct, h.watch_reasons
FROM pgcredit.account a JOIN pgcredit.score_history h ON h.customer = a.customer AND h.as_of = '2024-01-05'
ORDER BY a.customer;

-- 31 January: HIGH at 80% (the threshold minus the margin) and SIGNAL,
-- 29 days after its sign, go back to ok.  TAKEN stays on the watch a
-- person set, HELDAFTER on hold, MANUAL on watch.
RESET ROLE;
UPDATE aw_invoice SET open_amount = 800 WHERE customer = 'HIGH';
SET ROLE regress_aw_controller;
SELECT customers FROM pgcredit.refresh_scores('2024-01-31');
SELECT customer, status FROM pgcredit.account ORDER BY customer;

-- A second run of the day changes nothing more.
SELECT count(*) AS audited_before FROM pgcredit.audit_log \gset
SELECT customers FROM pgcredit.refresh_scores('2024-01-31');
SELECT count(*) - :audited_before AS audited_since FROM pgcredit.audit_log;
RESET ROLE;

-- Every automatic change is in the audit log, with the role that ran
-- the scoring and the reason; the status in the exposure row the guard
-- reads follows.
SELECT customer, action, role_name, old_value, new_value, reason
FROM pgcredit.audit_log WHERE action IN ('auto_watch', 'auto_unwatch') ORDER BY id;
SELECT customer, status FROM pgcredit.exposure ORDER BY customer;

DROP ROLE regress_aw_controller;
\c :regress_db
DROP DATABASE regress_auto_watch;

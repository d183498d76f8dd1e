-- Credit accounts: opened and changed only through pgcredit's functions,
-- every change validated and written to the audit log.
\set SHOW_CONTEXT never

SELECT customer, credit_limit, tolerance_pct, status, payment_terms_days, risk_tier
FROM pgcredit.open_account('C1', 5000, tolerance_pct => 10, payment_terms_days => 30, risk_tier => 'B');
SELECT customer, credit_limit, status FROM pgcredit.open_account('C2');   -- no limit set

SELECT credit_limit FROM pgcredit.set_credit_limit('C1', 7500.50, 'annual review');
SELECT tolerance_pct FROM pgcredit.set_tolerance('C1', 5, 'tighter after review');
SELECT status, hold_reason FROM pgcredit.place_hold('C1', 'cheque bounced');
SELECT status, hold_reason FROM pgcredit.release_hold('C1', 'cheque cleared');
SELECT status, hold_reason FROM pgcredit.block_account('C2', 'insolvency filed');
SELECT status FROM pgcredit.set_status('C2', 'watch', 'administrator appointed');
SELECT payment_terms_days, risk_tier, next_review
FROM pgcredit.update_account('C1', 'moved to tier A', risk_tier => 'A', next_review => '2025-01-31');
SELECT credit_limit FROM pgcredit.set_credit_limit('C1', NULL, 'limit withdrawn');

-- The audit log: who, what, old and new value, why.
SELECT action, customer, old_value, new_value - 'created_at' - 'updated_at' AS new_value, reason,
       role_name = current_user AS by_me, session_user_name = session_user AS in_my_session
FROM pgcredit.audit_log WHERE customer IN ('C1', 'C2') ORDER BY id;

-- Bad input changes nothing and says why.
SELECT pgcredit.open_account('C1', 100);
\echo :LAST_ERROR_SQLSTATE
SELECT pgcredit.open_account(NULL, 100);
\echo :LAST_ERROR_SQLSTATE
SELECT pgcredit.open_account('C3', -1);
\echo :LAST_ERROR_SQLSTATE
SELECT pgcredit.set_credit_limit('nobody', 100, 'typo');
\echo :LAST_ERROR_SQLSTATE
SELECT pgcredit.set_credit_limit('C1', -5, 'oops');
\echo :LAST_ERROR_SQLSTATE
SELECT pgcredit.set_credit_limit('C1', 'NaN', 'oops');
\echo :LAST_ERROR_SQLSTATE
SELECT pgcredit.set_credit_limit('C1', 'Infinity', 'oops');
\echo :LAST_ERROR_SQLSTATE
SELECT pgcredit.set_credit_limit('C1', 100, NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT pgcredit.set_credit_limit('C1', 100, '   ');
\echo :LAST_ERROR_SQLSTATE
SELECT pgcredit.set_tolerance('C1', NULL, 'none');
\echo :LAST_ERROR_SQLSTATE
SELECT pgcredit.set_status('C1', 'frozen', 'typo');
\echo :LAST_ERROR_SQLSTATE
SELECT pgcredit.update_account('C1', 'nothing');
\echo :LAST_ERROR_SQLSTATE
SELECT pgcredit.update_account('C1', 'bad terms', payment_terms_days => -30);
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) AS audit_entries_still FROM pgcredit.audit_log WHERE customer IN ('C1', 'C2');

-- Settings: the policy for customers without an account.
SELECT no_account_policy, default_limit FROM pgcredit.set_no_account_policy('default_limit', 1000, 0, 'new policy');
SELECT pgcredit.set_no_account_policy('default_limit', NULL, 0, 'no limit given');
\echo :LAST_ERROR_SQLSTATE
SELECT pgcredit.set_no_account_policy('sometimes', reason => 'typo');
\echo :LAST_ERROR_SQLSTATE
SELECT max_days_past_due FROM pgcredit.set_max_days_past_due(60, 'collections policy');
SELECT pgcredit.set_max_days_past_due(-1, 'typo');
\echo :LAST_ERROR_SQLSTATE
SELECT no_account_policy, max_days_past_due FROM pgcredit.set_no_account_policy('allow', reason => 'back to default');
SELECT max_days_past_due FROM pgcredit.set_max_days_past_due(NULL, 'no overdue check');
SELECT action, old_value ->> 'no_account_policy' AS old_policy, new_value ->> 'no_account_policy' AS new_policy,
       new_value ->> 'max_days_past_due' AS max_days
FROM pgcredit.audit_log WHERE action LIKE 'set_%' AND customer IS NULL ORDER BY id;

-- The audit log is append-only for everyone but its owner: the
-- application role and even pgcredit_admin cannot change it.
CREATE ROLE regress_account_app;
CREATE ROLE regress_account_admin IN ROLE pgcredit_admin;
SET ROLE regress_account_app;
UPDATE pgcredit.audit_log SET reason = 'forged';
\echo :LAST_ERROR_SQLSTATE
DELETE FROM pgcredit.audit_log;
\echo :LAST_ERROR_SQLSTATE
SET ROLE regress_account_admin;
UPDATE pgcredit.audit_log SET reason = 'forged';
\echo :LAST_ERROR_SQLSTATE
DELETE FROM pgcredit.audit_log;
\echo :LAST_ERROR_SQLSTATE
INSERT INTO pgcredit.audit_log (role_name, action) VALUES ('x', 'forged');
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
DROP ROLE regress_account_app, regress_account_admin;

-- The approval path for the other actions: releasing a held order, an
-- override, leaving blocked.  Below the policy's threshold (and with no
-- threshold, the default) they work as in 1.0; above it they refuse
-- with PC012 until a request is approved by another person.  Then held
-- orders re-evaluated oldest first, and a held order rejected.
\set SHOW_CONTEXT never
SET client_min_messages = warning;

-- numbers as in a fresh database (and left so for the files after this one)
ALTER TABLE pgcredit.held_order ALTER COLUMN id RESTART;
ALTER TABLE pgcredit.approval_request ALTER COLUMN id RESTART;

CREATE ROLE regress_ac_ann LOGIN IN ROLE pgcredit_controller;
CREATE ROLE regress_ac_ben LOGIN IN ROLE pgcredit_controller;
GRANT ALL ON SCHEMA public TO regress_ac_ann;

CREATE TABLE ac_order (
  id        int PRIMARY KEY,
  customer  text NOT NULL,
  amount    numeric(12,2) NOT NULL,
  on_hold   boolean NOT NULL DEFAULT false
);
GRANT SELECT, INSERT, UPDATE ON ac_order TO regress_ac_ann;
SELECT mode FROM pgcredit.attach_orders('ac_order', 'customer', 'amount', mode => 'hold', hold_column => 'on_hold');
SELECT customer FROM pgcredit.open_account('H1', 1000, risk_tier => 'B');
SELECT customer FROM pgcredit.open_account('H2', 1000, risk_tier => 'B');
INSERT INTO ac_order VALUES (1, 'H1', 900), (2, 'H1', 250), (3, 'H1', 400), (4, 'H2', 980), (5, 'H2', 50);
SELECT id, on_hold FROM ac_order ORDER BY id;
SELECT id, customer, amount FROM pgcredit.held_orders ORDER BY id;

-- Ben may approve every kind up to 10000 for any tier
INSERT INTO pgcredit.approval_authority (kind, approver, max_amount)
SELECT k, 'regress_ac_ben', 10000 FROM unnest(ARRAY['release', 'override', 'unblock']) k;

----------------------------------------------------------------------
-- Releasing a held order
----------------------------------------------------------------------
-- no threshold: released as before
SELECT id, release_reason FROM pgcredit.release_held_order(1, 'paid in advance');
-- above the threshold: refused, and asked for
INSERT INTO pgcredit.approval_policy (release_approval_above) VALUES (300);
SELECT pgcredit.release_held_order(2, 'trusted customer');
\echo :LAST_ERROR_SQLSTATE
SELECT released_at IS NULL AS still_held FROM pgcredit.held_order WHERE id = 2;
SET SESSION AUTHORIZATION regress_ac_ann;
SELECT id, kind, customer, held_order, status FROM pgcredit.request_release(2, 'trusted customer');
SELECT pgcredit.approve_request(1, 'my own');
\echo :LAST_ERROR_SQLSTATE
RESET SESSION AUTHORIZATION;
SET SESSION AUTHORIZATION regress_ac_ben;
SELECT id, kind, customer, held_order, amount FROM pgcredit.pending_requests;
SELECT id, status, approver FROM pgcredit.approve_request(1, 'references checked');
RESET SESSION AUTHORIZATION;
SELECT id, released_by, release_reason FROM pgcredit.held_order WHERE id = 2;
SELECT id, on_hold FROM ac_order WHERE id = 3;
-- below the threshold: released as before (order 5 of H2, 50)
SELECT id, release_reason FROM pgcredit.release_held_order(3, 'small');
-- a request for a hold no longer held, or none, is refused
SELECT pgcredit.request_release(2, 'again');
\echo :LAST_ERROR_SQLSTATE
SELECT pgcredit.request_release(99, 'none');
\echo :LAST_ERROR_SQLSTATE

----------------------------------------------------------------------
-- An override
----------------------------------------------------------------------
-- H1's exposure is 1550 now, H2's 1030; over 1100 an override needs four eyes
UPDATE pgcredit.approval_policy SET override_approval_above = 1100;
BEGIN;
SELECT pgcredit.override_block('H2', 'small customer');
INSERT INTO ac_order VALUES (6, 'H2', 500);
COMMIT;
BEGIN;
SELECT pgcredit.override_block('H1', 'big customer');
ROLLBACK;
-- Ann asks; Ben approves; the override is Ann's to use, once, in the
-- transaction that writes the order
SET SESSION AUTHORIZATION regress_ac_ann;
SELECT id, kind, status FROM pgcredit.request_override('H1', 'year-end order');
RESET SESSION AUTHORIZATION;
SET SESSION AUTHORIZATION regress_ac_ben;
SELECT id, kind, amount FROM pgcredit.pending_requests;
-- approving does not let Ben use it
SELECT status FROM pgcredit.approve_request(2, 'one order');
BEGIN;
SELECT pgcredit.override_block('H1', 'let me');
ROLLBACK;
RESET SESSION AUTHORIZATION;
SET SESSION AUTHORIZATION regress_ac_ann;
BEGIN;
SELECT pgcredit.override_block('H1', 'year-end order');
INSERT INTO ac_order VALUES (7, 'H1', 700);
COMMIT;
SELECT id, on_hold FROM ac_order WHERE id = 7;
BEGIN;
SELECT pgcredit.override_block('H1', 'once more');
ROLLBACK;
RESET SESSION AUTHORIZATION;
SELECT id, status, used_at IS NOT NULL AS used FROM pgcredit.approval_request WHERE id = 2;

----------------------------------------------------------------------
-- Leaving blocked
----------------------------------------------------------------------
UPDATE pgcredit.approval_policy SET unblock_approval_above = 2000;
SELECT status FROM pgcredit.block_account('H1', 'fraud check');
SELECT status FROM pgcredit.block_account('H2', 'fraud check');
-- H1 owes more than 2000, H2 less
SELECT customer, receivables + open_orders AS exposure FROM pgcredit.exposure
WHERE customer IN ('H1', 'H2') ORDER BY customer;
SELECT status FROM pgcredit.release_hold('H1', 'cleared');
\echo :LAST_ERROR_SQLSTATE
SELECT status FROM pgcredit.set_status('H1', 'watch', 'cleared, watched');
\echo :LAST_ERROR_SQLSTATE
-- from blocked to hold too (else blocked, hold, ok would go round it)
SELECT status FROM pgcredit.place_hold('H1', 'fraud check, softer');
\echo :LAST_ERROR_SQLSTATE
-- blocking again needs nothing
SELECT status FROM pgcredit.block_account('H1', 'fraud check');
SET SESSION AUTHORIZATION regress_ac_ann;
SELECT id, kind, status FROM pgcredit.request_unblock('H1', 'fraud check cleared');
SELECT pgcredit.request_unblock('H1x', 'no account');
\echo :LAST_ERROR_SQLSTATE
RESET SESSION AUTHORIZATION;
SET SESSION AUTHORIZATION regress_ac_ben;
SELECT status FROM pgcredit.approve_request(3, 'checked with the bank');
RESET SESSION AUTHORIZATION;
SELECT customer, status, hold_reason FROM pgcredit.account WHERE customer IN ('H1', 'H2') ORDER BY customer;
-- below the threshold, as before
SELECT status FROM pgcredit.release_hold('H2', 'cleared');
-- a request to unblock an account that is not blocked is refused
SELECT pgcredit.request_unblock('H2', 'not blocked');
\echo :LAST_ERROR_SQLSTATE

----------------------------------------------------------------------
-- Held orders re-evaluated, oldest first
----------------------------------------------------------------------
SELECT customer FROM pgcredit.open_account('R1', 1000, risk_tier => 'C');
INSERT INTO ac_order VALUES (10, 'R1', 980);
INSERT INTO ac_order VALUES (11, 'R1', 300);
INSERT INTO ac_order VALUES (12, 'R1', 150);
INSERT INTO ac_order VALUES (13, 'R1', 100);
SELECT id, customer, amount FROM pgcredit.held_orders WHERE customer = 'R1' ORDER BY id;
-- nothing fits yet: every order stays held
SELECT held_order, customer, amount, outcome FROM pgcredit.reevaluate_held_orders() WHERE customer = 'R1';
-- the limit goes up by 420: the oldest (300) fits, then 150 does not,
-- then 100 does; newest first would have let in 100 and 150 instead
SELECT credit_limit FROM pgcredit.set_credit_limit('R1', 1400, 'seasonal growth');
SELECT held_order, customer, amount, outcome FROM pgcredit.reevaluate_held_orders() ORDER BY held_order;
SELECT id, on_hold FROM ac_order WHERE customer = 'R1' ORDER BY id;
SELECT open_orders FROM pgcredit.exposure WHERE customer = 'R1';
SELECT count(*) AS mismatches FROM pgcredit.verify_exposure();
-- a payment (here: an order shipped) makes room for the last one
UPDATE ac_order SET customer = 'R1-shipped' WHERE id = 10;
SELECT held_order, amount, outcome FROM pgcredit.reevaluate_held_orders();
SELECT id, released_by = current_user AS by_me, release_reason FROM pgcredit.held_order
WHERE customer = 'R1' ORDER BY id;
SELECT action, customer, reason FROM pgcredit.audit_log WHERE customer = 'R1' ORDER BY id;

----------------------------------------------------------------------
-- A held order rejected
----------------------------------------------------------------------
INSERT INTO ac_order VALUES (20, 'R1', 5000);
SELECT id AS rejected_id FROM pgcredit.held_orders WHERE customer = 'R1' \gset
SELECT id = :rejected_id AS same, rejected, released_by = current_user AS by_me, release_reason
FROM pgcredit.reject_held_order(:rejected_id, 'far beyond the customer''s means');
SELECT count(*) AS held FROM pgcredit.held_orders WHERE customer = 'R1';
SELECT id, on_hold FROM ac_order WHERE id = 20;
\set VERBOSITY terse
SELECT pgcredit.release_held_order(:rejected_id, 'changed my mind');
\echo :LAST_ERROR_SQLSTATE
SELECT pgcredit.reject_held_order(:rejected_id, 'twice');
\echo :LAST_ERROR_SQLSTATE
\set VERBOSITY default
SELECT pgcredit.reject_held_order(9999, 'none');
\echo :LAST_ERROR_SQLSTATE
SELECT pgcredit.reject_held_order(:rejected_id, '');
\echo :LAST_ERROR_SQLSTATE
SELECT held_order, outcome FROM pgcredit.reevaluate_held_orders();
SELECT action, old_value ? 'held_order' AS names_hold, new_value, reason
FROM pgcredit.audit_log WHERE action = 'reject_held_order';

----------------------------------------------------------------------
-- A held order of a customer without an account goes the same way
----------------------------------------------------------------------
SELECT no_account_policy FROM pgcredit.set_no_account_policy('deny', reason => 'accounts first');
INSERT INTO ac_order VALUES (30, 'NEW1', 400);
SELECT id AS new_hold, why FROM pgcredit.held_orders WHERE customer = 'NEW1' \gset
SELECT :'why' AS why;
SELECT pgcredit.release_held_order(:new_hold, 'known to sales');
\echo :LAST_ERROR_SQLSTATE
SET SESSION AUTHORIZATION regress_ac_ann;
SELECT id AS new_request FROM pgcredit.request_release(:new_hold, 'known to sales') \gset
RESET SESSION AUTHORIZATION;
SET SESSION AUTHORIZATION regress_ac_ben;
SELECT kind, customer, risk_tier, amount FROM pgcredit.pending_requests;
SELECT status FROM pgcredit.approve_request(:new_request, 'references checked');
RESET SESSION AUTHORIZATION;
SELECT id, on_hold FROM ac_order WHERE id = 30;
SELECT no_account_policy FROM pgcredit.set_no_account_policy('allow', reason => 'back');

-- Re-evaluation never uses an override: a customer with one in the
-- transaction keeps its held orders
INSERT INTO ac_order VALUES (31, 'R1', 900);
SELECT id, customer, amount FROM pgcredit.held_orders ORDER BY id;
UPDATE pgcredit.approval_policy SET override_approval_above = NULL;
BEGIN;
SELECT pgcredit.override_block('R1', 'for another order');
SELECT held_order, outcome FROM pgcredit.reevaluate_held_orders();
ROLLBACK;

-- The steps of every request in the audit log
SELECT action, customer, CASE WHEN role_name = current_user THEN '(test)' ELSE role_name END AS role_name,
       reason
FROM pgcredit.audit_log
WHERE customer IN ('H1', 'H2', 'R1')
  AND (action ~ '^(request|approve|reject|use)_' OR action IN ('override_block', 'release_held_order', 'set_status'))
ORDER BY id;

SELECT (pgcredit.detach('ac_order')).relid;
DROP TABLE ac_order;
REVOKE ALL ON SCHEMA public FROM regress_ac_ann;
DELETE FROM pgcredit.approval_authority;
DELETE FROM pgcredit.approval_policy;
DELETE FROM pgcredit.approval_request;
DELETE FROM pgcredit.held_order WHERE customer IN ('H1', 'H2', 'R1', 'NEW1');
DELETE FROM pgcredit.override WHERE customer IN ('H1', 'H2', 'R1', 'NEW1');
DELETE FROM pgcredit.alert WHERE customer IN ('H1', 'H2', 'R1', 'NEW1');
DELETE FROM pgcredit.audit_log WHERE customer IN ('H1', 'H2', 'R1', 'R1-shipped', 'NEW1')
  OR action ~ '^(person_login|approval_|set_no_account_policy)';
DELETE FROM pgcredit.exposure WHERE customer IN ('H1', 'H2', 'R1', 'R1-shipped', 'NEW1');
DELETE FROM pgcredit.account WHERE customer IN ('H1', 'H2', 'R1');
ALTER TABLE pgcredit.held_order ALTER COLUMN id RESTART;
ALTER TABLE pgcredit.approval_request ALTER COLUMN id RESTART;
DROP ROLE regress_ac_ann, regress_ac_ben;

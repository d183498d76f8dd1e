-- A release request whose hold is closed by other means while it waits
-- (re-evaluated and released, released directly, its hold mark cleared or
-- its row deleted by the application, rejected, its hold record deleted)
-- is made obsolete at once, audited: pending_requests no longer lists it
-- and approving or rejecting it is refused with 55000.
\set SHOW_CONTEXT never
SET client_min_messages = warning;

ALTER TABLE pgcredit.held_order ALTER COLUMN id RESTART;
ALTER TABLE pgcredit.approval_request ALTER COLUMN id RESTART;

CREATE ROLE regress_ob_ann LOGIN IN ROLE pgcredit_controller;
CREATE ROLE regress_ob_ben LOGIN IN ROLE pgcredit_controller;
CREATE ROLE regress_ob_app;

CREATE TABLE ob_order (
  id        int PRIMARY KEY,
  customer  text NOT NULL,
  amount    numeric(12,2) NOT NULL,
  on_hold   boolean NOT NULL DEFAULT false
);
GRANT SELECT, INSERT, UPDATE, DELETE ON ob_order TO regress_ob_app;
SELECT mode FROM pgcredit.attach_orders('ob_order', 'customer', 'amount', mode => 'hold', hold_column => 'on_hold');
SELECT customer FROM pgcredit.open_account('O1', 1000, risk_tier => 'B');
-- releases over 150 need an approved request; Ben may approve them
INSERT INTO pgcredit.approval_policy (release_approval_above) VALUES (150);
INSERT INTO pgcredit.approval_authority (kind, approver, max_amount) VALUES ('release', 'regress_ob_ben', 10000);
-- 900 fits; the next eight are held (holds 1 to 8 are rows 2 to 9)
INSERT INTO ob_order VALUES (1, 'O1', 900), (2, 'O1', 300), (3, 'O1', 120), (4, 'O1', 200), (5, 'O1', 210),
                            (6, 'O1', 220), (7, 'O1', 230), (8, 'O1', 240), (9, 'O1', 250);
SELECT id, customer, amount FROM pgcredit.held_orders ORDER BY id;

-- Ann asks for a release of each (request n for hold n), and once more
-- for hold 6 (request 9)
SET SESSION AUTHORIZATION regress_ob_ann;
SELECT r.id, r.held_order, r.status
FROM generate_series(1, 8) h, pgcredit.request_release(h, 'customer called') r;
SELECT id, held_order, status FROM pgcredit.request_release(6, 'and again');
RESET SESSION AUTHORIZATION;
-- request 8 is past its expiry, not yet marked
UPDATE pgcredit.approval_request SET expires_at = now() - interval '1 minute' WHERE id = 8;

-- hold 1 (300): a payment makes room, reevaluate_held_orders releases it
SELECT credit_limit FROM pgcredit.set_credit_limit('O1', 1200, 'payment received');
SET SESSION AUTHORIZATION regress_ob_ben;
SELECT held_order, amount, outcome FROM pgcredit.reevaluate_held_orders() ORDER BY held_order;
-- hold 2 (120): released directly, below the threshold
SELECT id, released_at IS NOT NULL AS released FROM pgcredit.release_held_order(2, 'small one');
-- hold 3 (200): rejected
SELECT id, rejected FROM pgcredit.reject_held_order(3, 'order cancelled by sales');
RESET SESSION AUTHORIZATION;
-- hold 4 (210) and hold 5 (220): the application deletes the row of one,
-- and clears the hold mark of the other once the limit leaves room for it
SET ROLE regress_ob_app;
DELETE FROM ob_order WHERE id = 5;
RESET ROLE;
SELECT credit_limit FROM pgcredit.set_credit_limit('O1', 1550, 'second payment');
SET ROLE regress_ob_app;
UPDATE ob_order SET on_hold = false WHERE id = 6;
RESET ROLE;
SELECT id, on_hold FROM ob_order ORDER BY id;
-- hold 7 (240): its hold record deleted
DELETE FROM pgcredit.held_order WHERE id = 7;

-- every request whose hold closed is obsolete, saying how it closed;
-- the expired one is left to expire_requests(); holds 6 and 8 still wait
SELECT id, held_order, status, decided_by, approver, decided_at IS NOT NULL AS decided, decision_reason
FROM pgcredit.approval_request ORDER BY id;
SELECT action, CASE WHEN role_name = current_user THEN '(test)' ELSE role_name END AS role_name,
       customer, new_value, reason
FROM pgcredit.audit_log WHERE action = 'obsolete_request' ORDER BY id;
SET SESSION AUTHORIZATION regress_ob_ben;
SELECT id, held_order FROM pgcredit.pending_requests ORDER BY id;
-- approving or rejecting an obsolete request is refused, nothing changed
SELECT status FROM pgcredit.approve_request(1, 'looks fine');
\echo :LAST_ERROR_SQLSTATE
SELECT status FROM pgcredit.approve_request(3, 'looks fine');
SELECT status FROM pgcredit.reject_request(7, 'no');
\echo :LAST_ERROR_SQLSTATE
-- the expired one is refused as expired (PC013)
\set VERBOSITY terse
SELECT status FROM pgcredit.approve_request(8, 'late');
\echo :LAST_ERROR_SQLSTATE
\set VERBOSITY default
RESET SESSION AUTHORIZATION;
SELECT id, status FROM pgcredit.approval_request WHERE id IN (1, 3, 7, 8) ORDER BY id;
SELECT pgcredit.expire_requests() AS expired;
-- hold 6 has two requests: approving one closes the hold, which makes
-- the other obsolete
SET SESSION AUTHORIZATION regress_ob_ben;
SELECT id, status, approver FROM pgcredit.approve_request(6, 'fine');
SELECT id, held_order FROM pgcredit.pending_requests ORDER BY id;
RESET SESSION AUTHORIZATION;
SELECT id, held_order, status, decision_reason FROM pgcredit.approval_request WHERE id IN (6, 8, 9) ORDER BY id;
SELECT id, released_by, release_reason FROM pgcredit.held_order WHERE id = 6;
SELECT count(*) AS mismatches FROM pgcredit.verify_exposure();

SELECT (pgcredit.detach('ob_order')).relid;
DROP TABLE ob_order;
DELETE FROM pgcredit.approval_authority;
DELETE FROM pgcredit.approval_policy;
DELETE FROM pgcredit.approval_request;
DELETE FROM pgcredit.held_order WHERE customer = 'O1';
DELETE FROM pgcredit.override WHERE customer = 'O1';
DELETE FROM pgcredit.alert WHERE customer = 'O1';
DELETE FROM pgcredit.audit_log WHERE customer = 'O1' OR action ~ '^(approval_|attach_orders|detach)';
DELETE FROM pgcredit.exposure WHERE customer = 'O1';
DELETE FROM pgcredit.account WHERE customer = 'O1';
ALTER TABLE pgcredit.held_order ALTER COLUMN id RESTART;
ALTER TABLE pgcredit.approval_request ALTER COLUMN id RESTART;
DROP ROLE regress_ob_ann, regress_ob_ben, regress_ob_app;

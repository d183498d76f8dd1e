-- Four-eyes approvals of limits: who is a person, requests, the
-- authority matrix by tier and size, auto-approval, expiry, and a
-- requester who can never approve his own request: not directly, not
-- through SET ROLE, not through a second login of his.
\set SHOW_CONTEXT never
SET client_min_messages = warning;
-- request numbers as in a fresh database
ALTER TABLE pgcredit.approval_request ALTER COLUMN id RESTART;
ALTER TABLE pgcredit.approval_authority ALTER COLUMN id RESTART;

-- The people.  Alice has two logins (her desk and her laptop) and holds
-- the CFO's authority too; Bob is a credit manager; Carol the CFO; Dave a
-- controller without any authority to approve.
CREATE ROLE regress_ap_managers NOLOGIN;
CREATE ROLE regress_ap_cfo NOLOGIN IN ROLE pgcredit_controller;
CREATE ROLE regress_ap_alice LOGIN IN ROLE pgcredit_controller, regress_ap_cfo;
CREATE ROLE regress_ap_alice2 LOGIN IN ROLE pgcredit_controller;
CREATE ROLE regress_ap_bob LOGIN IN ROLE pgcredit_controller, regress_ap_managers;
CREATE ROLE regress_ap_carol LOGIN IN ROLE pgcredit_controller, regress_ap_cfo;
CREATE ROLE regress_ap_dave LOGIN IN ROLE pgcredit_controller;
INSERT INTO pgcredit.person_login VALUES ('regress_ap_alice', 'Alice Archer'),
                                         ('regress_ap_alice2', 'Alice Archer'),
                                         ('regress_ap_bob', 'Bob Baker');

-- A login not listed is a person of its own; SET ROLE changes nothing
SET SESSION AUTHORIZATION regress_ap_alice2;
SELECT session_user, pgcredit._person();
RESET SESSION AUTHORIZATION;
SET SESSION AUTHORIZATION regress_ap_carol;
SELECT session_user, pgcredit._person();
SET ROLE regress_ap_cfo;
SELECT current_user, pgcredit._person();
RESET ROLE;
RESET SESSION AUTHORIZATION;

SELECT customer, credit_limit, risk_tier FROM pgcredit.open_account('A1', 10000, risk_tier => 'A');
SELECT customer, credit_limit, risk_tier FROM pgcredit.open_account('B1', 10000, risk_tier => 'B');
SELECT customer, credit_limit, risk_tier FROM pgcredit.open_account('D1', 1000, risk_tier => 'D');

-- The authority matrix: tier A raises up to 1000 approve themselves;
-- managers approve raises up to 5000 for tiers A and B; the CFO any.
INSERT INTO pgcredit.approval_authority (kind, risk_tier, approver, max_increase, auto_approve) VALUES
  ('limit', 'A', NULL, 1000, true),
  ('limit', 'A', 'regress_ap_managers', 5000, false),
  ('limit', 'B', 'regress_ap_managers', 5000, false),
  ('limit', NULL, 'regress_ap_cfo', NULL, false);

-- Without a policy row, a controller changes any limit alone, as in 1.0
SELECT credit_limit FROM pgcredit.set_credit_limit('D1', 1000000, 'no policy yet');
SELECT credit_limit FROM pgcredit.set_credit_limit('D1', 1000, 'back');

-- With one, a raise of more than 2000 needs a request; less, or a cut,
-- does not
INSERT INTO pgcredit.approval_policy (limit_approval_above, request_ttl) VALUES (2000, '3 days');
SELECT credit_limit FROM pgcredit.set_credit_limit('D1', 5000, 'big raise');
\echo :LAST_ERROR_SQLSTATE
SELECT credit_limit FROM pgcredit.set_credit_limit('D1', NULL, 'no limit at all');
SELECT pgcredit.set_temporary_limit('D1', 3500, '2031-06-30', 'big season');
SELECT credit_limit FROM pgcredit.set_credit_limit('D1', 3000, 'small raise');
SELECT credit_limit FROM pgcredit.set_credit_limit('D1', 1000, 'cut');
SELECT temporary_limit FROM pgcredit.set_temporary_limit('D1', 2500, '2031-06-30', 'small season');
SELECT temporary_limit FROM pgcredit.clear_temporary_limit('D1', 'season over');

-- Alice asks for 15000 for B1: it waits for someone else
SET SESSION AUTHORIZATION regress_ap_alice;
SELECT id, kind, customer, new_limit, status, requested_by, requester,
       expires_at - requested_at AS ttl
FROM pgcredit.request_limit('B1', 15000, 'new warehouse contract');
SELECT credit_limit FROM pgcredit.account WHERE customer = 'B1';

-- She cannot approve it: directly, through SET ROLE of a role with the
-- authority, or from her second login (SET SESSION AUTHORIZATION, run
-- here as the superuser who started the test, stands in for a second
-- connection: session_user is what a login sets, and is all pgcredit
-- reads)
SELECT pgcredit.approve_request(1, 'looks fine to me');
\echo :LAST_ERROR_SQLSTATE
SET ROLE regress_ap_cfo;
SELECT pgcredit.approve_request(1, 'as the CFO');
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
RESET SESSION AUTHORIZATION;
SET SESSION AUTHORIZATION regress_ap_alice2;
SELECT pgcredit.approve_request(1, 'from my laptop');
\echo :LAST_ERROR_SQLSTATE
-- nor does she see it among the requests she may approve
SELECT count(*) AS alice_may_approve FROM pgcredit.pending_requests;
RESET SESSION AUTHORIZATION;

-- Dave has no authority: the error says whose it needs
SET SESSION AUTHORIZATION regress_ap_dave;
SELECT count(*) AS dave_may_approve FROM pgcredit.pending_requests;
SELECT pgcredit.approve_request(1, 'why not');
\echo :LAST_ERROR_SQLSTATE
RESET SESSION AUTHORIZATION;

-- Bob may: he sees it, approves it, and the limit changes, audited
SET SESSION AUTHORIZATION regress_ap_bob;
SELECT id, kind, customer, risk_tier, new_limit, increase, amount, requester, reason, approvers
FROM pgcredit.pending_requests;
SELECT id, status, decided_by, approver, decision_reason, auto_approved
FROM pgcredit.approve_request(1, 'contract seen');
SELECT credit_limit FROM pgcredit.account WHERE customer = 'B1';
-- approving it again, or rejecting it now, is refused
SELECT pgcredit.approve_request(1, 'twice');
\echo :LAST_ERROR_SQLSTATE
SELECT pgcredit.reject_request(1, 'too late');
\echo :LAST_ERROR_SQLSTATE

-- A raise beyond his authority: 15000 to 30000 is 15000 more
RESET SESSION AUTHORIZATION;
SET SESSION AUTHORIZATION regress_ap_alice;
SELECT id, status FROM pgcredit.request_limit('B1', 30000, 'second warehouse');
RESET SESSION AUTHORIZATION;
SET SESSION AUTHORIZATION regress_ap_bob;
SELECT count(*) AS bob_may_approve FROM pgcredit.pending_requests;
SELECT pgcredit.approve_request(2, 'I trust them');
\echo :LAST_ERROR_SQLSTATE
-- tier D is not his either, whatever the size
RESET SESSION AUTHORIZATION;
SET SESSION AUTHORIZATION regress_ap_alice;
SELECT id, status FROM pgcredit.request_limit('D1', 1100, 'small raise, bad tier');
RESET SESSION AUTHORIZATION;
SET SESSION AUTHORIZATION regress_ap_bob;
SELECT pgcredit.approve_request(3, 'small');
\echo :LAST_ERROR_SQLSTATE
RESET SESSION AUTHORIZATION;
-- the CFO approves one and rejects the other
SET SESSION AUTHORIZATION regress_ap_carol;
SELECT id, kind, customer, increase, approvers FROM pgcredit.pending_requests ORDER BY id;
SELECT id, status, approver FROM pgcredit.approve_request(2, 'second warehouse signed');
SELECT id, status, approver, decision_reason FROM pgcredit.reject_request(3, 'tier D stays where it is');
SELECT pgcredit.approve_request(3, 'changed my mind');
\echo :LAST_ERROR_SQLSTATE
RESET SESSION AUTHORIZATION;
SELECT customer, credit_limit FROM pgcredit.account WHERE customer IN ('A1', 'B1', 'D1') ORDER BY customer;

-- Small raises for tier A approve themselves, when the policy says so;
-- a bigger one waits
SET SESSION AUTHORIZATION regress_ap_dave;
SELECT id, status, auto_approved, decided_by, approver, decision_reason
FROM pgcredit.request_limit('A1', 10800, 'steady growth');
SELECT id, status, auto_approved FROM pgcredit.request_limit('A1', 12000, 'faster growth');
RESET SESSION AUTHORIZATION;
SELECT credit_limit FROM pgcredit.account WHERE customer = 'A1';

-- A temporary limit, asked for and approved
SET SESSION AUTHORIZATION regress_ap_alice;
SELECT id, status, new_limit, valid_from, valid_until
FROM pgcredit.request_limit('B1', 40000, 'christmas season', valid_from => '2031-11-15', valid_until => '2031-12-31');
RESET SESSION AUTHORIZATION;
SET SESSION AUTHORIZATION regress_ap_carol;
SELECT status FROM pgcredit.approve_request(6, 'season approved');
RESET SESSION AUTHORIZATION;
SELECT credit_limit, temporary_limit, temporary_from, temporary_until FROM pgcredit.account WHERE customer = 'B1';

-- Requests expire: past its expiry nobody can decide it, and
-- expire_requests() marks it so
UPDATE pgcredit.approval_request SET expires_at = now() - interval '1 second' WHERE id = 5;
SET SESSION AUTHORIZATION regress_ap_bob;
SELECT count(*) AS bob_may_approve FROM pgcredit.pending_requests;
\set VERBOSITY terse
SELECT pgcredit.approve_request(5, 'too late');
\set VERBOSITY default
\echo :LAST_ERROR_SQLSTATE
SELECT pgcredit.expire_requests() AS expired;
SELECT pgcredit.expire_requests() AS expired_again;
RESET SESSION AUTHORIZATION;

-- A role of the matrix dropped since leaves its rows without effect
CREATE ROLE regress_ap_gone;
INSERT INTO pgcredit.approval_authority (kind, approver) VALUES ('limit', 'regress_ap_gone');
DROP ROLE regress_ap_gone;
SET SESSION AUTHORIZATION regress_ap_alice;
SELECT id AS gone_request FROM pgcredit.request_limit('D1', 1200, 'the role is gone') \gset
RESET SESSION AUTHORIZATION;
SET SESSION AUTHORIZATION regress_ap_dave;
SELECT count(*) AS dave_may_approve FROM pgcredit.pending_requests;
SELECT pgcredit.approve_request(:gone_request, 'no authority');
\echo :LAST_ERROR_SQLSTATE
RESET SESSION AUTHORIZATION;
DELETE FROM pgcredit.approval_authority WHERE approver NOT IN (SELECT oid FROM pg_roles);

-- Every limit, with who asked and who approved
-- (the superuser running the test shows as "(test)")
SELECT customer, kind, old_limit, new_limit, valid_from, valid_until,
       CASE WHEN changed_by = current_user THEN '(test)' ELSE changed_by END AS changed_by, request,
       requested_by, approved_by, reason
FROM pgcredit.limit_history WHERE customer IN ('A1', 'B1', 'D1') ORDER BY changed_at, customer;

-- Every request and its decision
SELECT id, kind, customer, new_limit, status, requester, approver, auto_approved, audit_id IS NOT NULL AS applied
FROM pgcredit.approval_request ORDER BY id;

-- Bad requests: refused, nothing recorded
SET SESSION AUTHORIZATION regress_ap_alice;
SELECT pgcredit.request_limit('B1', NULL, 'no limit');
SELECT pgcredit.request_limit('B1', -5, 'negative');
SELECT pgcredit.request_limit('B1', 'NaN', 'not a number');
SELECT pgcredit.request_limit('B1', 100, '');
SELECT pgcredit.request_limit('B1', 100, NULL);
SELECT pgcredit.request_limit(NULL, 100, 'nobody');
SELECT pgcredit.request_limit('nobody', 100, 'no account');
SELECT pgcredit.request_limit('B1', 100, 'no end', valid_from => '2031-01-01');
SELECT pgcredit.request_limit('B1', 100, 'backwards', valid_from => '2031-02-01', valid_until => '2031-01-01');
SELECT pgcredit.request_limit('B1', 100, 'forever', valid_until => 'infinity');
SELECT pgcredit.approve_request(999, 'no such request');
SELECT pgcredit.approve_request(4, NULL);
RESET SESSION AUTHORIZATION;
SELECT count(*) AS requests FROM pgcredit.approval_request;

-- Changes of persons, policy and authority are audited too
UPDATE pgcredit.approval_policy SET request_ttl = '5 days';
DELETE FROM pgcredit.person_login WHERE login_role = 'regress_ap_alice2'::regrole;
-- the steps of the requests in the audit log, and the changes of the data
SELECT action, customer, CASE WHEN role_name = current_user THEN '(test)' ELSE role_name END AS role_name,
       new_value ->> 'request' AS request, reason
FROM pgcredit.audit_log
WHERE action ~ '^(request|approve|reject|expire)_' OR action ~ '^(person_login|approval_)'
ORDER BY id;

-- the policy's checks
INSERT INTO pgcredit.approval_authority (kind, approver) VALUES ('limit', NULL);
\echo :LAST_ERROR_SQLSTATE
INSERT INTO pgcredit.approval_authority (kind, approver, max_increase) VALUES ('limits', 'regress_ap_cfo', 1);
\echo :LAST_ERROR_SQLSTATE
INSERT INTO pgcredit.approval_authority (kind, approver, max_amount) VALUES ('limit', 'regress_ap_cfo', 'NaN');
\echo :LAST_ERROR_SQLSTATE
UPDATE pgcredit.approval_policy SET request_ttl = '0';
\echo :LAST_ERROR_SQLSTATE
INSERT INTO pgcredit.person_login VALUES ('regress_ap_dave', ' ');
\echo :LAST_ERROR_SQLSTATE

DELETE FROM pgcredit.person_login;
DELETE FROM pgcredit.approval_authority;
DELETE FROM pgcredit.approval_policy;
DELETE FROM pgcredit.approval_request;
DELETE FROM pgcredit.audit_log WHERE customer IN ('A1', 'B1', 'D1') OR action ~ '^(person_login|approval_)';
DELETE FROM pgcredit.exposure WHERE customer IN ('A1', 'B1', 'D1');
DELETE FROM pgcredit.account WHERE customer IN ('A1', 'B1', 'D1');
ALTER TABLE pgcredit.approval_request ALTER COLUMN id RESTART;
ALTER TABLE pgcredit.approval_authority ALTER COLUMN id RESTART;
DROP ROLE regress_ap_alice, regress_ap_alice2, regress_ap_bob, regress_ap_carol, regress_ap_dave,
          regress_ap_managers, regress_ap_cfo;

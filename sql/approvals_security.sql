-- Attacks on the approvals: a role with nothing, the application, the
-- owner of the order table, and each of pgcredit's roles try every
-- function and every table of the approvals, and the ways round the
-- four-eyes rule.  Nothing they try changes anything.
\set SHOW_CONTEXT never
SET client_min_messages = warning;
ALTER TABLE pgcredit.approval_request ALTER COLUMN id RESTART;

CREATE ROLE regress_as_nobody LOGIN;
CREATE ROLE regress_as_app LOGIN;
CREATE ROLE regress_as_owner LOGIN IN ROLE pgcredit_admin;
CREATE ROLE regress_as_reader LOGIN IN ROLE pgcredit_reader;
CREATE ROLE regress_as_ctl LOGIN IN ROLE pgcredit_controller;
CREATE ROLE regress_as_ctl2 LOGIN IN ROLE pgcredit_controller;
CREATE ROLE regress_as_admin LOGIN IN ROLE pgcredit_admin;
GRANT CREATE ON SCHEMA public TO regress_as_owner;

-- the owner of an order table (an admin, so that he may attach it)
SET ROLE regress_as_owner;
CREATE TABLE as_order (id int PRIMARY KEY, customer text NOT NULL, amount numeric NOT NULL,
                       on_hold boolean NOT NULL DEFAULT false);
SELECT mode FROM pgcredit.attach_orders('as_order', 'customer', 'amount', mode => 'hold', hold_column => 'on_hold');
GRANT SELECT, INSERT, UPDATE, DELETE ON as_order TO regress_as_app;
RESET ROLE;
SELECT customer FROM pgcredit.open_account('S1', 100, risk_tier => 'A');
INSERT INTO as_order VALUES (1, 'S1', 90), (2, 'S1', 50);
INSERT INTO pgcredit.approval_authority (kind, approver) VALUES
  ('limit', 'pgcredit_controller'), ('release', 'pgcredit_controller'),
  ('override', 'pgcredit_controller'), ('unblock', 'pgcredit_controller');
INSERT INTO pgcredit.approval_policy (limit_approval_above, release_approval_above,
                                      override_approval_above, unblock_approval_above)
VALUES (10, 10, 10, 10);
SET SESSION AUTHORIZATION regress_as_ctl;
SELECT id, status FROM pgcredit.request_limit('S1', 1000, 'a request to attack');
RESET SESSION AUTHORIZATION;
-- (the calls below draw request numbers: the requests are named by number from here on)

-- Every function of the approvals, called by each role: the number of
-- calls refused for lack of the right (42501), and the codes of the
-- others.  Each runs in a subtransaction rolled back at once.
CREATE FUNCTION pg_temp.try_all(who name) RETURNS TABLE (call text, outcome text)
LANGUAGE plpgsql AS $$
DECLARE
  c text;
BEGIN
  FOREACH c IN ARRAY ARRAY[
    'SELECT pgcredit.request_limit(''S1'', 5000, ''x'')',
    'SELECT pgcredit.request_release(1, ''x'')',
    'SELECT pgcredit.request_override(''S1'', ''x'')',
    'SELECT pgcredit.request_unblock(''S1'', ''x'')',
    'SELECT pgcredit.approve_request(1, ''x'')',
    'SELECT pgcredit.reject_request(1, ''x'')',
    'SELECT pgcredit.expire_requests()',
    'SELECT pgcredit.reevaluate_held_orders()',
    'SELECT pgcredit.reject_held_order(1, ''x'')',
    'SELECT pgcredit._person()',
    'SELECT pgcredit._request_size(''limit'', ''S1'', 1, NULL)',
    'SELECT pgcredit._covering_authority(''limit'', ''A'', 1, 1)',
    'SELECT pgcredit._may_approve(''limit'', ''A'', 1, 1)',
    'SELECT pgcredit._check_approval(''limit'', ''S1'', 0)',
    'SELECT pgcredit._apply_request(r) FROM pgcredit.approval_request r',
    'SELECT pgcredit._file_request(r) FROM pgcredit.approval_request r',
    'SELECT pgcredit._pending_request(1)',
    'SELECT pgcredit._grant_override(''S1'', ''x'')',
    'SELECT count(*) FROM pgcredit.pending_requests',
    'SELECT count(*) FROM pgcredit.approval_request',
    'UPDATE pgcredit.approval_request SET status = ''applying''',
    'INSERT INTO pgcredit.approval_request (kind, customer, new_limit, reason, requested_by, requester, expires_at) VALUES (''limit'', ''S1'', 1, ''x'', ''x'', ''x'', now())',
    'INSERT INTO pgcredit.approval_authority (kind, approver) VALUES (''limit'', ''regress_as_app'')',
    'UPDATE pgcredit.approval_policy SET limit_approval_above = NULL',
    'INSERT INTO pgcredit.person_login VALUES (''regress_as_ctl2'', ''regress_as_ctl'')',
    'DELETE FROM pgcredit.person_login']
  LOOP
    BEGIN
      EXECUTE format('SET LOCAL ROLE %I', who);
      EXECUTE c;
      outcome := 'allowed';
      RAISE SQLSTATE 'XX999';   -- undo whatever it did
    EXCEPTION WHEN SQLSTATE 'XX999' THEN
      NULL;
    WHEN OTHERS THEN
      outcome := SQLSTATE;
    END;
    call := c;
    RETURN NEXT;
  END LOOP;
END
$$;
SELECT left(n.call, 60) AS call,
       max(CASE WHEN n.who = 'regress_as_nobody' THEN n.outcome END) AS nobody,
       max(CASE WHEN n.who = 'regress_as_app' THEN n.outcome END) AS app,
       max(CASE WHEN n.who = 'regress_as_reader' THEN n.outcome END) AS reader,
       max(CASE WHEN n.who = 'regress_as_ctl2' THEN n.outcome END) AS controller,
       max(CASE WHEN n.who = 'regress_as_admin' THEN n.outcome END) AS admin
FROM (SELECT w.who, t.call, t.outcome, t.ord
      FROM unnest(ARRAY['regress_as_nobody', 'regress_as_app', 'regress_as_reader',
                        'regress_as_ctl2', 'regress_as_admin']::name[]) AS w(who),
           LATERAL pg_temp.try_all(w.who) WITH ORDINALITY AS t(call, outcome, ord)) n
GROUP BY n.call, n.ord ORDER BY n.ord;
-- nothing changed
SELECT id, status, decided_by FROM pgcredit.approval_request;
SELECT credit_limit FROM pgcredit.account WHERE customer = 'S1';
SELECT count(*) AS people FROM pgcredit.person_login;

-- The application's way round a hold: clearing the mark is checked like
-- a new order (held again); the table's owner gets no further
SET ROLE regress_as_app;
UPDATE as_order SET on_hold = false WHERE id = 2;
SELECT id, on_hold FROM as_order ORDER BY id;
RESET ROLE;
SET ROLE regress_as_owner;
UPDATE as_order SET on_hold = false WHERE id = 2;
SELECT id, on_hold FROM as_order ORDER BY id;
SELECT pgcredit.release_held_order(1, 'my own table');
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;

-- Ways round the four-eyes rule for the requester, a controller:
SET SESSION AUTHORIZATION regress_as_ctl;
-- approving his own request
SELECT pgcredit.approve_request(1, 'self');
\echo :LAST_ERROR_SQLSTATE
-- (taking another login's identity with SET SESSION AUTHORIZATION needs
-- a login that is a superuser: the test's own connection is one, so it
-- cannot show the refusal a controller's connection gets)
-- as pgcredit_controller through SET ROLE: still the same person
SET ROLE pgcredit_controller;
SELECT status FROM pgcredit.approve_request(1, 'as the group');
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
-- nor can he go round it alone
SELECT credit_limit FROM pgcredit.set_credit_limit('S1', 1000, 'myself');
\echo :LAST_ERROR_SQLSTATE
SELECT pgcredit.release_held_order(1, 'no');
\echo :LAST_ERROR_SQLSTATE
-- a request of his approved by someone else is his override to use, not
-- another controller's
SELECT id AS override_request FROM pgcredit.request_override('S1', 'big order') \gset
RESET SESSION AUTHORIZATION;
SET SESSION AUTHORIZATION regress_as_ctl2;
SELECT status FROM pgcredit.approve_request(:override_request, 'fine');
BEGIN;
SELECT pgcredit.override_block('S1', 'mine now');
ROLLBACK;
\echo :LAST_ERROR_SQLSTATE
RESET SESSION AUTHORIZATION;
-- the person mapping is the admin's; an admin who maps logins is
-- trusted (and audited)
SET ROLE regress_as_admin;
INSERT INTO pgcredit.person_login VALUES ('regress_as_ctl2', 'regress_as_ctl');
RESET ROLE;
SET SESSION AUTHORIZATION regress_as_ctl2;
SELECT pgcredit.approve_request(1, 'my second login now');
\echo :LAST_ERROR_SQLSTATE
RESET SESSION AUTHORIZATION;
SELECT action, role_name, new_value FROM pgcredit.audit_log WHERE action LIKE 'person_login%';
SELECT credit_limit FROM pgcredit.account WHERE customer = 'S1';


RESET ROLE;
SET ROLE regress_as_owner;
SELECT (pgcredit.detach('as_order')).relid;
DROP TABLE as_order;
RESET ROLE;
REVOKE CREATE ON SCHEMA public FROM regress_as_owner;
DELETE FROM pgcredit.person_login;
DELETE FROM pgcredit.approval_authority;
DELETE FROM pgcredit.approval_policy;
DELETE FROM pgcredit.approval_request;
DELETE FROM pgcredit.held_order WHERE customer = 'S1';
DELETE FROM pgcredit.override WHERE customer = 'S1';
DELETE FROM pgcredit.alert WHERE customer = 'S1';
DELETE FROM pgcredit.audit_log WHERE customer = 'S1' OR action ~ '^(person_login|approval_)';
DELETE FROM pgcredit.exposure WHERE customer = 'S1';
DELETE FROM pgcredit.account WHERE customer = 'S1';
ALTER TABLE pgcredit.held_order ALTER COLUMN id RESTART;
ALTER TABLE pgcredit.approval_request ALTER COLUMN id RESTART;
DROP ROLE regress_as_nobody, regress_as_app, regress_as_owner, regress_as_reader, regress_as_ctl,
          regress_as_ctl2, regress_as_admin;
